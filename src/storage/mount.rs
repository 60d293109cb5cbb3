//! A container's root filesystem: an overlay of its image's layers under a
//! private upper layer (overlay driver), or a private copy (vfs driver).

use std::path::{Path, PathBuf};

use crate::idmap::IdMappings;
use crate::image::digest::Digest;
use crate::storage::driver::Driver;
use crate::storage::shift::{copy_tree, shift_owners};
use crate::storage::Store;

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("preparing {path}: {source}")]
    Prepare {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("layer {0} of the image is missing from the store: pull the image again")]
    MissingLayer(Digest),
    #[error("mounting the container's root filesystem at {target}: {source}")]
    Mount {
        target: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("copying the image's files into {target}: {message}")]
    Copy { target: PathBuf, message: String },
    #[error("mounting the container's root filesystem with fuse-overlayfs: {0}")]
    Fuse(String),
    #[error("unmounting {target}: {source}")]
    Unmount {
        target: PathBuf,
        #[source]
        source: nix::Error,
    },
}

/// What stacks the layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stacker {
    /// overlayfs, mounted by the kernel.
    Kernel,
    /// The fuse-overlayfs program.
    Fuse,
}

/// Where a container's layers live.
pub struct RootfsPaths<'a> {
    /// Persistent: the upper and work directories (overlay) or the copy (vfs).
    pub userdata: &'a Path,
    /// Where the root filesystem is mounted (volatile).
    pub target: &'a Path,
    /// The container's own id mappings: its files are owned through them.
    pub id_mappings: Option<&'a IdMappings>,
}

fn prep(path: &Path) -> Result<(), MountError> {
    std::fs::create_dir_all(path).map_err(|source| MountError::Prepare {
        path: path.to_owned(),
        source,
    })
}

impl Store {
    /// Mount (overlay) or prepare (vfs) the root filesystem of a container
    /// whose image has `layers` (chain ids, base first). Returns the path to
    /// use as the bundle's root.
    pub fn mount_rootfs(
        &self,
        layers: &[Digest],
        paths: &RootfsPaths<'_>,
    ) -> Result<PathBuf, MountError> {
        for l in layers {
            if !self.layers().contains(l) {
                return Err(MountError::MissingLayer(l.clone()));
            }
        }
        match self.driver() {
            Driver::Overlay => self.mount_overlay(layers, paths, Stacker::Kernel),
            Driver::FuseOverlay => self.mount_overlay(layers, paths, Stacker::Fuse),
            Driver::Vfs => {
                // The copy is mounted where an overlay would be, so the
                // bundle holds the root file system whatever the driver
                // (a container with its own user namespace can reach the
                // bundle, not the store).
                let copy = self.prepare_copy(layers, paths)?;
                prep(paths.target)?;
                if !is_mountpoint(paths.target) {
                    nix::mount::mount(
                        Some(&copy),
                        paths.target,
                        None::<&str>,
                        nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC,
                        None::<&str>,
                    )
                    .map_err(|source| MountError::Mount {
                        target: paths.target.to_owned(),
                        source,
                    })?;
                }
                Ok(paths.target.to_owned())
            }
        }
    }

    fn mount_overlay(
        &self,
        layers: &[Digest],
        paths: &RootfsPaths<'_>,
        stacker: Stacker,
    ) -> Result<PathBuf, MountError> {
        let upper = paths.userdata.join("upper");
        let work = paths.userdata.join("work");
        let fresh = !upper.exists();
        for d in [&upper, &work, &paths.target.to_path_buf()] {
            prep(d)?;
        }
        if is_mountpoint(paths.target) {
            return Ok(paths.target.to_owned());
        }
        // The upper directory is the root directory of the merged tree: it
        // belongs to the container's root.
        if let (true, Some((uid, gid))) = (fresh, paths.id_mappings.and_then(|m| m.root())) {
            std::os::unix::fs::lchown(&upper, Some(uid), Some(gid)).map_err(|source| {
                MountError::Prepare {
                    path: upper.clone(),
                    source,
                }
            })?;
        }
        let mut lower = Vec::with_capacity(layers.len());
        for l in layers.iter().rev() {
            let dir = match paths.id_mappings {
                Some(maps) => self.shifted_layer(l, maps)?,
                None => self.layers().diff_dir(l),
            };
            lower.push(dir.display().to_string());
        }
        let mut opts = format!(
            "lowerdir={},upperdir={},workdir={}",
            lower.join(":"),
            upper.display(),
            work.display()
        );
        if stacker == Stacker::Fuse {
            fuse_overlay(&opts, paths.target)?;
            return Ok(paths.target.to_owned());
        }
        if crate::sys::is_in_user_namespace() {
            opts.push_str(",userxattr");
        }
        nix::mount::mount(
            Some("overlay"),
            paths.target,
            Some("overlay"),
            nix::mount::MsFlags::empty(),
            Some(opts.as_str()),
        )
        .map_err(|source| MountError::Mount {
            target: paths.target.to_owned(),
            source,
        })?;
        Ok(paths.target.to_owned())
    }

    /// vfs: the top layer already holds the whole image; the container gets
    /// its own copy of it, made once.
    fn prepare_copy(
        &self,
        layers: &[Digest],
        paths: &RootfsPaths<'_>,
    ) -> Result<PathBuf, MountError> {
        let copy = paths.userdata.join("rootfs");
        if copy.join(".skiff-complete").exists() || copy.exists() && layers.is_empty() {
            return Ok(copy);
        }
        let staging = paths.userdata.join("rootfs.staging");
        crate::storage::layers::remove_tree(&staging);
        prep(&staging)?;
        if let Some(top) = layers.last() {
            let src = self.layers().diff_dir(top);
            let copied = copy_tree(&src, &staging).and_then(|()| match paths.id_mappings {
                Some(maps) => {
                    shift_owners(&staging, maps).map_err(|e| format!("shifting owners: {e}"))
                }
                None => Ok(()),
            });
            if let Err(message) = copied {
                crate::storage::layers::remove_tree(&staging);
                return Err(MountError::Copy {
                    target: copy.clone(),
                    message,
                });
            }
        }
        crate::storage::layers::remove_tree(&copy);
        std::fs::rename(&staging, &copy).map_err(|source| MountError::Prepare {
            path: copy.clone(),
            source,
        })?;
        std::fs::write(copy.join(".skiff-complete"), b"").map_err(|source| {
            MountError::Prepare {
                path: copy.clone(),
                source,
            }
        })?;
        Ok(copy)
    }

    /// Undo [`Store::mount_rootfs`]'s mount. Not mounted is not an error.
    pub fn unmount_rootfs(&self, target: &Path) -> Result<(), MountError> {
        detach(target).map_err(|source| MountError::Unmount {
            target: target.to_owned(),
            source,
        })
    }
}

/// fuse-overlayfs with the overlay options `opts` on `target`; it returns
/// once the mount is in place (the FUSE server stays behind, and ends when
/// the mount is unmounted).
pub(crate) fn fuse_overlay(opts: &str, target: &Path) -> Result<(), MountError> {
    if let Some(why) = crate::storage::driver::fuse_overlayfs_unusable() {
        return Err(MountError::Fuse(why));
    }
    let program = crate::runtime::select::find_executable("fuse-overlayfs")
        .ok_or_else(|| MountError::Fuse("fuse-overlayfs is not installed".into()))?;
    let out = std::process::Command::new(program)
        .arg("-o")
        .arg(opts)
        .arg(target)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| MountError::Fuse(e.to_string()))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        let line = msg
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("it failed");
        return Err(MountError::Fuse(line.trim().to_string()));
    }
    Ok(())
}

/// Lazily unmount whatever is mounted at `target`; not mounted (or gone)
/// is not an error.
pub fn detach(target: &Path) -> nix::Result<()> {
    if !is_mountpoint(target) {
        return Ok(());
    }
    match nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether `path` is a mount point (its device differs from its parent's, or
/// /proc/self/mountinfo lists it).
pub fn is_mountpoint(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.display().to_string();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mp| unescape(mp) == want)
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..(i + 4).min(s.len())], 8) {
                out.push(v as char);
                i += 4;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert!(is_mountpoint(Path::new("/")));
        assert!(!is_mountpoint(Path::new("/definitely/not/mounted")));
    }
}
