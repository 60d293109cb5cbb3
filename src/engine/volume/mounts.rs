//! What a container's start and stop do with its volumes: mount what the
//! volume's options ask for on its directory (held while any container or
//! `volume mount` uses it), and fill a new, empty volume with the image's
//! files at the mount's destination (copy-up).

use std::ffi::OsStr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::{ContainerRecord, MountSpec};
use crate::state::volume::{VolumeRecord, VolumeStore};
use crate::storage::mount::is_mountpoint;

/// The holder `volume mount` records.
const USER_HOLDER: &str = "volume-mount";

fn invalid(m: String) -> ContainerError {
    ContainerError::Invalid(m)
}

impl Engine {
    /// Before the runtime runs `rec` with its root filesystem at `rootfs`:
    /// each volume mounted on its directory if it has mount options, and,
    /// new and empty, given to `owner` (the container's user, as the host
    /// sees it) and filled from the image.
    pub fn prepare_volumes(
        &self,
        rec: &ContainerRecord,
        rootfs: &Path,
        owner: (u32, u32),
    ) -> Result<(), ContainerError> {
        let store = self.volumes()?;
        let mut held = Vec::new();
        let result = (|| {
            for m in &rec.config.mounts {
                let MountSpec::Volume {
                    name,
                    destination,
                    no_copy,
                    ..
                } = m
                else {
                    continue;
                };
                let _lock = store.lock(name)?;
                let mut vol = store.get(name)?.ok_or_else(|| {
                    invalid(format!(
                        "volume {name} of container {} is gone: recreate the container",
                        rec.name
                    ))
                })?;
                if vol.mount.is_some() {
                    self.mount_volume_dir(&store, &vol)?;
                    store.add_holder(name, &rec.id)?;
                    held.push(name.clone());
                }
                if let Some(maps) = &rec.config.id_mappings {
                    self.open_way_to(&store.data_dir(name), "volume", maps)?;
                }
                if vol.needs_copy_up && !no_copy {
                    let data = store.data_dir(name);
                    let owner = match (vol.uid, vol.gid) {
                        (None, None) => Some(owner),
                        // `o=uid=,gid=` set the owner at create.
                        _ => None,
                    };
                    copy_up(rootfs, destination, &data, owner)?;
                    vol.needs_copy_up = false;
                    store.put(&vol)?;
                }
            }
            Ok(())
        })();
        if result.is_err() {
            for name in held {
                self.release_volume(&store, &name, &rec.id);
            }
        }
        result
    }

    /// After `rec` stopped: its holds on its volumes' mounts dropped, and a
    /// mount nobody holds any more unmounted.
    pub fn release_volumes(&self, rec: &ContainerRecord) {
        let Ok(store) = self.volumes() else { return };
        for m in &rec.config.mounts {
            if let Some(name) = m.volume() {
                self.release_volume(&store, name, &rec.id);
            }
        }
    }

    fn release_volume(&self, store: &VolumeStore, name: &str, holder: &str) {
        let Ok(_lock) = store.lock(name) else { return };
        if store.remove_holder(name, holder) {
            return;
        }
        if let Ok(Some(vol)) = store.get(name) {
            if let Err(e) = self.unmount_volume_dir(store, &vol) {
                tracing::warn!("{e}");
            }
        }
    }

    /// `volume mount`: the volume's directory, with its file system
    /// mounted on it if it has one; held until `volume unmount`.
    pub fn mount_volume(&self, name: &str) -> Result<PathBuf, ContainerError> {
        let vol = self.find_volume(name)?;
        let store = self.volumes()?;
        let _lock = store.lock(&vol.name)?;
        if vol.mount.is_some() {
            self.mount_volume_dir(&store, &vol)?;
        }
        store.add_holder(&vol.name, USER_HOLDER)?;
        Ok(store.data_dir(&vol.name))
    }

    /// `volume unmount`: drop `volume mount`'s hold.
    pub fn unmount_volume(&self, name: &str) -> Result<VolumeRecord, ContainerError> {
        let vol = self.find_volume(name)?;
        let store = self.volumes()?;
        self.release_volume(&store, &vol.name, USER_HOLDER);
        Ok(vol)
    }

    /// How many holders the volume's mount has (inspect's MountCount).
    pub fn volume_mount_count(&self, name: &str) -> usize {
        self.volumes().map(|s| s.holders(name).len()).unwrap_or(0)
    }

    fn mount_volume_dir(
        &self,
        store: &VolumeStore,
        vol: &VolumeRecord,
    ) -> Result<(), ContainerError> {
        let Some(m) = &vol.mount else { return Ok(()) };
        let data = store.data_dir(&vol.name);
        if is_mountpoint(&data) {
            return Ok(());
        }
        let options: Vec<String> = m
            .options
            .split(',')
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect();
        let parsed = crate::runtime::builtin::rootfs::parse_options(&options)
            .map_err(|e| invalid(format!("volume {}: {e}", vol.name)))?;
        let mut flags = parsed.flags;
        if parsed.bind {
            flags |= nix::mount::MsFlags::MS_BIND;
        }
        let data_opts = parsed.data.join(",");
        let typ = (!parsed.bind).then_some(m.typ.as_str());
        nix::mount::mount(
            Some(m.device.as_str()),
            &data,
            typ,
            flags,
            (!data_opts.is_empty()).then_some(data_opts.as_str()),
        )
        .map_err(|e| {
            invalid(format!(
                "mounting {} ({}) on volume {}: {e}",
                m.device, m.typ, vol.name
            ))
        })?;
        // A bind mount takes flags like ro only on a remount.
        let rest = parsed.flags - nix::mount::MsFlags::MS_REC;
        if parsed.bind && !rest.is_empty() {
            let _ = nix::mount::mount(
                None::<&str>,
                &data,
                None::<&str>,
                rest | nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REMOUNT,
                None::<&str>,
            );
        }
        Ok(())
    }

    pub(super) fn unmount_volume_dir(
        &self,
        store: &VolumeStore,
        vol: &VolumeRecord,
    ) -> Result<(), ContainerError> {
        let data = store.data_dir(&vol.name);
        if vol.mount.is_none() || !is_mountpoint(&data) {
            return Ok(());
        }
        match nix::mount::umount2(&data, nix::mount::MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => Ok(()),
            Err(e) => Err(invalid(format!("unmounting volume {}: {e}", vol.name))),
        }
    }
}

/// Fill the empty volume directory `data` with what the image has at
/// `destination` below `rootfs` (owners, modes and times kept; the
/// directory itself takes the owner and mode of the image's). The path is
/// resolved inside `rootfs` without following symlinks, so an image cannot
/// point the copy at the host. A destination the image does not have, or
/// has as a symlink, leaves the volume empty, owned by `owner`.
fn copy_up(
    rootfs: &Path,
    destination: &str,
    data: &Path,
    owner: Option<(u32, u32)>,
) -> Result<(), ContainerError> {
    let empty = std::fs::read_dir(data)
        .map_err(|e| invalid(format!("reading {}: {e}", data.display())))?
        .next()
        .is_none();
    if !empty {
        return Ok(());
    }
    let root = crate::sys::fs::open_dir(rootfs)
        .map_err(|e| invalid(format!("opening {}: {e}", rootfs.display())))?;
    let rel = destination.trim_start_matches('/');
    let source = if rel.is_empty() {
        None
    } else {
        crate::sys::fs::open_beneath(
            std::os::fd::AsFd::as_fd(&root),
            OsStr::new(rel),
            OFlag::O_PATH | OFlag::O_DIRECTORY,
        )
        .ok()
    };
    match source {
        Some(fd) => {
            // cp runs in another process: it reaches the directory through
            // this one's descriptor table.
            let path = PathBuf::from(format!(
                "/proc/{}/fd/{}",
                std::process::id(),
                fd.as_raw_fd()
            ));
            crate::storage::shift::copy_tree(&path, data).map_err(|e| {
                invalid(format!(
                    "copying the image's {destination} into the volume: {e}"
                ))
            })?;
        }
        None => {
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(data, Some(uid), Some(gid))
                    .map_err(|e| invalid(format!("chown {}: {e}", data.display())))?;
            }
        }
    }
    Ok(())
}
