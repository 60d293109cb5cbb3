//! A /dev/shm that other containers can share: a tmpfs mounted on `shm`
//! in the container's run directory (in skiff's mount namespace, so
//! rootless too) and bound into the container. A pod's infra container
//! has one, and the containers that join its IPC namespace bind the same
//! one: a mount from another container's own mount namespace cannot be
//! bound. It is unmounted with the container's other resources.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};

/// The mount point, in the run directory.
pub const SHM: &str = "shm";

/// podman's default /dev/shm size.
const SIZE: &str = "size=65536k";

/// Whether `dir` is a mount point (its device differs from its parent's).
fn is_mount_point(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(d), Some(Ok(p))) = (std::fs::metadata(dir), dir.parent().map(std::fs::metadata)) else {
        return false;
    };
    d.dev() != p.dev()
}

/// Mount the shareable /dev/shm of the container whose run directory is
/// `rundir` (once); returns its path.
pub fn mount(rundir: &Path) -> Result<PathBuf, String> {
    let dir = rundir.join(SHM);
    if is_mount_point(&dir) {
        return Ok(dir);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    nix::mount::mount(
        Some("shm"),
        &dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some(format!("mode=1777,{SIZE}").as_str()),
    )
    .map_err(|e| format!("mounting a tmpfs on {}: {e}", dir.display()))?;
    Ok(dir)
}

/// The shareable /dev/shm of the container whose run directory is
/// `rundir`, if it has one.
pub fn shared(rundir: &Path) -> Option<PathBuf> {
    let dir = rundir.join(SHM);
    is_mount_point(&dir).then_some(dir)
}

/// Unmount it, if mounted.
pub fn unmount(rundir: &Path) {
    let dir = rundir.join(SHM);
    if is_mount_point(&dir) {
        if let Err(e) = nix::mount::umount2(&dir, MntFlags::MNT_DETACH) {
            tracing::warn!("unmounting {}: {e}", dir.display());
        }
    }
}
