//! Changes between two full trees (the vfs layout: a container's copy of
//! its image against the image's top layer, or one layer against its
//! parent, each a full copy).

use std::io;
use std::path::Path;

use nix::sys::stat::FileStat;

use super::root::{FsRoot, Kind};
use super::{dir_differs, sorted, Change, ChangeKind, Owners};

/// Written by the store into a container's vfs copy; not a change.
const COPY_MARKER: &str = ".skiff-complete";

/// The changes that turn `old` (none: an empty tree) into `new`.
/// `new_owners` maps `new`'s owners to the container's ids (`old` holds
/// them as they are).
pub fn tree_changes(
    new: &FsRoot,
    old: Option<&FsRoot>,
    new_owners: &Owners,
) -> io::Result<Vec<Change>> {
    let mut out = Vec::new();
    walk(new, old, new_owners, Path::new(""), old.is_some(), &mut out)?;
    Ok(sorted(out))
}

fn walk(
    new: &FsRoot,
    old: Option<&FsRoot>,
    owners: &Owners,
    rel: &Path,
    old_has_dir: bool,
    out: &mut Vec<Change>,
) -> io::Result<()> {
    let old = old.filter(|_| old_has_dir);
    let new_names = new.list(rel)?;
    let old_names = match old {
        Some(o) => o.list(rel)?,
        None => Vec::new(),
    };
    for name in &new_names {
        if rel.as_os_str().is_empty() && name == COPY_MARKER {
            continue;
        }
        let child = rel.join(name);
        let Some(st) = new.lstat(&child)? else {
            continue;
        };
        let before = match old {
            Some(o) => o.lstat(&child)?,
            None => None,
        };
        let kind = Kind::of(&st);
        let (change, descend_with_old) = match &before {
            None => (Some(ChangeKind::Added), false),
            Some(b) if Kind::of(b) != kind => (Some(ChangeKind::Modified), false),
            Some(b) if kind == Kind::Dir => {
                let differs = dir_differs(&st, owners.of(&st), b, (b.st_uid, b.st_gid));
                (differs.then_some(ChangeKind::Modified), true)
            }
            Some(b) => {
                let differs = file_differs(&st, owners.of(&st), b)
                    || (kind == Kind::Symlink
                        && old
                            .is_some_and(|o| o.readlink(&child).ok() != new.readlink(&child).ok()));
                (differs.then_some(ChangeKind::Modified), false)
            }
        };
        if let Some(k) = change {
            out.push(Change::new(child.clone(), k));
        }
        if kind == Kind::Dir {
            walk(new, old, owners, &child, descend_with_old, out)?;
        }
    }
    for name in old_names {
        if rel.as_os_str().is_empty() && name == COPY_MARKER {
            continue;
        }
        if new_names.binary_search(&name).is_err() {
            out.push(Change::new(rel.join(name), ChangeKind::Deleted));
        }
    }
    Ok(())
}

/// Whether a non-directory differs in what a layer records of it.
fn file_differs(a: &FileStat, a_ids: (u32, u32), b: &FileStat) -> bool {
    a.st_mode != b.st_mode
        || a_ids != (b.st_uid, b.st_gid)
        || a.st_size != b.st_size
        || a.st_mtime != b.st_mtime
        || a.st_mtime_nsec != b.st_mtime_nsec
        || a.st_rdev != b.st_rdev
}
