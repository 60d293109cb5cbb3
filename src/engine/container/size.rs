//! `ps --size`: how much a container wrote (its own layer) and how big its
//! root filesystem is (image plus that layer), as podman reports them.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::ContainerRecord;
use crate::storage::driver::Driver;

/// Sizes in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContainerSize {
    /// What the container added or changed.
    pub rw: u64,
    /// The image's content plus `rw`.
    pub root_fs: u64,
}

impl Engine {
    pub fn container_size(&self, rec: &ContainerRecord) -> Result<ContainerSize, ContainerError> {
        let image_size = self
            .store()
            .images()
            .get(&rec.image.id)
            .map_err(crate::storage::StoreError::from)?
            .map(|i| i.size)
            .unwrap_or(0);
        let userdata = self.containers()?.userdata(&rec.id);
        let rw = match self.store().driver() {
            Driver::Overlay | Driver::FuseOverlay => tree_size(&userdata.join("upper")),
            // A vfs container holds a whole copy of the image: what it
            // added is the copy less the image's top layer (which, with
            // vfs, holds the whole image too).
            Driver::Vfs => {
                let copy = tree_size(&userdata.join("rootfs"));
                let base = rec
                    .image
                    .top_layer
                    .as_ref()
                    .map(|l| tree_size(&self.store().layers().diff_dir(l)))
                    .unwrap_or(0);
                copy.saturating_sub(base)
            }
        };
        Ok(ContainerSize {
            rw,
            root_fs: image_size + rw,
        })
    }
}

/// The apparent size of the files under `root` (each hard-linked inode
/// once), not following symbolic links; 0 when `root` is absent.
pub fn tree_size(root: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.nlink() <= 1 || seen.insert((meta.dev(), meta.ino())) {
                total += meta.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_size_counts_hard_links_once_and_skips_symlink_targets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).expect("mkdir");
        std::fs::write(d.join("a"), vec![0u8; 1000]).expect("write");
        std::fs::write(d.join("sub/b"), vec![0u8; 24]).expect("write");
        std::fs::hard_link(d.join("a"), d.join("sub/a2")).expect("link");
        std::os::unix::fs::symlink("/etc/passwd", d.join("l")).expect("symlink");
        let link_len = "/etc/passwd".len() as u64;
        assert_eq!(tree_size(d), 1000 + 24 + link_len);
        assert_eq!(tree_size(&d.join("absent")), 0);
    }
}
