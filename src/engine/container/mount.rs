//! `mount`/`umount`: a container's root file system mounted for the user
//! (and for `cp` and `export`), whether or not the container runs.
//!
//! The root file system lives at `<rundir>/rootfs` whoever mounted it (a
//! start, or `mount`). Beside it, `mount-count` holds how many holds users
//! have on it, written crash-safe under the container's lock: a stop
//! (`release_resources`) leaves the mount in place while the count is above
//! zero, and `umount` unmounts only when the count drops to zero and the
//! container does not run. Rootless, all of this happens in skiff's mount
//! namespace, so the mount is seen by every later skiff command and by
//! `skiff unshare` (as with podman).

use std::path::{Path, PathBuf};

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::ContainerRecord;
use crate::storage::mount::{is_mountpoint, RootfsPaths};

/// The file of the count, in the container's run directory.
const COUNT_FILE: &str = "mount-count";

/// How a user's hold is given back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// One hold less.
    One,
    /// Every hold dropped (`umount --force`).
    All,
}

/// A mounted container, for `mount` without arguments.
#[derive(Debug, Clone)]
pub struct MountedContainer {
    pub id: String,
    pub name: String,
    pub path: PathBuf,
}

/// The users' holds on the root file system of the container whose run
/// directory is `rundir` (0 when never mounted, or after a reboot).
pub fn mount_count(rundir: &Path) -> u32 {
    crate::storage::record::read_count(&rundir.join(COUNT_FILE))
}

fn set_count(rundir: &Path, n: u32) -> Result<(), ContainerError> {
    let path = rundir.join(COUNT_FILE);
    crate::storage::record::write_count(&path, n)
        .map_err(|e| ContainerError::Invalid(format!("{}: {e}", path.display())))
}

impl Engine {
    /// Mount the root file system of the container `input` (if it is not
    /// already) and take one hold on it; returns where it is mounted.
    pub fn mount_container(&self, input: &str) -> Result<PathBuf, ContainerError> {
        Ok(self.mount_container_record(input)?.1)
    }

    /// As [`Engine::mount_container`], with the container's record.
    pub fn mount_container_record(
        &self,
        input: &str,
    ) -> Result<(ContainerRecord, PathBuf), ContainerError> {
        let found = self.find_container(input)?;
        let store = self.containers()?;
        let _lock = store.lock(&found.id)?;
        let Some(rec) = store.get(&found.id)? else {
            return Err(crate::state::StateError::NoSuchContainer(input.to_string()).into());
        };
        let rundir = store.rundir(&rec.id);
        crate::config::paths::ensure_private_dir(&rundir)
            .map_err(|e| ContainerError::Invalid(format!("creating {}: {e}", rundir.display())))?;
        let target = rundir.join("rootfs");
        let fresh = !is_mountpoint(&target);
        if fresh {
            self.mount_rootfs_of(&rec, &rundir)?;
        }
        // Holds counted for a mount that is gone (a rootless mount namespace
        // ended) count no more.
        let n = if fresh {
            1
        } else {
            mount_count(&rundir).saturating_add(1)
        };
        if let Err(e) = set_count(&rundir, n) {
            if !rec.state.status.is_live() && fresh {
                let _ = self.store().unmount_rootfs(&target);
            }
            return Err(e);
        }
        Ok((rec, target))
    }

    /// The root file system of `rec` mounted at `<rundir>/rootfs` (as a
    /// start mounts it); returns its image and where it is.
    pub(crate) fn mount_rootfs_of(
        &self,
        rec: &ContainerRecord,
        rundir: &Path,
    ) -> Result<(crate::storage::images::ImageRecord, std::path::PathBuf), ContainerError> {
        let image = self
            .store()
            .images()
            .get(&rec.image.id)
            .map_err(crate::storage::StoreError::from)?
            .ok_or_else(|| {
                ContainerError::Invalid(format!(
                    "the image {} of container {} is gone from the store",
                    rec.image.name, rec.name
                ))
            })?;
        let layers: Vec<_> = image.layers.iter().map(|l| l.chain_id.clone()).collect();
        let userdata = self.containers()?.userdata(&rec.id);
        if let Some(maps) = &rec.config.id_mappings {
            self.open_way_to_bundle(rundir, maps)?;
        }
        let rootfs = self.store().mount_rootfs(
            &layers,
            &RootfsPaths {
                userdata: &userdata,
                target: &rundir.join("rootfs"),
                id_mappings: rec.config.id_mappings.as_ref(),
            },
        )?;
        Ok((image, rootfs))
    }

    /// Give back a hold on the root file system of `input` (all of them
    /// with [`Release::All`]); it is unmounted once nobody holds it and the
    /// container does not run. Returns the container's id.
    pub fn unmount_container(&self, input: &str, how: Release) -> Result<String, ContainerError> {
        let found = self.find_container(input)?;
        let store = self.containers()?;
        let _lock = store.lock(&found.id)?;
        let Some(rec) = store.get(&found.id)? else {
            return Err(crate::state::StateError::NoSuchContainer(input.to_string()).into());
        };
        let rundir = store.rundir(&rec.id);
        let n = match how {
            Release::One => mount_count(&rundir).saturating_sub(1),
            Release::All => 0,
        };
        set_count(&rundir, n)?;
        if n == 0 && !rec.state.status.is_live() {
            self.store().unmount_rootfs(&rundir.join("rootfs"))?;
        }
        Ok(rec.id)
    }

    /// Run `f` with the root file system of `input` mounted (held for the
    /// time of the call, so a stop meanwhile does not unmount it), then
    /// give the hold back. For `cp` and `export`.
    pub fn with_container_root<T>(
        &self,
        input: &str,
        f: impl FnOnce(&ContainerRecord, &Path) -> Result<T, ContainerError>,
    ) -> Result<T, ContainerError> {
        let (rec, root) = self.mount_container_record(input)?;
        let res = f(&rec, &root);
        let released = self.unmount_container(&rec.id, Release::One);
        let out = res?;
        released?;
        Ok(out)
    }

    /// The containers whose root file system users hold mounted.
    pub fn mounted_containers(&self) -> Result<Vec<MountedContainer>, ContainerError> {
        let store = self.containers()?;
        Ok(self
            .list_containers()?
            .into_iter()
            .filter_map(|rec| {
                let rundir = store.rundir(&rec.id);
                let path = rundir.join("rootfs");
                (mount_count(&rundir) > 0 && is_mountpoint(&path)).then_some(MountedContainer {
                    id: rec.id,
                    name: rec.name,
                    path,
                })
            })
            .collect())
    }

    /// Whether users hold the root file system of `rec` mounted (then a
    /// stop leaves it mounted).
    pub(crate) fn rootfs_held(&self, rec: &ContainerRecord) -> bool {
        self.containers()
            .map(|s| mount_count(&s.rundir(&rec.id)) > 0)
            .unwrap_or(false)
    }

    /// Drop every user's hold on `rec`'s root file system (the container
    /// is being removed); the caller unmounts.
    pub(crate) fn drop_rootfs_holds(&self, rec: &ContainerRecord) {
        if let Ok(s) = self.containers() {
            if let Err(e) = set_count(&s.rundir(&rec.id), 0) {
                tracing::warn!("{e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_files_and_zero_removes_them() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert_eq!(mount_count(tmp.path()), 0);
        set_count(tmp.path(), 2).expect("set");
        assert_eq!(mount_count(tmp.path()), 2);
        set_count(tmp.path(), 0).expect("clear");
        assert!(!tmp.path().join(COUNT_FILE).exists());
        std::fs::write(tmp.path().join(COUNT_FILE), b"garbage").expect("write");
        assert_eq!(mount_count(tmp.path()), 0);
    }
}
