//! What a container (or an image's top layer) changed against the layers
//! below it, as `diff` shows it (`A`, `C`, `D` per path) and as a new layer
//! records it ([`crate::storage::layer_tar`]).
//!
//! Two ways to find out, one per storage layout: with overlay and
//! fuse-overlayfs the upper directory holds exactly what changed (whiteouts
//! and opaque directories included) and the lower layers only decide
//! "added" or "changed" ([`overlay_changes`]); with vfs two full trees are
//! compared ([`tree_changes`]).

mod overlay;
mod root;
mod tree;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use nix::sys::stat::FileStat;

use crate::idmap::{to_container, IdMappings};

pub use overlay::{overlay_changes, Lowers};
pub use root::{FsRoot, Kind, OPAQUE_MARKER, WHITEOUT_PREFIX};
pub use tree::tree_changes;

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    Modified,
    Added,
    Deleted,
}

impl ChangeKind {
    /// The letter `diff` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Relative to the root (no leading `/`), never empty.
    pub path: PathBuf,
    pub kind: ChangeKind,
    /// A directory that hides everything below it in the lower layers
    /// (emptied and made again, say): the layer marks it opaque.
    pub opaque: bool,
    /// A deletion implied by an opaque directory above it: shown, but
    /// needing no whiteout of its own.
    pub implied: bool,
}

impl Change {
    pub(crate) fn new(path: PathBuf, kind: ChangeKind) -> Self {
        Change {
            path,
            kind,
            opaque: false,
            implied: false,
        }
    }

    /// The path as `diff` shows it, from the root.
    pub fn display_path(&self) -> String {
        format!("/{}", self.path.display())
    }
}

/// Host (or rootless namespace) ids of files back to the container's own,
/// for a container with id mappings of its own; identity otherwise.
#[derive(Debug, Clone, Default)]
pub struct Owners(Option<IdMappings>);

/// The id files owned by an id the mappings do not cover get (the kernel's
/// overflow id).
const OVERFLOW_ID: u32 = 65534;

impl Owners {
    pub fn new(maps: Option<IdMappings>) -> Self {
        Owners(maps)
    }

    /// The container's (uid, gid) of a file stat'ed here.
    pub fn of(&self, st: &FileStat) -> (u32, u32) {
        match &self.0 {
            None => (st.st_uid, st.st_gid),
            Some(m) => (
                to_container(&m.uids, st.st_uid).unwrap_or(OVERFLOW_ID),
                to_container(&m.gids, st.st_gid).unwrap_or(OVERFLOW_ID),
            ),
        }
    }
}

/// Whether two directories differ in what a layer records of them
/// (permissions, owner, modification time).
pub(crate) fn dir_differs(
    a: &FileStat,
    a_ids: (u32, u32),
    b: &FileStat,
    b_ids: (u32, u32),
) -> bool {
    a.st_mode != b.st_mode
        || a_ids != b_ids
        || a.st_mtime != b.st_mtime
        || a.st_mtime_nsec != b.st_mtime_nsec
}

/// Sort changes by path, as `diff` lists them.
pub(crate) fn sorted(mut changes: Vec<Change>) -> Vec<Change> {
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    changes
}

/// Paths skiff (or the runtime) creates in a container's root as mount
/// points for files it provides: not the container's own changes, so
/// neither shown nor committed (podman leaves out the same ones).
pub const MOUNT_POINTS: &[&str] = &[
    "dev",
    "proc",
    "sys",
    "run",
    "etc/hostname",
    "etc/hosts",
    "etc/resolv.conf",
    "etc/mtab",
    "run/.containerenv",
    "run/secrets",
    "run/skiff-init",
];

/// Whether `path` is one of [`MOUNT_POINTS`] (only these paths, not
/// what a container put below them).
pub fn is_mount_point(path: &std::path::Path) -> bool {
    MOUNT_POINTS
        .iter()
        .any(|m| path.as_os_str().as_encoded_bytes() == m.as_bytes())
}

/// A container's changes without the [`MOUNT_POINTS`] made for it.
pub fn without_mount_points(mut changes: Vec<Change>) -> Vec<Change> {
    changes.retain(|c| !is_mount_point(&c.path));
    changes
}
