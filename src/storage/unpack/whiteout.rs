//! OCI whiteouts (`.wh.NAME`) and opaque markers (`.wh..wh..opq`): turned
//! into overlayfs markers, or applied by deleting from a full copy of the
//! parent layer. Also the recursive removal used when an entry replaces a
//! directory.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::SFlag;

use super::entry::{create_or_replace, enter_parent};
use super::{show, Meta, OverlayXattr, UnpackError, Unpacker, WhiteoutMode};
use crate::sys::fs::{self, Remove};
use crate::sys::xattr;

impl Unpacker<'_> {
    /// `.wh.NAME` in `parent`: NAME is gone from the lower layers.
    pub(super) fn whiteout(
        &mut self,
        parent: &[u8],
        target: &[u8],
        path: &[u8],
        meta: &Meta,
    ) -> Result<(), UnpackError> {
        if target.is_empty() || target == b"." || target == b".." {
            return Err(UnpackError::InvalidName { path: show(path) });
        }
        let dir = enter_parent(&mut self.cursor, parent, self.implicit_owner, path)?;
        let name = OsStr::from_bytes(target);
        let err = |source| UnpackError::Whiteout {
            path: show(path),
            source,
        };
        self.stats.whiteouts += 1;
        let ns = match self.opts.whiteouts {
            WhiteoutMode::Apply => {
                return match remove_all_at(dir, name) {
                    Ok(()) => Ok(()),
                    Err(e) => Err(err(e)),
                };
            }
            WhiteoutMode::Overlay { xattr } => xattr,
            // Names are not classified in this mode.
            WhiteoutMode::Keep => return Err(UnpackError::InvalidName { path: show(path) }),
        };
        if !self.xwhiteouts {
            // overlayfs' own whiteout: a 0:0 character device. Allowed in a
            // user namespace since Linux 5.8.
            match create_or_replace(dir, name, || fs::mknodat(dir, name, SFlag::S_IFCHR, 0, 0)) {
                Ok(()) => {
                    if let Some((uid, gid)) = meta.owner {
                        fs::fchownat_nofollow(dir, name, uid, gid).map_err(err)?;
                    }
                    return Ok(());
                }
                Err(e) if matches!(fs::errno(&e), Some(Errno::EPERM | Errno::EACCES)) => {
                    tracing::debug!("0:0 device whiteouts refused ({e}); using xattr whiteouts");
                    self.xwhiteouts = true;
                }
                Err(e) => return Err(err(e)),
            }
        }
        xattr_whiteout(dir, name, ns, meta).map_err(|source| UnpackError::WhiteoutUnsupported {
            path: show(path),
            source,
        })
    }

    /// `.wh..wh..opq` in `dir`: the directory hides what lower layers have
    /// in it.
    pub(super) fn opaque(&mut self, dir_path: &[u8], path: &[u8]) -> Result<(), UnpackError> {
        let dir = enter_parent(&mut self.cursor, dir_path, self.implicit_owner, path)?;
        self.stats.whiteouts += 1;
        match self.opts.whiteouts {
            WhiteoutMode::Overlay { xattr } => {
                xattr::fsetxattr(dir, xattr.opaque(), b"y").map_err(|source| UnpackError::Opaque {
                    path: show(dir_path),
                    source,
                })
            }
            WhiteoutMode::Keep => Err(UnpackError::InvalidName { path: show(path) }),
            WhiteoutMode::Apply => {
                let empty = Default::default();
                let created = self.created.as_ref().unwrap_or(&empty);
                clear_lower(dir, dir_path, created).map_err(|source| UnpackError::Whiteout {
                    path: show(path),
                    source,
                })
            }
        }
    }
}

/// The whiteout form for where mknod is refused (overlayfs, Linux >= 6.7):
/// an empty file with `<ns>.overlay.whiteout`, in a directory whose
/// `<ns>.overlay.opaque` is `x` ("has xattr whiteouts") unless it is
/// already fully opaque.
pub(super) fn xattr_whiteout(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    ns: OverlayXattr,
    meta: &Meta,
) -> io::Result<()> {
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
    let fd = create_or_replace(dir, name, || fs::openat(dir, name, flags, 0o600))?;
    if let Some((uid, gid)) = meta.owner {
        fs::fchown(fd.as_fd(), uid, gid)?;
    }
    xattr::fsetxattr(fd.as_fd(), ns.whiteout(), b"")?;
    if xattr::fgetxattr(dir, ns.opaque())?.as_deref() != Some(b"y") {
        xattr::fsetxattr(dir, ns.opaque(), b"x")?;
    }
    Ok(())
}

/// For an opaque directory in apply mode: remove every child of `dir` that
/// this layer did not create, and, inside the directories it did create
/// over lower ones, everything of the lower layers too.
fn clear_lower(
    dir: BorrowedFd<'_>,
    dir_path: &[u8],
    created: &std::collections::HashSet<Box<[u8]>>,
) -> io::Result<()> {
    let mut pending: Vec<(OwnedFd, Vec<u8>)> = vec![(dir.try_clone_to_owned()?, dir_path.to_vec())];
    let mut child_path = Vec::new();
    while let Some((fd, prefix)) = pending.pop() {
        for (name, kind) in fs::read_dir(fd.try_clone()?)? {
            child_path.clear();
            child_path.extend_from_slice(&prefix);
            if !child_path.is_empty() {
                child_path.push(b'/');
            }
            child_path.extend_from_slice(name.as_bytes());
            if !created.contains(child_path.as_slice()) {
                remove_all_at(fd.as_fd(), &name)?;
                continue;
            }
            let is_dir = match kind {
                Some(t) => t == nix::dir::Type::Directory,
                None => fs::fstatat_nofollow(fd.as_fd(), &name).is_ok_and(|st| fs::is_dir(&st)),
            };
            if is_dir {
                pending.push((
                    fs::open_dir_nofollow(fd.as_fd(), &name)?,
                    child_path.clone(),
                ));
            }
        }
    }
    Ok(())
}

/// Remove `name` in `dir` whatever it is, a directory with all its
/// contents included, never following a symlink. Missing is fine.
/// Directories without write or search permission for us (possible in a
/// copied lower layer when unprivileged) are opened up first.
pub(super) fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    if unlink_non_dir(dir, name)? {
        return Ok(());
    }
    struct Frame {
        fd: OwnedFd,
        name: OsString,
        children: Vec<OsString>,
    }
    let open = |at: BorrowedFd<'_>, name: &OsStr| -> io::Result<Option<Frame>> {
        let fd = match fs::open_dir_nofollow(at, name) {
            Ok(fd) => fd,
            Err(e) if fs::errno(&e) == Some(Errno::ENOENT) => return Ok(None),
            Err(e) if fs::errno(&e) == Some(Errno::EACCES) => {
                fs::fchmodat(at, name, 0o700)?;
                fs::open_dir_nofollow(at, name)?
            }
            Err(e) => return Err(e),
        };
        let children = fs::read_dir(fd.try_clone()?)?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        Ok(Some(Frame {
            fd,
            name: name.to_owned(),
            children,
        }))
    };
    // An explicit stack: a hostile tree may be deeper than the call stack.
    let mut stack: Vec<Frame> = open(dir, name)?.into_iter().collect();
    while let Some(frame) = stack.last_mut() {
        if let Some(child) = frame.children.pop() {
            let at = frame.fd.as_fd();
            let removed = match unlink_non_dir(at, &child) {
                Err(e) if fs::errno(&e) == Some(Errno::EACCES) => {
                    fs::fchmod(at, 0o700)?;
                    unlink_non_dir(at, &child)?
                }
                r => r?,
            };
            if !removed {
                if let Some(sub) = open(at, &child)? {
                    stack.push(sub);
                }
            }
            continue;
        }
        let done = stack.pop().map(|f| f.name);
        let parent = stack.last().map_or(dir, |f| f.fd.as_fd());
        if let Some(done) = done {
            match fs::unlinkat(parent, &done, Remove::Dir) {
                Err(e) if fs::errno(&e) != Some(Errno::ENOENT) => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Unlink `name` unless it is a directory. `Ok(true)` when it is gone (or
/// was never there), `Ok(false)` when it is a directory.
fn unlink_non_dir(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<bool> {
    match fs::unlinkat(dir, name, Remove::NonDir) {
        Ok(()) => Ok(true),
        Err(e) => match fs::errno(&e) {
            Some(Errno::ENOENT) => Ok(true),
            // Linux says EISDIR; POSIX allows EPERM.
            Some(Errno::EISDIR) => Ok(false),
            Some(Errno::EPERM) => match fs::fstatat_nofollow(dir, name) {
                Ok(st) if fs::is_dir(&st) => Ok(false),
                _ => Err(e),
            },
            _ => Err(e),
        },
    }
}
