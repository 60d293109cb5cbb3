//! Files owned through another user namespace's eyes. A container with its
//! own id mappings (`--userns=keep-id|auto|nomap`, `--uidmap`) must see the
//! image's root-owned files as owned by its root, which is some other id
//! outside. Without id-mapped mounts (a rootless caller cannot id-map the
//! host's file systems, and overlayfs cannot be id-mapped at all), the store
//! keeps a copy of each layer whose owners went through the mappings, made
//! once per layer and mapping, as containers/storage does.

use std::collections::HashSet;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::idmap::{to_host, IdMappings};
use crate::image::digest::Digest;
use crate::storage::mount::MountError;
use crate::storage::Store;

/// File capabilities: chown drops them, so they are put back.
const CAPABILITY_XATTR: &str = "security.capability";

/// Give every file under `root` (itself included, symlinks not followed)
/// the owner its current owner has through `maps`: an id the mappings do
/// not cover is left as it is. Set-id bits and file capabilities, which a
/// change of owner clears, are restored. Each inode is shifted once, however
/// many hard links it has.
pub fn shift_owners(root: &Path, maps: &IdMappings) -> io::Result<()> {
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        let md = std::fs::symlink_metadata(&path)?;
        if md.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
        } else if md.nlink() > 1 && !seen.insert((md.dev(), md.ino())) {
            continue;
        }
        shift_one(&path, &md, maps)?;
    }
    Ok(())
}

fn shift_one(path: &Path, md: &std::fs::Metadata, maps: &IdMappings) -> io::Result<()> {
    let uid = to_host(&maps.uids, md.uid()).unwrap_or(md.uid());
    let gid = to_host(&maps.gids, md.gid()).unwrap_or(md.gid());
    if uid == md.uid() && gid == md.gid() {
        return Ok(());
    }
    let is_link = md.file_type().is_symlink();
    let caps = if md.is_file() {
        ::xattr::get(path, CAPABILITY_XATTR).ok().flatten()
    } else {
        None
    };
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    if !is_link && md.mode() & 0o6000 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(md.mode() & 0o7777))?;
    }
    if let Some(caps) = caps {
        // Capabilities bound to another user namespace's root may be
        // refused here; the file stays usable without them.
        if let Err(e) = ::xattr::set(path, CAPABILITY_XATTR, &caps) {
            tracing::debug!("file capabilities of {}: {e}", path.display());
        }
    }
    Ok(())
}

/// `cp -a` of the contents of `src` into the existing directory `dst`:
/// owners, modes, times, hard links, extended attributes and device nodes
/// (overlay whiteouts) are kept; extents are shared where the file system
/// can.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<(), String> {
    let out = std::process::Command::new("cp")
        .arg("-a")
        .arg("--reflink=auto")
        .arg(format!("{}/.", src.display()))
        .arg(dst)
        .output()
        .map_err(|e| format!("running cp: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

impl Store {
    /// The files of layer `chain_id` owned through `maps`: a copy kept
    /// beside the layer (and removed with it), made on first use.
    pub fn shifted_layer(
        &self,
        chain_id: &Digest,
        maps: &IdMappings,
    ) -> Result<PathBuf, MountError> {
        let diff = self.layers().diff_dir(chain_id);
        let Some(layer_dir) = diff.parent() else {
            return Err(MountError::MissingLayer(chain_id.clone()));
        };
        let shifted = layer_dir.join("shifted").join(maps.key());
        if shifted.exists() {
            return Ok(shifted);
        }
        let copy_err = |message: String| MountError::Copy {
            target: shifted.clone(),
            message,
        };
        let parent = layer_dir.join("shifted");
        std::fs::create_dir_all(&parent).map_err(|e| copy_err(e.to_string()))?;
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(&parent)
            .map_err(|e| copy_err(e.to_string()))?;
        copy_tree(&diff, staging.path()).map_err(copy_err)?;
        // The copy's top directory is the layer's root directory.
        let md = std::fs::symlink_metadata(&diff).map_err(|e| copy_err(e.to_string()))?;
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(md.mode()))
            .and_then(|()| {
                std::os::unix::fs::lchown(staging.path(), Some(md.uid()), Some(md.gid()))
            })
            .and_then(|()| shift_owners(staging.path(), maps))
            .map_err(|e| copy_err(format!("shifting owners: {e}")))?;
        let staged = staging.keep();
        match std::fs::rename(&staged, &shifted) {
            Ok(()) => Ok(shifted),
            // Another container made the same copy first.
            Err(_) if shifted.exists() => {
                crate::storage::layers::remove_tree(&staged);
                Ok(shifted)
            }
            Err(e) => {
                crate::storage::layers::remove_tree(&staged);
                Err(copy_err(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idmap::IdMap;

    fn shift_by(n: u32) -> IdMappings {
        let m = vec![IdMap {
            container: 0,
            host: n,
            size: 1000,
        }];
        IdMappings {
            uids: m.clone(),
            gids: m,
        }
    }

    #[test]
    fn owners_move_once_per_inode_and_keep_set_id_bits() {
        if !nix::unistd::geteuid().is_root() {
            println!("skipped: changing owners needs root");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path();
        std::fs::create_dir(root.join("d")).expect("mkdir");
        std::fs::write(root.join("d/f"), b"x").expect("write");
        std::os::unix::fs::lchown(root.join("d/f"), Some(5), Some(6)).expect("chown");
        std::fs::hard_link(root.join("d/f"), root.join("link")).expect("link");
        std::fs::write(root.join("suid"), b"x").expect("write");
        std::fs::set_permissions(root.join("suid"), std::fs::Permissions::from_mode(0o4755))
            .expect("chmod");
        std::os::unix::fs::symlink("/etc/passwd", root.join("sym")).expect("symlink");
        std::os::unix::fs::lchown(root.join("d"), Some(2000), Some(2000)).expect("chown");

        shift_owners(root, &shift_by(100_000)).expect("shift");

        let md = |p: &str| std::fs::symlink_metadata(root.join(p)).expect("stat");
        assert_eq!((md("d/f").uid(), md("d/f").gid()), (100_005, 100_006));
        assert_eq!(md("suid").uid(), 100_000);
        assert_eq!(md("suid").mode() & 0o7777, 0o4755);
        assert_eq!(md("sym").uid(), 100_000);
        assert_eq!(md("").uid(), 100_000);
        // Outside the mapping: left alone.
        assert_eq!(md("d").uid(), 2000);
        // The symlink's target was not touched.
        assert_eq!(std::fs::metadata("/etc/passwd").expect("stat").uid(), 0);
    }
}
