//! The two ends of a copy, opened: a source (the entry to pack) and a
//! destination (the directory to unpack into), in the container (resolved
//! inside its root, opened without following symlinks) or on the host
//! (the user's paths, followed as usual).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use super::invalid;
use super::place::{split, user_base, DestState, Place, SrcKind};
use crate::engine::container::ContainerError;
use crate::storage::pack::Top;
use crate::sys::fs;
use crate::sys::inroot::{self, InRoot};

/// An error about the host path `p`.
fn open_err(p: &Path) -> impl FnOnce(io::Error) -> ContainerError + '_ {
    move |e| invalid(format!("{}: {e}", p.display()))
}

/// A source, opened: the entry `name` of the directory `dir`.
pub(super) struct Source {
    pub dir: OwnedFd,
    pub name: OsString,
    pub kind: SrcKind,
    /// The name it gets at the destination when it keeps its own.
    pub base: OsString,
}

impl Source {
    pub fn top<'a>(&'a self, place: Place, dest_name: &'a OsStr) -> Top<'a> {
        match place {
            Place::Inside => Top::Named(&self.base),
            Place::ContentsInside => Top::Contents,
            Place::Replacing => Top::Named(dest_name),
        }
    }
}

/// A destination, opened: the directory the archive is unpacked into and
/// the name the top entry gets there.
pub(super) struct Dest {
    pub state: DestState,
    /// The destination itself when it is a directory, else its parent.
    pub dir: OwnedFd,
    /// The destination's own name in its parent.
    pub name: OsString,
    pub trailing_slash: bool,
}

fn open_dir_in_root(root: BorrowedFd<'_>, rel: &OsStr) -> io::Result<OwnedFd> {
    fs::open_beneath(root, rel, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
}

/// The container-side message for a failed resolution.
fn resolve_err(container: &str, path: &str, e: &io::Error) -> ContainerError {
    match e.raw_os_error() {
        Some(libc::ENOENT) => invalid(format!(
            "{path:?} could not be found on container {container}: no such file or directory"
        )),
        Some(libc::ENOTDIR) => invalid(format!(
            "{container}:{path}: a component of the path is not a directory"
        )),
        _ => invalid(format!(
            "resolving {container}:{path} in the container: {e}"
        )),
    }
}

/// Open the source `path` inside the container root `root`.
pub(super) fn container_source(
    root: BorrowedFd<'_>,
    container: &str,
    path: &str,
) -> Result<Source, ContainerError> {
    let rel = match inroot::resolve(root, OsStr::new(path)) {
        Ok(InRoot::Exists(rel)) => rel,
        Ok(InRoot::Missing { .. }) => {
            return Err(resolve_err(
                container,
                path,
                &io::Error::from_raw_os_error(libc::ENOENT),
            ))
        }
        Err(e) => return Err(resolve_err(container, path, &e)),
    };
    let (base, contents) = user_base(path);
    let open_err = |e: io::Error| resolve_err(container, path, &e);
    let (dir, name, base, contents) = match split(&rel) {
        // The root itself: its contents (there is no name to give it).
        None => (
            open_dir_in_root(root, OsStr::new(".")).map_err(open_err)?,
            OsString::from("."),
            base.unwrap_or_else(|| OsString::from("rootfs")),
            true,
        ),
        Some((parent, name)) => (
            open_dir_in_root(root, &parent).map_err(open_err)?,
            name.clone(),
            base.unwrap_or(name),
            contents,
        ),
    };
    let st = fs::fstatat_nofollow(dir.as_fd(), &name).map_err(open_err)?;
    let is_dir = fs::is_dir(&st);
    Ok(Source {
        dir,
        name,
        kind: SrcKind {
            is_dir,
            contents: contents && is_dir,
        },
        base,
    })
}

/// Open the destination `path` inside the container root `root`.
pub(super) fn container_dest(
    root: BorrowedFd<'_>,
    container: &str,
    path: &str,
) -> Result<Dest, ContainerError> {
    let trailing_slash = path.ends_with('/') && !path.trim_matches('/').is_empty();
    let open_err = |e: io::Error| resolve_err(container, path, &e);
    match inroot::resolve(root, OsStr::new(path)) {
        Ok(InRoot::Exists(rel)) => {
            let st = fs::fstatat_nofollow(root, &rel).map_err(open_err)?;
            if fs::is_dir(&st) {
                let name = split(&rel).map(|(_, n)| n).unwrap_or_default();
                return Ok(Dest {
                    state: DestState::Dir,
                    dir: open_dir_in_root(root, &rel).map_err(open_err)?,
                    name,
                    trailing_slash,
                });
            }
            let (parent, name) = split(&rel).ok_or_else(|| invalid("the root is not a file"))?;
            Ok(Dest {
                state: DestState::NonDir,
                dir: open_dir_in_root(root, &parent).map_err(open_err)?,
                name,
                trailing_slash,
            })
        }
        Ok(InRoot::Missing { parent, name }) => Ok(Dest {
            state: DestState::Missing,
            dir: open_dir_in_root(root, &parent).map_err(open_err)?,
            name,
            trailing_slash,
        }),
        Err(e) => Err(open_err(e)),
    }
}

/// Open a host source (symlinks followed: the path is the user's).
pub(super) fn host_source(path: &Path) -> Result<Source, ContainerError> {
    let shown = path.display().to_string();
    let real = std::fs::canonicalize(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => invalid(format!(
            "{shown:?} could not be found on the host: no such file or directory"
        )),
        _ => invalid(format!("{shown}: {e}")),
    })?;
    let (base, contents) = user_base(&shown);
    let (dir, name, base, contents) = match (real.parent(), real.file_name()) {
        (Some(parent), Some(name)) => (
            fs::open_dir(parent).map_err(open_err(parent))?,
            name.to_owned(),
            base.unwrap_or_else(|| name.to_owned()),
            contents,
        ),
        // The host's root: its contents.
        _ => (
            fs::open_dir(&real).map_err(open_err(&real))?,
            OsString::from("."),
            OsString::from("rootfs"),
            true,
        ),
    };
    let st = fs::fstatat_nofollow(dir.as_fd(), &name).map_err(open_err(path))?;
    let is_dir = fs::is_dir(&st);
    Ok(Source {
        dir,
        name,
        kind: SrcKind {
            is_dir,
            contents: contents && is_dir,
        },
        base,
    })
}

/// Open a host destination (symlinks followed).
pub(super) fn host_dest(path: &Path) -> Result<Dest, ContainerError> {
    let shown = path.display().to_string();
    let trailing_slash = shown.ends_with('/') && !shown.trim_matches('/').is_empty();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(OsStr::to_owned).unwrap_or_default();
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Ok(Dest {
            state: DestState::Dir,
            dir: fs::open_dir(path).map_err(open_err(path))?,
            name,
            trailing_slash,
        }),
        Ok(m) if !m.is_file() => Err(invalid(format!(
            "invalid destination: {shown:?} must be a directory or a regular file"
        ))),
        Ok(_) => Ok(Dest {
            state: DestState::NonDir,
            dir: fs::open_dir(&parent).map_err(open_err(&parent))?,
            name,
            trailing_slash,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if name.is_empty() {
                return Err(invalid(format!("{shown}: no such file or directory")));
            }
            let dir = fs::open_dir(&parent)
                .map_err(|e| invalid(format!("destination directory {}: {e}", parent.display())))?;
            Ok(Dest {
                state: DestState::Missing,
                dir,
                name,
                trailing_slash,
            })
        }
        Err(e) => Err(invalid(format!("{shown}: {e}"))),
    }
}

/// Without `--overwrite`, a directory may not replace a non-directory at
/// the destination nor the other way round.
pub(super) fn check_replace(
    src: &Source,
    place: Place,
    dest: &Dest,
    shown_dest: &str,
    overwrite: bool,
) -> Result<(), ContainerError> {
    if overwrite || place != Place::Inside {
        return Ok(());
    }
    match fs::fstatat_nofollow(dest.dir.as_fd(), &src.base) {
        Ok(st) if fs::is_dir(&st) != src.kind.is_dir => Err(invalid(format!(
            "cannot overwrite {} {}/{} with a {} (use --overwrite)",
            if fs::is_dir(&st) {
                "directory"
            } else {
                "non-directory"
            },
            shown_dest.trim_end_matches('/'),
            src.base.to_string_lossy(),
            if src.kind.is_dir {
                "directory"
            } else {
                "non-directory"
            },
        ))),
        _ => Ok(()),
    }
}
