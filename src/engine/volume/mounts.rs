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
    /// each volume mounted on its directory if it has mount options. On
    /// first use, an empty volume is given to `owner` (the container's
    /// user, as the host sees it) or the owner of the image's directory
    /// there; the first use where the image has files there copies them
    /// in, if the volume is still empty (podman's NeedsChown and
    /// NeedsCopyUp).
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
                let data = store.data_dir(name);
                let before = (vol.needs_chown, vol.needs_copy_up);
                let image_dir = image_dir(rootfs, destination);
                let has_files = image_dir.as_ref().is_some_and(|d| !d.empty);
                // `o=uid=,gid=` chose the owner at create; a bound host
                // directory is its owner's, neither chowned nor filled.
                let bound = vol.mount.as_ref().is_some_and(|m| m.is_bind());
                let ours = vol.uid.is_none() && vol.gid.is_none() && !bound;
                if vol.needs_chown && ours && is_empty(&data)? {
                    give(&data, owner, image_dir.as_ref())?;
                }
                // Both are settled by the first use where the image has
                // files there (podman's rule); until then each new user
                // gets the empty volume.
                if has_files {
                    vol.needs_chown = false;
                    if vol.needs_copy_up && !no_copy && !bound {
                        vol.needs_copy_up = false;
                        if let Some(src) = image_dir.as_ref() {
                            if is_empty(&data)? {
                                copy_up(src, destination, &data)?;
                            }
                        }
                    }
                }
                if (vol.needs_chown, vol.needs_copy_up) != before {
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
            let remounted = nix::mount::mount(
                None::<&str>,
                &data,
                None::<&str>,
                rest | nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REMOUNT,
                None::<&str>,
            );
            if let Err(e) = remounted {
                let _ = crate::storage::mount::detach(&data);
                return Err(invalid(format!(
                    "applying the options {} to volume {}: {e}",
                    m.options, vol.name
                )));
            }
        }
        Ok(())
    }

    pub(super) fn unmount_volume_dir(
        &self,
        store: &VolumeStore,
        vol: &VolumeRecord,
    ) -> Result<(), ContainerError> {
        if vol.mount.is_none() {
            return Ok(());
        }
        crate::storage::mount::detach(&store.data_dir(&vol.name))
            .map_err(|e| invalid(format!("unmounting volume {}: {e}", vol.name)))
    }
}

/// What the image has at a volume's destination: a directory, reached
/// without following symlinks (so an image cannot point the volume at the
/// host), held open.
struct ImageDir {
    fd: std::os::fd::OwnedFd,
    empty: bool,
}

impl ImageDir {
    /// A path another process (cp) can use: this one's descriptor.
    fn path(&self) -> PathBuf {
        PathBuf::from(format!(
            "/proc/{}/fd/{}",
            std::process::id(),
            self.fd.as_raw_fd()
        ))
    }
}

/// The directory at `destination` below `rootfs`; none when the image has
/// nothing there, or a symlink or a file.
fn image_dir(rootfs: &Path, destination: &str) -> Option<ImageDir> {
    let rel = destination.trim_start_matches('/');
    if rel.is_empty() {
        return None;
    }
    let root = crate::sys::fs::open_dir(rootfs).ok()?;
    let fd = crate::sys::fs::open_beneath(
        std::os::fd::AsFd::as_fd(&root),
        OsStr::new(rel),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY,
    )
    .ok()?;
    let dup = fd.try_clone().ok()?;
    let empty = crate::sys::fs::read_dir(dup)
        .map(|entries| entries.is_empty())
        .unwrap_or(true);
    Some(ImageDir { fd, empty })
}

fn is_empty(dir: &Path) -> Result<bool, ContainerError> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| invalid(format!("reading {}: {e}", dir.display())))?
        .next()
        .is_none())
}

/// A new volume's directory goes to the container's user (`owner`, as the
/// host sees it), or, where the image has a directory at that place, takes
/// that directory's owner and mode.
fn give(data: &Path, owner: (u32, u32), image: Option<&ImageDir>) -> Result<(), ContainerError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let fail = |e: std::io::Error| invalid(format!("preparing the volume {}: {e}", data.display()));
    let (uid, gid, mode) = match image {
        Some(dir) => {
            let md = std::fs::metadata(dir.path()).map_err(fail)?;
            (md.uid(), md.gid(), Some(md.mode() & 0o7777))
        }
        None => (owner.0, owner.1, None),
    };
    std::os::unix::fs::chown(data, Some(uid), Some(gid)).map_err(fail)?;
    if let Some(mode) = mode {
        std::fs::set_permissions(data, std::fs::Permissions::from_mode(mode)).map_err(fail)?;
    }
    Ok(())
}

/// Fill the empty volume directory `data` with the image's files at
/// `destination` (owners, modes, times, links kept).
fn copy_up(src: &ImageDir, destination: &str, data: &Path) -> Result<(), ContainerError> {
    crate::storage::shift::copy_tree(&src.path(), data).map_err(|e| {
        invalid(format!(
            "copying the image's {destination} into the volume: {e}"
        ))
    })
}

/// Where a container's `subpath=` mounts are staged: `<rundir>/subpaths/N`.
const SUBPATHS: &str = "subpaths";

impl Engine {
    /// The `subpath=` parts of `rec`'s volume and image mounts, each bound
    /// onto a staging point in `rundir` from a descriptor opened below the
    /// volume (or image view) without following symlinks: the runtime
    /// binds the staging point, so nothing a container writes into a
    /// shared volume meanwhile (a symlink swapped in) can redirect the
    /// mount. Returns the staging point of each mount (by position) that
    /// has one.
    pub(crate) fn bind_subpaths(
        &self,
        rec: &ContainerRecord,
        rundir: &Path,
    ) -> Result<Vec<Option<PathBuf>>, ContainerError> {
        release_subpaths(rundir);
        let mut out = Vec::with_capacity(rec.config.mounts.len());
        let result = (|| {
            for (i, m) in rec.config.mounts.iter().enumerate() {
                let Some(sub) = m.subpath() else {
                    out.push(None);
                    continue;
                };
                let base = match m {
                    MountSpec::Volume { name, .. } => self.volumes()?.data_dir(name),
                    MountSpec::Image { image, .. } => self
                        .image_mount_source(rundir, i, m)
                        .ok_or_else(|| invalid(format!("image mount {image}: not an image id")))?,
                    _ => unreachable!("only volumes and images have a subpath"),
                };
                out.push(Some(bind_subpath(&base, sub, &rundir.join(SUBPATHS), i)?));
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(out),
            Err(e) => {
                release_subpaths(rundir);
                Err(e)
            }
        }
    }
}

/// Bind `sub` of `base` onto `<staging>/<n>`.
fn bind_subpath(
    base: &Path,
    sub: &str,
    staging: &Path,
    n: usize,
) -> Result<PathBuf, ContainerError> {
    let fail = |what: String| invalid(format!("subpath {sub:?} of {}: {what}", base.display()));
    let root = crate::sys::fs::open_dir(base).map_err(|e| fail(e.to_string()))?;
    let fd = crate::sys::fs::open_beneath(
        std::os::fd::AsFd::as_fd(&root),
        OsStr::new(sub),
        OFlag::O_PATH,
    )
    .map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) => fail("no such file or directory".into()),
        Some(libc::ELOOP) | Some(libc::EXDEV) => fail("it goes through a symlink".into()),
        _ => fail(e.to_string()),
    })?;
    let source = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let is_dir = std::fs::metadata(&source)
        .map(|m| m.is_dir())
        .map_err(|e| fail(e.to_string()))?;
    std::fs::create_dir_all(staging).map_err(|e| fail(e.to_string()))?;
    let target = staging.join(n.to_string());
    if is_dir {
        std::fs::create_dir(&target)
    } else {
        std::fs::File::create(&target).map(drop)
    }
    .map_err(|e| fail(format!("{}: {e}", target.display())))?;
    nix::mount::mount(
        Some(&source),
        &target,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| fail(format!("binding it: {e}")))?;
    Ok(target)
}

/// Undo [`Engine::bind_subpaths`] (after a stop, or a failed start).
pub(crate) fn release_subpaths(rundir: &Path) {
    let staging = rundir.join(SUBPATHS);
    let Ok(entries) = std::fs::read_dir(&staging) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if let Err(err) = crate::storage::mount::detach(&p) {
            tracing::warn!("unmounting {}: {err}", p.display());
        }
        let _ = std::fs::remove_dir(&p).or_else(|_| std::fs::remove_file(&p));
    }
    let _ = std::fs::remove_dir(&staging);
}
