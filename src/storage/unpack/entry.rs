//! Creating each kind of entry (directory, file, symlink, hardlink, device,
//! FIFO) below its parent's descriptor, and giving it its owner, mode,
//! xattrs and times, in that order: chown clears setuid bits and file
//! capabilities, so the mode and `security.capability` come after it.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::SFlag;

use super::cursor::{DirCursor, Missing, WalkError};
use super::whiteout::remove_all_at;
use super::{
    path, show, DirFixup, Meta, MetadataStep, UnpackError, UnpackStats, Unpacker, XATTR_PREFIX,
};
use crate::sys::{fs, xattr};

impl Unpacker<'_> {
    pub(super) fn directory<R: Read>(
        &mut self,
        parent: &[u8],
        name: &[u8],
        path: &[u8],
        meta: &Meta,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), UnpackError> {
        if name.is_empty() {
            // The layer root itself (`./`).
            let root = self.cursor.root();
            set_owner_fd(root, meta, path)?;
            if meta.xattrs {
                set_xattrs(entry, Target::Fd(root), path, &mut self.stats)?;
            }
        } else {
            let dir = enter_parent(&mut self.cursor, parent, self.implicit_owner, path)?;
            let n = OsStr::from_bytes(name);
            let create_err = |source| UnpackError::Create {
                path: show(path),
                source,
            };
            // Owner-only until the end: the real mode may lack write
            // permission for the children still to come.
            let fd = match fs::mkdirat(dir, n, 0o700) {
                Ok(()) => fs::open_dir_nofollow(dir, n).map_err(create_err)?,
                Err(e) if fs::errno(&e) == Some(Errno::EEXIST) => {
                    match fs::open_dir_nofollow(dir, n) {
                        // A directory over a directory keeps its contents.
                        Ok(fd) => fd,
                        Err(_) => {
                            remove_all_at(dir, n).map_err(create_err)?;
                            fs::mkdirat(dir, n, 0o700).map_err(create_err)?;
                            fs::open_dir_nofollow(dir, n).map_err(create_err)?
                        }
                    }
                }
                Err(e) => return Err(create_err(e)),
            };
            set_owner_fd(fd.as_fd(), meta, path)?;
            if meta.xattrs {
                set_xattrs(entry, Target::Fd(fd.as_fd()), path, &mut self.stats)?;
            }
            // The next entries are most likely this directory's children.
            self.cursor.push_child(name, fd);
        }
        self.dirs.push(DirFixup {
            path: path.into(),
            mode: meta.mode,
            atime: meta.atime,
            mtime: meta.mtime,
        });
        self.stats.dirs += 1;
        Ok(())
    }

    pub(super) fn regular<R: Read>(
        &mut self,
        parent: &[u8],
        name: &[u8],
        path: &[u8],
        meta: &Meta,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), UnpackError> {
        let dir = enter_parent(&mut self.cursor, parent, self.implicit_owner, path)?;
        let n = OsStr::from_bytes(name);
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW;
        let fd = create_or_replace(dir, n, || fs::openat(dir, n, flags, meta.mode & 0o777))
            .map_err(|source| UnpackError::Create {
                path: show(path),
                source,
            })?;
        let mut file = File::from(fd);
        let size = entry.size();
        let written = copy_data(entry, &mut file, &mut self.buf).map_err(|e| match e {
            CopyError::Read(source) => UnpackError::Tar { source },
            CopyError::Write(source) => UnpackError::Write {
                path: show(path),
                source,
            },
        })?;
        if written != size {
            return Err(UnpackError::Tar {
                source: io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{} ends after {written} of {size} bytes",
                        show(path).display()
                    ),
                ),
            });
        }
        let fd = file.as_fd();
        set_owner_fd(fd, meta, path)?;
        if needs_chmod(meta.mode, self.umask) {
            fs::fchmod(fd, meta.mode).map_err(meta_err(path, MetadataStep::Mode))?;
        }
        if meta.xattrs {
            set_xattrs(entry, Target::Fd(fd), path, &mut self.stats)?;
        }
        fs::futimens(fd, meta.atime, meta.mtime).map_err(meta_err(path, MetadataStep::Times))?;
        self.stats.files += 1;
        self.stats.bytes += written;
        Ok(())
    }

    pub(super) fn symlink<R: Read>(
        &mut self,
        parent: &[u8],
        name: &[u8],
        path: &[u8],
        meta: &Meta,
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), UnpackError> {
        self.link.clear();
        match entry.link_name_bytes() {
            // The target is stored as is: it is only ever resolved inside
            // the container's root, never by the unpacker.
            Some(target) if !target.is_empty() => self.link.extend_from_slice(&target),
            _ => {
                return Err(UnpackError::Header {
                    path: show(path),
                    source: io::Error::new(io::ErrorKind::InvalidData, "symlink without a target"),
                })
            }
        }
        let dir = enter_parent(&mut self.cursor, parent, self.implicit_owner, path)?;
        let n = OsStr::from_bytes(name);
        let target = OsStr::from_bytes(&self.link);
        create_or_replace(dir, n, || fs::symlinkat(target, dir, n)).map_err(|source| {
            UnpackError::Create {
                path: show(path),
                source,
            }
        })?;
        if let Some((uid, gid)) = meta.owner {
            fs::fchownat_nofollow(dir, n, uid, gid).map_err(meta_err(path, MetadataStep::Owner))?;
        }
        if meta.xattrs {
            set_xattrs(entry, Target::At(dir, n), path, &mut self.stats)?;
        }
        fs::utimensat_nofollow(dir, n, meta.atime, meta.mtime)
            .map_err(meta_err(path, MetadataStep::Times))?;
        self.stats.symlinks += 1;
        Ok(())
    }

    pub(super) fn hardlink<R: Read>(
        &mut self,
        parent: &[u8],
        name: &[u8],
        path: &[u8],
        entry: &mut tar::Entry<'_, R>,
    ) -> Result<(), UnpackError> {
        let mut target = std::mem::take(&mut self.link);
        let cleaned = match entry.link_name_bytes() {
            Some(raw) => {
                path::clean(&raw, &mut target).map_err(|path::Escape| UnpackError::HardlinkEscape {
                    path: show(path),
                    target: show(&raw),
                })
            }
            None => Err(UnpackError::Header {
                path: show(path),
                source: io::Error::new(io::ErrorKind::InvalidData, "hardlink without a target"),
            }),
        };
        let res = cleaned.and_then(|()| self.hardlink_to(parent, name, path, &target));
        self.link = target;
        res
    }

    fn hardlink_to(
        &mut self,
        parent: &[u8],
        name: &[u8],
        path: &[u8],
        target: &[u8],
    ) -> Result<(), UnpackError> {
        if target == path {
            return Ok(());
        }
        let link_err = |source| UnpackError::Hardlink {
            path: show(path),
            target: show(target),
            source,
        };
        if target.is_empty() {
            return Err(UnpackError::HardlinkToDirectory {
                path: show(path),
                target: show(target),
            });
        }
        let (tparent, tname) = path::split_parent(target);
        // The target's directory, found without following symlinks and
        // without creating anything; kept open while the cursor moves on.
        let tdir = match self.cursor.enter(tparent, Missing::Skip) {
            Ok(Some(fd)) => fd.try_clone_to_owned().map_err(link_err)?,
            Ok(None) => return Err(link_err(io::Error::from(Errno::ENOENT))),
            Err(WalkError::Symlink) => {
                return Err(UnpackError::HardlinkEscape {
                    path: show(path),
                    target: show(target),
                })
            }
            Err(WalkError::NotDir) => return Err(link_err(io::Error::from(Errno::ENOTDIR))),
            Err(WalkError::Io(e)) => return Err(link_err(e)),
        };
        let tn = OsStr::from_bytes(tname);
        let st = fs::fstatat_nofollow(tdir.as_fd(), tn).map_err(link_err)?;
        if fs::is_dir(&st) {
            return Err(UnpackError::HardlinkToDirectory {
                path: show(path),
                target: show(target),
            });
        }
        let dir = enter_parent(&mut self.cursor, parent, self.implicit_owner, path)?;
        let n = OsStr::from_bytes(name);
        create_or_replace(dir, n, || fs::linkat(tdir.as_fd(), tn, dir, n)).map_err(link_err)?;
        self.stats.hardlinks += 1;
        Ok(())
    }

    /// Character and block devices, and FIFOs.
    pub(super) fn node<R: Read>(
        &mut self,
        parent: &[u8],
        name: &[u8],
        path: &[u8],
        meta: &Meta,
        entry: &mut tar::Entry<'_, R>,
        kind: tar::EntryType,
    ) -> Result<(), UnpackError> {
        let sflag = match kind {
            tar::EntryType::Char => SFlag::S_IFCHR,
            tar::EntryType::Block => SFlag::S_IFBLK,
            _ => SFlag::S_IFIFO,
        };
        let dev = if sflag == SFlag::S_IFIFO {
            0
        } else {
            if !self.opts.can_mknod {
                tracing::debug!(path = %show(path).display(), "skipping device node: not permitted here");
                self.stats.skipped_devices += 1;
                return Ok(());
            }
            let bad = |source| UnpackError::Header {
                path: show(path),
                source,
            };
            let h = entry.header();
            let major = h.device_major().map_err(bad)?.unwrap_or(0);
            let minor = h.device_minor().map_err(bad)?.unwrap_or(0);
            fs::makedev(major, minor)
        };
        let dir = enter_parent(&mut self.cursor, parent, self.implicit_owner, path)?;
        let n = OsStr::from_bytes(name);
        create_or_replace(dir, n, || {
            fs::mknodat(dir, n, sflag, meta.mode & 0o777, dev)
        })
        .map_err(|source| UnpackError::Create {
            path: show(path),
            source,
        })?;
        if let Some((uid, gid)) = meta.owner {
            fs::fchownat_nofollow(dir, n, uid, gid).map_err(meta_err(path, MetadataStep::Owner))?;
        }
        if needs_chmod(meta.mode, self.umask) {
            // Just created by mknod, so not a symlink to follow.
            fs::fchmodat(dir, n, meta.mode).map_err(meta_err(path, MetadataStep::Mode))?;
        }
        if meta.xattrs {
            set_xattrs(entry, Target::At(dir, n), path, &mut self.stats)?;
        }
        fs::utimensat_nofollow(dir, n, meta.atime, meta.mtime)
            .map_err(meta_err(path, MetadataStep::Times))?;
        Ok(())
    }
}

/// Enter an entry's parent directory, creating missing ones.
pub(super) fn enter_parent<'c>(
    cursor: &'c mut DirCursor,
    parent: &[u8],
    owner: Option<(u32, u32)>,
    path: &[u8],
) -> Result<BorrowedFd<'c>, UnpackError> {
    match cursor.enter(parent, Missing::Create(owner)) {
        Ok(Some(fd)) => Ok(fd),
        Ok(None) => Err(UnpackError::Create {
            path: show(parent),
            source: io::Error::from(Errno::ENOENT),
        }),
        Err(WalkError::Symlink) => Err(UnpackError::SymlinkInPath { path: show(path) }),
        Err(WalkError::NotDir) => Err(UnpackError::NotADirectory { path: show(path) }),
        Err(WalkError::Io(source)) => Err(UnpackError::Create {
            path: show(parent),
            source,
        }),
    }
}

/// Run `create`; if the name is taken, remove what is there (a later entry
/// wins) and run it once more.
pub(super) fn create_or_replace<T>(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    mut create: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    match create() {
        Err(e) if fs::errno(&e) == Some(Errno::EEXIST) => {
            remove_all_at(dir, name)?;
            create()
        }
        r => r,
    }
}

fn meta_err(path: &[u8], step: MetadataStep) -> impl FnOnce(io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Metadata {
        path: show(path),
        step,
        source,
    }
}

fn set_owner_fd(fd: BorrowedFd<'_>, meta: &Meta, path: &[u8]) -> Result<(), UnpackError> {
    match meta.owner {
        Some((uid, gid)) => fs::fchown(fd, uid, gid).map_err(meta_err(path, MetadataStep::Owner)),
        None => Ok(()),
    }
}

/// Whether creating with `mode & 0o777` under `umask` falls short of
/// `mode` (special bits are never set by creation, and chown clears them).
fn needs_chmod(mode: u32, umask: Option<u32>) -> bool {
    let masked = match umask {
        Some(m) => mode & 0o777 & m != 0,
        None => true,
    };
    mode & 0o7000 != 0 || masked
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copy an entry's content through `buf`, filling it before each write so
/// that small files take one write and large ones 1 MiB writes.
fn copy_data(src: &mut impl Read, dst: &mut File, buf: &mut [u8]) -> Result<u64, CopyError> {
    let mut total = 0u64;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match src.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CopyError::Read(e)),
            }
        }
        if filled == 0 {
            return Ok(total);
        }
        dst.write_all(&buf[..filled]).map_err(CopyError::Write)?;
        total += filled as u64;
        if filled < buf.len() {
            return Ok(total);
        }
    }
}

/// Where xattrs go: an open file, or a name in a directory (symlinks and
/// nodes, which cannot be opened safely).
#[derive(Clone, Copy)]
enum Target<'a> {
    Fd(BorrowedFd<'a>),
    At(BorrowedFd<'a>, &'a OsStr),
}

/// Apply the entry's `SCHILY.xattr.*` records. Attributes the file system
/// or our privileges do not allow are let go with a warning (the first
/// time) and counted; other failures fail the entry.
fn set_xattrs<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    target: Target<'_>,
    path: &[u8],
    stats: &mut UnpackStats,
) -> Result<(), UnpackError> {
    let bad = |source| UnpackError::Header {
        path: show(path),
        source,
    };
    let Some(exts) = entry.pax_extensions().map_err(bad)? else {
        return Ok(());
    };
    for ext in exts {
        let ext = ext.map_err(bad)?;
        let Some(key) = ext.key_bytes().strip_prefix(XATTR_PREFIX) else {
            continue;
        };
        if key.starts_with(b"trusted.overlay.") || key.starts_with(b"user.overlay.") {
            // overlayfs would act on these (whiteouts, redirects, metacopy):
            // a layer may not forge them.
            tracing::debug!(path = %show(path).display(), "dropping overlay xattr from layer");
            continue;
        }
        let key = OsStr::from_bytes(key);
        let value = ext.value_bytes();
        let res = match target {
            Target::Fd(fd) => xattr::fsetxattr(fd, key, value),
            Target::At(dir, name) => xattr::lsetxattr_at(dir, name, key, value),
        };
        let Err(source) = res else { continue };
        let privileged =
            key.as_bytes().starts_with(b"trusted.") || key.as_bytes().starts_with(b"security.");
        let tolerated = match fs::errno(&source) {
            Some(Errno::EOPNOTSUPP) => true,
            // user.* is not allowed on symlinks and device nodes.
            Some(Errno::EPERM | Errno::EACCES) => privileged || matches!(target, Target::At(..)),
            _ => false,
        };
        if !tolerated {
            return Err(UnpackError::Xattr {
                path: show(path),
                name: key.to_string_lossy().into_owned(),
                source,
            });
        }
        if stats.xattr_warnings == 0 {
            tracing::warn!(
                path = %show(path).display(),
                "cannot set xattr {}: {source}; continuing without it (further ones logged at debug level)",
                key.to_string_lossy()
            );
        } else {
            tracing::debug!(path = %show(path).display(), "cannot set xattr {}: {source}", key.to_string_lossy());
        }
        stats.xattr_warnings += 1;
    }
    Ok(())
}
