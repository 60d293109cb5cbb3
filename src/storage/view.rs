//! Read-only views of an image's files (`skiff image mount`): an overlay of
//! its layers with no upper directory, a read-only bind of the one layer
//! there is (overlayfs wants two lower directories without an upper one),
//! or with vfs a read-only bind of the top layer, which holds everything.

use std::path::Path;

use nix::mount::{MntFlags, MsFlags};

use crate::image::digest::Digest;
use crate::storage::driver::Driver;
use crate::storage::mount::{is_mountpoint, MountError};
use crate::storage::Store;

impl Store {
    /// Mount the read-only view of `layers` (chain ids, base first) on
    /// `target`, an existing directory. Already mounted is fine.
    pub fn mount_view(&self, layers: &[Digest], target: &Path) -> Result<(), MountError> {
        for l in layers {
            if !self.layers().contains(l) {
                return Err(MountError::MissingLayer(l.clone()));
            }
        }
        if is_mountpoint(target) {
            return Ok(());
        }
        let mount_err = |source| MountError::Mount {
            target: target.to_owned(),
            source,
        };
        let single = match (self.driver(), layers) {
            (_, []) => None,
            (Driver::Vfs, [.., top]) | (_, [top]) => Some(self.layers().diff_dir(top)),
            _ => None,
        };
        if let Some(dir) = single {
            return bind_read_only(&dir, target);
        }
        let lower: Vec<String> = layers
            .iter()
            .rev()
            .map(|l| self.layers().diff_dir(l).display().to_string())
            .collect();
        if lower.is_empty() {
            return Err(MountError::Prepare {
                path: target.to_owned(),
                source: std::io::Error::other("the image has no layers"),
            });
        }
        let mut opts = format!("lowerdir={}", lower.join(":"));
        if self.driver() == Driver::FuseOverlay {
            return crate::storage::mount::fuse_overlay(&opts, target);
        }
        if crate::sys::is_in_user_namespace() {
            opts.push_str(",userxattr");
        }
        nix::mount::mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::MS_RDONLY,
            Some(opts.as_str()),
        )
        .map_err(mount_err)
    }

    /// Undo [`Store::mount_view`]. Not mounted is not an error.
    pub fn unmount_view(&self, target: &Path) -> Result<(), MountError> {
        self.unmount_rootfs(target)
    }
}

/// Bind `src` on `target` and make the bind read-only (a second call: the
/// kernel ignores `MS_RDONLY` on the first).
fn bind_read_only(src: &Path, target: &Path) -> Result<(), MountError> {
    let err = |source| MountError::Mount {
        target: target.to_owned(),
        source,
    };
    nix::mount::mount(
        Some(src),
        target,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(err)?;
    let ro = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    if let Err(e) = nix::mount::mount(None::<&str>, target, None::<&str>, ro, None::<&str>) {
        let _ = nix::mount::umount2(target, MntFlags::MNT_DETACH);
        return Err(err(e));
    }
    Ok(())
}
