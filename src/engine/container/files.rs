//! `cp`: files and directories between a container and the host, or a tar
//! stream, for running and stopped containers alike (the root file system
//! is held mounted for the copy, see `mount.rs`).
//!
//! Everything goes through one tar stream: the source is packed
//! (`storage::pack`), the destination unpacked (`storage::unpack`). Paths in
//! the container are untrusted (CVE-2018-15664): they are resolved as if
//! the container's root were `/` (`sys::inroot`), opened without following
//! any symlink, and files are only ever created below a descriptor of the
//! destination directory, never through a symlink met on the way (in the
//! path, or among the archive's entries). Host paths are the user's own and
//! are followed as usual. Placement follows podman (and docker) cp: a
//! trailing `/.` copies a directory's contents, a file or directory copied
//! onto an existing directory goes inside it.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::idmap::IdMappings;
use crate::state::container::{ContainerRecord, UserNsMode};
use crate::storage::pack::{self, PackOptions, Top};
use crate::storage::unpack::{self, IdMapping, IdRange, UnpackOptions, WhiteoutMode};
use crate::sys::fs;
use crate::sys::inroot::{self, InRoot};

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyPath {
    /// A path of the host (relative to the working directory).
    Host(PathBuf),
    /// `CONTAINER:PATH`, the path relative to the container's root.
    Container { container: String, path: String },
    /// `-`: a tar stream on stdin (source) or stdout (destination).
    Stream,
}

impl CopyPath {
    /// Read a command-line argument: `-`, `CONTAINER:PATH`, or a host path
    /// (one starting with `/` or `.`, or without a colon).
    pub fn parse(arg: &str) -> CopyPath {
        if arg == "-" {
            return CopyPath::Stream;
        }
        if !arg.starts_with(['/', '.']) {
            if let Some((c, p)) = arg.split_once(':') {
                if !c.is_empty() && !c.contains('/') {
                    return CopyPath::Container {
                        container: c.to_string(),
                        path: p.to_string(),
                    };
                }
            }
        }
        CopyPath::Host(PathBuf::from(arg))
    }
}

/// How to copy.
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    /// podman's `--archive` (default true): files copied into a container
    /// belong to its user, files copied out to the caller. Off, they keep
    /// the source's ids (through the container's id mappings).
    pub archive: bool,
    /// Let a directory replace a non-directory and the other way round.
    pub overwrite: bool,
}

fn invalid(msg: impl Into<String>) -> ContainerError {
    ContainerError::Invalid(msg.into())
}

/// An error about the host path `p`.
fn open_err(p: &Path) -> impl FnOnce(io::Error) -> ContainerError + '_ {
    move |e| invalid(format!("{}: {e}", p.display()))
}

/// What a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SrcKind {
    is_dir: bool,
    /// A directory given as `DIR/.`: its contents, not itself.
    contents: bool,
}

/// What is at the destination path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DestState {
    Dir,
    NonDir,
    Missing,
}

/// Where the archive goes: into the destination itself (a directory) or
/// into its parent, and what the top entry is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Into the destination directory, under the source's name.
    IntoDest,
    /// Into the destination directory, the source's contents.
    ContentsIntoDest,
    /// Into the destination's parent, under the destination's name.
    AsDest,
}

/// podman's placement rules.
fn place(
    src: SrcKind,
    dest: DestState,
    dest_trailing_slash: bool,
    overwrite: bool,
    shown_dest: &str,
) -> Result<Place, String> {
    match dest {
        DestState::Dir if src.is_dir && src.contents => Ok(Place::ContentsIntoDest),
        DestState::Dir => Ok(Place::IntoDest),
        DestState::NonDir if dest_trailing_slash => Err(format!("{shown_dest} is not a directory")),
        DestState::NonDir if src.is_dir && !overwrite => Err(format!(
            "cannot overwrite non-directory {shown_dest} with a directory (use --overwrite)"
        )),
        DestState::NonDir => Ok(Place::AsDest),
        DestState::Missing if dest_trailing_slash && !src.is_dir => {
            Err(format!("destination directory {shown_dest} does not exist"))
        }
        DestState::Missing => Ok(Place::AsDest),
    }
}

/// The last component of a path as the user wrote it, and whether it asks
/// for a directory's contents (`DIR/.`). `None`: no usable name (`/`, `..`).
fn user_base(path: &str) -> (Option<OsString>, bool) {
    let contents = path == "." || path.ends_with("/.");
    let trimmed = path.trim_end_matches("/.").trim_end_matches('/');
    let base = trimmed
        .rsplit('/')
        .next()
        .filter(|b| !b.is_empty() && *b != "." && *b != "..")
        .map(OsString::from);
    (base, contents)
}

/// The parent and the last component of a symlink-free relative path
/// (`.` for the root, which has no parent: `None`).
fn split(rel: &OsStr) -> Option<(OsString, OsString)> {
    let b = rel.as_bytes();
    if b == b"." {
        return None;
    }
    Some(match b.iter().rposition(|&c| c == b'/') {
        Some(i) => (
            OsStr::from_bytes(&b[..i]).to_owned(),
            OsStr::from_bytes(&b[i + 1..]).to_owned(),
        ),
        None => (OsString::from("."), rel.to_owned()),
    })
}

/// A source, opened: the entry `name` of the directory `dir`.
struct Source {
    dir: OwnedFd,
    name: OsString,
    kind: SrcKind,
    /// The name it gets at the destination when it keeps its own.
    base: OsString,
}

impl Source {
    fn top<'a>(&'a self, place: Place, dest_name: &'a OsStr) -> Top<'a> {
        match place {
            Place::IntoDest => Top::Named(&self.base),
            Place::ContentsIntoDest => Top::Contents,
            Place::AsDest => Top::Named(dest_name),
        }
    }
}

/// A destination, opened: the directory the archive is unpacked into and
/// the name the top entry gets there.
struct Dest {
    state: DestState,
    /// The destination itself when it is a directory, else its parent.
    dir: OwnedFd,
    /// The destination's own name in its parent.
    name: OsString,
    trailing_slash: bool,
}

fn open_dir_in_root(root: BorrowedFd<'_>, rel: &OsStr) -> io::Result<OwnedFd> {
    fs::open_beneath(root, rel, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
}

/// The container-side message for a failed resolution.
fn resolve_err(container: &str, path: &str, e: &io::Error) -> ContainerError {
    match e.raw_os_error() {
        Some(libc::ENOENT) => invalid(format!(
            "{container}:{path}: no such file or directory in the container"
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
fn container_source(
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
fn container_dest(
    root: BorrowedFd<'_>,
    container: &str,
    path: &str,
) -> Result<Dest, ContainerError> {
    let trailing_slash = path.ends_with('/') && path.trim_matches('/').len() > 0;
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
fn host_source(path: &Path) -> Result<Source, ContainerError> {
    let shown = path.display().to_string();
    let real = std::fs::canonicalize(path).map_err(|e| invalid(format!("{shown}: {e}")))?;
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
fn host_dest(path: &Path) -> Result<Dest, ContainerError> {
    let shown = path.display().to_string();
    let trailing_slash = shown.ends_with('/') && shown.trim_matches('/').len() > 0;
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
fn check_replace(
    src: &Source,
    place: Place,
    dest: &Dest,
    shown_dest: &str,
    overwrite: bool,
) -> Result<(), ContainerError> {
    if overwrite || place != Place::IntoDest {
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

/// Write the source entry `name` of `dir` as a tar stream to `out`: the
/// one tar writer of `cp ... -`, `cp` itself and `export`.
pub fn write_tar<W: Write>(
    out: W,
    dir: BorrowedFd<'_>,
    name: &OsStr,
    top: Top<'_>,
    opts: &PackOptions<'_>,
) -> Result<W, ContainerError> {
    let mut b = tar::Builder::new(out);
    pack::pack_entry(&mut b, dir, name, top, opts).map_err(|e| invalid(e.to_string()))?;
    b.into_inner()
        .map_err(|e| invalid(format!("writing the archive: {e}")))
}

/// Pack `src` and unpack it into `dest` as `place` says, through an
/// in-process pipe (the packer on a second thread).
fn transfer(
    src: &Source,
    place: Place,
    dest: &Dest,
    pack_opts: &PackOptions<'_>,
    unpack_opts: &UnpackOptions,
) -> Result<(), ContainerError> {
    let top = src.top(place, &dest.name);
    let into = dest
        .dir
        .try_clone()
        .map_err(|e| invalid(format!("duplicating a descriptor: {e}")))?;
    let (w, r) = crate::engine::pipe::pipe();
    std::thread::scope(|scope| {
        let packer = scope.spawn(move || {
            let out = io::BufWriter::with_capacity(1 << 18, w);
            let mut out = write_tar(out, src.dir.as_fd(), &src.name, top, pack_opts)?;
            out.flush()
                .map_err(|e| invalid(format!("writing the archive: {e}")))
        });
        let unpacked = unpack::unpack_at(r, into, unpack_opts);
        let packed = packer
            .join()
            .unwrap_or_else(|_| Err(invalid("the archive writer panicked")));
        // A failed packer cuts the stream short: its error is the cause.
        packed?;
        unpacked.map(drop).map_err(|e| invalid(e.to_string()))
    })
}

fn unpack_mapping(maps: &IdMappings) -> IdMapping {
    let conv = |v: &[crate::idmap::IdMap]| {
        v.iter()
            .map(|m| IdRange {
                container: m.container,
                host: m.host,
                size: m.size,
            })
            .collect()
    };
    IdMapping::new(conv(&maps.uids), conv(&maps.gids))
}

/// Whether this process may create device nodes and give files away.
fn privileges() -> UnpackOptions {
    UnpackOptions {
        chown: None,
        ..UnpackOptions::for_current_process(WhiteoutMode::Keep)
    }
}

impl Engine {
    /// Copy `src` to `dest` (one of them a container path; `-` is a tar
    /// stream read from `stdin` or written to `stdout`).
    pub fn copy_files(
        &self,
        src: &CopyPath,
        dest: &CopyPath,
        opts: CopyOptions,
        stdin: Box<dyn Read + Send>,
        stdout: &mut dyn Write,
    ) -> Result<(), ContainerError> {
        use CopyPath as P;
        match (src, dest) {
            (P::Container { .. }, P::Container { .. }) => Err(invalid(
                "copying between containers is not supported: copy to the host first",
            )),
            (P::Container { container, path }, P::Host(h)) => {
                self.with_container_root(container, |rec, root| {
                    let root = fs::open_dir(root).map_err(|e| invalid(e.to_string()))?;
                    let src = container_source(root.as_fd(), container, path)?;
                    let shown = h.display().to_string();
                    let dest = host_dest(h)?;
                    let place = place(src.kind, dest.state, dest.trailing_slash, opts.overwrite, &shown)
                        .map_err(invalid)?;
                    check_replace(&src, place, &dest, &shown, opts.overwrite)?;
                    let mut uopts = privileges();
                    uopts.preserve_ownership &= !opts.archive;
                    let popts = PackOptions {
                        id_mappings: rec.config.id_mappings.as_ref(),
                    };
                    transfer(&src, place, &dest, &popts, &uopts)
                })
            }
            (P::Container { container, path }, P::Stream) => {
                self.with_container_root(container, |rec, root| {
                    let root = fs::open_dir(root).map_err(|e| invalid(e.to_string()))?;
                    let src = container_source(root.as_fd(), container, path)?;
                    let top = if src.kind.contents {
                        Top::Contents
                    } else {
                        Top::Named(&src.base)
                    };
                    let popts = PackOptions {
                        id_mappings: rec.config.id_mappings.as_ref(),
                    };
                    let mut out = write_tar(io::BufWriter::new(stdout), src.dir.as_fd(), &src.name, top, &popts)?;
                    out.flush().map_err(|e| ContainerError::Invalid(format!("writing the archive: {e}")))
                })
            }
            (P::Host(h), P::Container { container, path }) => {
                let src = host_source(h)?;
                self.with_container_root(container, |rec, root| {
                    let uopts = self.unpack_options_for(rec, root, opts.archive)?;
                    let root = fs::open_dir(root).map_err(|e| invalid(e.to_string()))?;
                    let dest = container_dest(root.as_fd(), container, path)?;
                    let shown = format!("{container}:{path}");
                    let place = place(src.kind, dest.state, dest.trailing_slash, opts.overwrite, &shown)
                        .map_err(invalid)?;
                    check_replace(&src, place, &dest, &shown, opts.overwrite)?;
                    transfer(&src, place, &dest, &PackOptions::default(), &uopts)
                })
            }
            (P::Stream, P::Container { container, path }) => {
                self.with_container_root(container, |rec, root| {
                    let uopts = self.unpack_options_for(rec, root, opts.archive)?;
                    let root = fs::open_dir(root).map_err(|e| invalid(e.to_string()))?;
                    let dest = container_dest(root.as_fd(), container, path)?;
                    if dest.state != DestState::Dir {
                        return Err(invalid(format!(
                            "{container}:{path} must be an existing directory to extract a tar stream into"
                        )));
                    }
                    let reader = crate::storage::compression::decompress(stdin)
                        .map_err(|e| invalid(format!("reading the archive: {e}")))?;
                    unpack::unpack_at(reader, dest.dir, &uopts)
                        .map(drop)
                        .map_err(|e| invalid(e.to_string()))
                })
            }
            _ => Err(invalid(
                "one of SRC and DEST must be a path in a container (CONTAINER:PATH)",
            )),
        }
    }

    /// How files copied into `rec` are unpacked: with `archive`, owned by
    /// the container's user (podman's `--archive`), else with the ids the
    /// archive gives; either through the container's own id mappings.
    fn unpack_options_for(
        &self,
        rec: &ContainerRecord,
        root: &Path,
        archive: bool,
    ) -> Result<UnpackOptions, ContainerError> {
        let maps = rec.config.id_mappings.as_ref();
        let mut o = privileges();
        o.id_mapping = maps.map(unpack_mapping);
        if archive {
            let (uid, gid) = self.container_user_ids(rec, root)?;
            let host = match maps {
                Some(m) => {
                    crate::idmap::to_host(&m.uids, uid).zip(crate::idmap::to_host(&m.gids, gid))
                }
                None => Some((uid, gid)),
            };
            o.chown = Some(host.ok_or_else(|| {
                invalid(format!(
                    "the container's user {uid}:{gid} has no id outside its user namespace"
                ))
            })?);
        }
        Ok(o)
    }

    /// The uid and gid the container's process runs as (inside it).
    fn container_user_ids(
        &self,
        rec: &ContainerRecord,
        root: &Path,
    ) -> Result<(u32, u32), ContainerError> {
        let image_user = self
            .store()
            .images()
            .get(&rec.image.id)
            .ok()
            .flatten()
            .and_then(|img| self.image_config(&img).ok())
            .and_then(|c| c.config.and_then(|r| r.user))
            .unwrap_or_default();
        // keep-id runs as the user's own ids unless told otherwise.
        let keep_id = match (&rec.config.userns, &rec.config.user) {
            (
                UserNsMode::KeepId {
                    uid: Some(u),
                    gid: Some(g),
                },
                None,
            ) => Some(format!("{u}:{g}")),
            _ => None,
        };
        let spec = keep_id
            .as_deref()
            .or(rec.config.user.as_deref())
            .unwrap_or("");
        let user = crate::runtime::spec::user::resolve(root, spec, &image_user)
            .map_err(|e| invalid(e.to_string()))?;
        Ok((user.uid, user.gid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(p: &str) -> CopyPath {
        CopyPath::Host(PathBuf::from(p))
    }

    #[test]
    fn arguments() {
        assert_eq!(CopyPath::parse("-"), CopyPath::Stream);
        assert_eq!(
            CopyPath::parse("web:/etc/hosts"),
            CopyPath::Container {
                container: "web".into(),
                path: "/etc/hosts".into()
            }
        );
        assert_eq!(CopyPath::parse("./a:b"), host("./a:b"));
        assert_eq!(CopyPath::parse("/tmp/a:b"), host("/tmp/a:b"));
        assert_eq!(CopyPath::parse("dir/a:b"), host("dir/a:b"));
        assert_eq!(CopyPath::parse("file"), host("file"));
    }

    #[test]
    fn user_names() {
        assert_eq!(user_base("/etc/hosts"), (Some("hosts".into()), false));
        assert_eq!(user_base("/etc/"), (Some("etc".into()), false));
        assert_eq!(user_base("/etc/."), (Some("etc".into()), true));
        assert_eq!(user_base("/"), (None, false));
        assert_eq!(user_base("."), (None, true));
        assert_eq!(user_base("a/.."), (None, false));
        assert_eq!(split(OsStr::new(".")), None);
        assert_eq!(
            split(OsStr::new("a/b")),
            Some((OsString::from("a"), OsString::from("b")))
        );
        assert_eq!(
            split(OsStr::new("b")),
            Some((OsString::from("."), OsString::from("b")))
        );
    }

    #[test]
    fn placement_follows_podman() {
        let file = SrcKind {
            is_dir: false,
            contents: false,
        };
        let dir = SrcKind {
            is_dir: true,
            contents: false,
        };
        let contents = SrcKind {
            is_dir: true,
            contents: true,
        };
        let p = |s, d, slash| place(s, d, slash, false, "D");
        assert_eq!(p(file, DestState::Dir, false), Ok(Place::IntoDest));
        assert_eq!(p(dir, DestState::Dir, false), Ok(Place::IntoDest));
        assert_eq!(
            p(contents, DestState::Dir, false),
            Ok(Place::ContentsIntoDest)
        );
        assert_eq!(p(file, DestState::NonDir, false), Ok(Place::AsDest));
        assert!(p(file, DestState::NonDir, true).is_err());
        assert!(p(dir, DestState::NonDir, false).is_err());
        assert_eq!(
            place(dir, DestState::NonDir, false, true, "D"),
            Ok(Place::AsDest)
        );
        assert_eq!(p(file, DestState::Missing, false), Ok(Place::AsDest));
        assert!(p(file, DestState::Missing, true).is_err());
        assert_eq!(p(dir, DestState::Missing, true), Ok(Place::AsDest));
        assert_eq!(p(contents, DestState::Missing, false), Ok(Place::AsDest));
    }
}
