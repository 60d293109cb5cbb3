//! A directory tree read without following symlinks: every access goes
//! through a descriptor of the tree's root and `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS)` (or a no-follow component walk), so a container
//! that swaps a directory for a symlink while it is read cannot make skiff
//! read a file of the host.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::FileStat;

use crate::sys::fs;

/// Overlay markers in either namespace, and fuse-overlayfs' own.
const OPAQUE_XATTRS: &[&str] = &[
    "trusted.overlay.opaque",
    "user.overlay.opaque",
    "user.fuseoverlayfs.opaque",
];
const WHITEOUT_XATTRS: &[&str] = &["trusted.overlay.whiteout", "user.overlay.whiteout"];
const REDIRECT_XATTRS: &[&str] = &["trusted.overlay.redirect", "user.overlay.redirect"];

/// The file an opaque directory holds where xattrs could not be set
/// (fuse-overlayfs), and the OCI marker of the same meaning.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The prefix of OCI (and fuse-overlayfs fallback) whiteout names.
pub const WHITEOUT_PREFIX: &str = ".wh.";

/// The kind of a file, from its mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    Char,
    Block,
    Fifo,
    Socket,
}

impl Kind {
    pub fn of(st: &FileStat) -> Kind {
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFLNK => Kind::Symlink,
            libc::S_IFCHR => Kind::Char,
            libc::S_IFBLK => Kind::Block,
            libc::S_IFIFO => Kind::Fifo,
            libc::S_IFSOCK => Kind::Socket,
            _ => Kind::File,
        }
    }
}

/// A directory tree opened once; paths are relative to it (`""` is the
/// root itself).
#[derive(Debug)]
pub struct FsRoot {
    fd: OwnedFd,
    path: PathBuf,
}

/// Errors that mean "not there" when a path is looked up: missing, or a
/// component is not a directory (or is a symlink, which is never followed).
fn is_absent(e: &io::Error) -> bool {
    matches!(
        fs::errno(e),
        Some(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP)
    )
}

impl FsRoot {
    /// Open the tree at `path`; `None` when it does not exist.
    pub fn open(path: &Path) -> io::Result<Option<FsRoot>> {
        match fs::open_dir(path) {
            Ok(fd) => Ok(Some(FsRoot {
                fd,
                path: path.to_owned(),
            })),
            Err(e) if fs::errno(&e) == Some(Errno::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding `rel` and the last component's name.
    fn parent<'a>(&self, rel: &'a Path) -> io::Result<(OwnedFd, &'a OsStr)> {
        let name = rel
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty path"))?;
        let dir = match rel.parent() {
            Some(p) if !p.as_os_str().is_empty() => fs::open_beneath(
                self.fd.as_fd(),
                p.as_os_str(),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY,
            )?,
            _ => self.fd.try_clone()?,
        };
        Ok((dir, name))
    }

    /// `lstat` of `rel`; `None` when it is not there.
    pub fn lstat(&self, rel: &Path) -> io::Result<Option<FileStat>> {
        if rel.as_os_str().is_empty() {
            return Ok(Some(nix::sys::stat::fstat(
                std::os::fd::AsRawFd::as_raw_fd(&self.fd),
            )?));
        }
        let res = self
            .parent(rel)
            .and_then(|(dir, name)| fs::fstatat_nofollow(dir.as_fd(), name));
        match res {
            Ok(st) => Ok(Some(st)),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The names in directory `rel`, sorted; empty when it is not there.
    pub fn list(&self, rel: &Path) -> io::Result<Vec<OsString>> {
        let fd = match self.open_dir(rel) {
            Ok(fd) => fd,
            Err(e) if is_absent(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names: Vec<OsString> = fs::read_dir(fd)?.into_iter().map(|(n, _)| n).collect();
        names.sort();
        Ok(names)
    }

    fn open_dir(&self, rel: &Path) -> io::Result<OwnedFd> {
        if rel.as_os_str().is_empty() {
            return self.fd.try_clone();
        }
        fs::open_beneath(
            self.fd.as_fd(),
            rel.as_os_str(),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY,
        )
    }

    /// Open the regular file `rel` for reading.
    pub fn open_file(&self, rel: &Path) -> io::Result<File> {
        let fd = fs::open_beneath(
            self.fd.as_fd(),
            rel.as_os_str(),
            OFlag::O_RDONLY | OFlag::O_NONBLOCK,
        )?;
        Ok(File::from(fd))
    }

    /// The target of the symlink `rel`.
    pub fn readlink(&self, rel: &Path) -> io::Result<OsString> {
        let (dir, name) = self.parent(rel)?;
        Ok(nix::fcntl::readlinkat(
            Some(std::os::fd::AsRawFd::as_raw_fd(&dir)),
            name,
        )?)
    }

    /// A descriptor of `rel` that attributes can be read through (only
    /// directories and regular files are opened).
    fn open_for_xattrs(&self, rel: &Path, kind: Kind) -> io::Result<Option<File>> {
        let fd = match kind {
            Kind::Dir => self.open_dir(rel),
            Kind::File => fs::open_beneath(
                self.fd.as_fd(),
                rel.as_os_str(),
                OFlag::O_RDONLY | OFlag::O_NONBLOCK,
            ),
            _ => return Ok(None),
        };
        match fd {
            Ok(fd) => Ok(Some(File::from(fd))),
            Err(e) if is_absent(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The value of attribute `name` of `rel` (a directory or a regular
    /// file); `None` when unset or not readable here (`trusted.*` needs
    /// real root).
    pub fn xattr(&self, rel: &Path, kind: Kind, name: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(file) = self.open_for_xattrs(rel, kind)? else {
            return Ok(None);
        };
        Ok(read_xattr(&file, name))
    }

    /// The extended attributes of `rel` a layer carries: all but
    /// overlayfs' and fuse-overlayfs' own.
    pub fn layer_xattrs(&self, rel: &Path, kind: Kind) -> io::Result<Vec<(OsString, Vec<u8>)>> {
        use xattr::FileExt;
        let Some(file) = self.open_for_xattrs(rel, kind)? else {
            return Ok(Vec::new());
        };
        let names = match file.list_xattr() {
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for name in names {
            if is_overlay_private(&name) {
                continue;
            }
            if let Ok(Some(v)) = file.get_xattr(&name) {
                out.push((name, v));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Whether `rel` (with `st`) is an overlay whiteout: a 0:0 character
    /// device, or an empty file carrying the whiteout attribute.
    pub fn is_whiteout(&self, rel: &Path, st: &FileStat) -> io::Result<bool> {
        match Kind::of(st) {
            Kind::Char => Ok(st.st_rdev == 0),
            Kind::File if st.st_size == 0 => {
                let Some(file) = self.open_for_xattrs(rel, Kind::File)? else {
                    return Ok(false);
                };
                Ok(WHITEOUT_XATTRS
                    .iter()
                    .any(|n| read_xattr(&file, n).is_some()))
            }
            _ => Ok(false),
        }
    }

    /// Whether directory `rel` is opaque: it hides what the layers below
    /// hold at its path.
    pub fn is_opaque(&self, rel: &Path) -> io::Result<bool> {
        let Some(file) = self.open_for_xattrs(rel, Kind::Dir)? else {
            return Ok(false);
        };
        if OPAQUE_XATTRS
            .iter()
            .any(|n| read_xattr(&file, n).as_deref() == Some(b"y"))
        {
            return Ok(true);
        }
        Ok(self.lstat(&rel.join(OPAQUE_MARKER))?.is_some())
    }

    /// Whether directory `rel` was renamed by overlayfs (`redirect_dir`):
    /// its lower content is then elsewhere.
    pub fn is_redirected(&self, rel: &Path) -> io::Result<bool> {
        let Some(file) = self.open_for_xattrs(rel, Kind::Dir)? else {
            return Ok(false);
        };
        Ok(REDIRECT_XATTRS
            .iter()
            .any(|n| read_xattr(&file, n).is_some()))
    }
}

fn read_xattr(file: &File, name: &str) -> Option<Vec<u8>> {
    crate::sys::xattr::fgetxattr(file.as_fd(), OsStr::new(name))
        .ok()
        .flatten()
}

/// overlayfs' and fuse-overlayfs' bookkeeping attributes, never part of a
/// layer.
fn is_overlay_private(name: &OsStr) -> bool {
    let n = name.as_encoded_bytes();
    n.starts_with(b"trusted.overlay.")
        || n.starts_with(b"user.overlay.")
        || n.starts_with(b"user.fuseoverlayfs.")
}
