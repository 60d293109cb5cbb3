//! The directory cursor: descriptors of the directory the last entry went
//! into and of its ancestors, so that consecutive entries of one directory
//! (the usual tar order) cost no path lookup at all, and a new directory
//! costs one `openat` per new component. No symlink is ever followed on the
//! way down.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;

use super::path::is_ancestor_or_self;
use crate::sys::fs;

/// More open ancestors than this and the shallowest are closed (they are
/// reopened from the root if needed): a hostile layer with very deep paths
/// must not exhaust descriptors.
const MAX_LEVELS: usize = 64;

/// What to do about a missing directory on the way.
#[derive(Debug, Clone, Copy)]
pub(super) enum Missing {
    /// Create it (mode 0755, as tar implementations do for directories the
    /// archive does not list), owned by the given ids when set.
    Create(Option<(u32, u32)>),
    /// Report it: `enter` returns `None`.
    Skip,
}

/// Why a directory could not be entered.
#[derive(Debug)]
pub(super) enum WalkError {
    /// A component is a symlink: never followed, so the entry is refused.
    Symlink,
    /// A component exists but is not a directory.
    NotDir,
    Io(io::Error),
}

pub(super) struct DirCursor {
    root: OwnedFd,
    /// Relative path of the deepest open directory (`""` for the root).
    path: Vec<u8>,
    /// Open directories along `path`: (length of the prefix of `path` the
    /// descriptor stands for, descriptor), shallowest first. Invariant: the
    /// last one stands for all of `path`.
    levels: Vec<(usize, OwnedFd)>,
}

impl DirCursor {
    pub(super) fn new(root: OwnedFd) -> Self {
        Self {
            root,
            path: Vec::with_capacity(256),
            levels: Vec::with_capacity(MAX_LEVELS),
        }
    }

    pub(super) fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    fn top(&self) -> BorrowedFd<'_> {
        self.levels
            .last()
            .map_or(self.root.as_fd(), |(_, fd)| fd.as_fd())
    }

    /// Make the cleaned relative path `dir` the current directory and
    /// return its descriptor. Only ancestors of `dir` stay open, so a later
    /// change to anything else cannot leave a stale descriptor behind.
    pub(super) fn enter(
        &mut self,
        dir: &[u8],
        missing: Missing,
    ) -> Result<Option<BorrowedFd<'_>>, WalkError> {
        if self.path != dir {
            while let Some(len) = self.levels.last().map(|l| l.0) {
                if is_ancestor_or_self(&self.path[..len], dir) {
                    break;
                }
                self.levels.pop();
            }
            let base = self.levels.last().map_or(0, |l| l.0);
            self.path.truncate(base);
            let rest = dir[base..].strip_prefix(b"/").unwrap_or(&dir[base..]);
            if !rest.is_empty() {
                let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
                match fs::open_beneath(self.top(), OsStr::from_bytes(rest), flags) {
                    Ok(fd) => self.push_level(dir, fd),
                    Err(e) => match fs::errno(&e) {
                        Some(Errno::ENOENT) => match missing {
                            Missing::Skip => return Ok(None),
                            Missing::Create(owner) => self.walk_create(dir, owner)?,
                        },
                        Some(Errno::ELOOP | Errno::EXDEV) => return Err(WalkError::Symlink),
                        Some(Errno::ENOTDIR) => return Err(WalkError::NotDir),
                        _ => return Err(WalkError::Io(e)),
                    },
                }
            }
        }
        Ok(Some(self.top()))
    }

    /// Walk from the current directory down to `dir` one component at a
    /// time, creating what is missing.
    fn walk_create(&mut self, dir: &[u8], owner: Option<(u32, u32)>) -> Result<(), WalkError> {
        while self.path.len() < dir.len() {
            let start = if self.path.is_empty() {
                0
            } else {
                self.path.len() + 1
            };
            let end = dir[start..]
                .iter()
                .position(|&b| b == b'/')
                .map_or(dir.len(), |i| start + i);
            let name = OsStr::from_bytes(&dir[start..end]);
            let at = self.top();
            let fd = match open_dir(at, name) {
                Err(WalkError::Io(e)) if fs::errno(&e) == Some(Errno::ENOENT) => {
                    match fs::mkdirat(at, name, 0o755) {
                        Ok(()) => {
                            if let Some((uid, gid)) = owner {
                                fs::fchownat_nofollow(at, name, uid, gid).map_err(WalkError::Io)?;
                            }
                        }
                        Err(e) if fs::errno(&e) == Some(Errno::EEXIST) => {}
                        Err(e) => return Err(WalkError::Io(e)),
                    }
                    open_dir(at, name)?
                }
                r => r?,
            };
            self.push_level(&dir[..end], fd);
        }
        Ok(())
    }

    /// Record `fd` as the directory `dir`, a descendant of the current one.
    fn push_level(&mut self, dir: &[u8], fd: OwnedFd) {
        if self.levels.len() >= MAX_LEVELS {
            self.levels.remove(0);
        }
        self.path.clear();
        self.path.extend_from_slice(dir);
        self.levels.push((dir.len(), fd));
    }

    /// Record `fd`, just opened as the child `name` of the current
    /// directory, as the new current directory.
    pub(super) fn push_child(&mut self, name: &[u8], fd: OwnedFd) {
        if self.levels.len() >= MAX_LEVELS {
            self.levels.remove(0);
        }
        if !self.path.is_empty() {
            self.path.push(b'/');
        }
        self.path.extend_from_slice(name);
        self.levels.push((self.path.len(), fd));
    }
}

/// Open one directory component without following a symlink.
fn open_dir(at: BorrowedFd<'_>, name: &OsStr) -> Result<OwnedFd, WalkError> {
    fs::open_dir_nofollow(at, name).map_err(|e| match fs::errno(&e) {
        Some(Errno::ELOOP) => WalkError::Symlink,
        Some(Errno::ENOTDIR) => match fs::fstatat_nofollow(at, name) {
            Ok(st) if fs::is_symlink(&st) => WalkError::Symlink,
            _ => WalkError::NotDir,
        },
        _ => WalkError::Io(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enters_creates_and_refuses_symlinks() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(tmp.path().join("a/b")).expect("mkdir");
        std::os::unix::fs::symlink("/", tmp.path().join("a/up")).expect("symlink");
        std::fs::write(tmp.path().join("a/file"), b"").expect("write");
        let mut c = DirCursor::new(fs::open_dir(tmp.path()).expect("open"));

        assert!(c.enter(b"a/b", Missing::Skip).expect("enter").is_some());
        assert!(c
            .enter(b"a/missing", Missing::Skip)
            .expect("enter")
            .is_none());
        assert!(c
            .enter(b"a/new/deeper", Missing::Create(None))
            .expect("create")
            .is_some());
        assert!(tmp.path().join("a/new/deeper").is_dir());
        assert!(matches!(
            c.enter(b"a/up/etc", Missing::Create(None)),
            Err(WalkError::Symlink)
        ));
        assert!(matches!(
            c.enter(b"a/file/x", Missing::Create(None)),
            Err(WalkError::NotDir)
        ));
        assert!(c.enter(b"", Missing::Skip).expect("root").is_some());
        assert_eq!(c.path, b"");
    }

    #[test]
    fn deep_paths_keep_descriptors_bounded() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut c = DirCursor::new(fs::open_dir(tmp.path()).expect("open"));
        let mut deep = Vec::new();
        for _ in 0..200 {
            if !deep.is_empty() {
                deep.push(b'/');
            }
            deep.push(b'd');
            c.enter(&deep, Missing::Create(None)).expect("enter");
        }
        assert!(c.levels.len() <= MAX_LEVELS);
        // Shallow directories are reopened from the root.
        assert!(c.enter(b"d/d", Missing::Skip).expect("enter").is_some());
        assert!(c.enter(&deep, Missing::Skip).expect("enter").is_some());
    }
}
