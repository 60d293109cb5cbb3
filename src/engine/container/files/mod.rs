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

mod ends;
mod place;

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

use ends::{check_replace, container_dest, container_source, host_dest, host_source, Dest, Source};
use place::{place, DestState, Place};

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::idmap::IdMappings;
use crate::state::container::{ContainerRecord, MountSpec};
use crate::storage::pack::{self, PackOptions, Top};
use crate::storage::unpack::{self, IdMapping, IdRange, UnpackOptions, WhiteoutMode};
use crate::sys::fs;

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

pub(super) fn invalid(msg: impl Into<String>) -> ContainerError {
    ContainerError::Invalid(msg.into())
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
            (
                P::Container {
                    container: from,
                    path: from_path,
                },
                P::Container { container, path },
            ) => self.with_container_root(from, |src_rec, src_root| {
                let src = self.open_source(src_rec, src_root, from, from_path)?;
                // The ids the first container sees, given to the second
                // through its own mappings.
                let popts = PackOptions {
                    id_mappings: src_rec.config.id_mappings.as_ref(),
                };
                self.copy_into(&src, &popts, container, path, opts)
            }),
            (P::Container { container, path }, P::Host(h)) => {
                self.with_container_root(container, |rec, root| {
                    let src = self.open_source(rec, root, container, path)?;
                    let shown = h.display().to_string();
                    let dest = host_dest(h)?;
                    let place = place(src.kind, dest.state, dest.trailing_slash, opts.overwrite, &shown)
                        .map_err(invalid)?;
                    check_replace(&src, place, &dest, &shown, opts.overwrite)?;
                    let mut uopts = privileges();
                    uopts.preserve_ownership &= !opts.archive;
                    // A device node a container made stays in the
                    // container (podman ignores them too).
                    uopts.can_mknod = false;
                    let popts = PackOptions {
                        id_mappings: rec.config.id_mappings.as_ref(),
                    };
                    transfer(&src, place, &dest, &popts, &uopts)
                })
            }
            (P::Container { container, path }, P::Stream) => {
                self.with_container_root(container, |rec, root| {
                    let src = self.open_source(rec, root, container, path)?;
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
                self.copy_into(&src, &PackOptions::default(), container, path, opts)
            }
            (P::Stream, P::Container { container, path }) => {
                self.with_container_root(container, |rec, root| {
                    let uopts = self.unpack_options_for(rec, root, opts.archive)?;
                    let (base, inner) = self.container_view(rec, root, path)?;
                    let root = fs::open_dir(&base).map_err(|e| invalid(e.to_string()))?;
                    let dest = container_dest(root.as_fd(), container, &inner)?;
                    if dest.state != DestState::Dir {
                        return Err(invalid(format!(
                            "destination must be a directory when copying from stdin: {container}:{path} is not an existing directory"
                        )));
                    }
                    let reader = crate::storage::compression::decompress(stdin)
                        .map_err(|e| invalid(format!("reading the archive: {e}")))?;
                    unpack::unpack_at(reader, dest.dir, &uopts).map(drop).map_err(|e| {
                        match e {
                            unpack::UnpackError::Tar { .. } => invalid(format!(
                                "source must be a (compressed) tar archive when copying from stdin: {e}"
                            )),
                            e => invalid(e.to_string()),
                        }
                    })
                })
            }
            _ => Err(invalid(
                "one of SRC and DEST must be a path in a container (CONTAINER:PATH)",
            )),
        }
    }

    /// The source `path` of container `rec` (root file system at `root`).
    fn open_source(
        &self,
        rec: &ContainerRecord,
        root: &Path,
        container: &str,
        path: &str,
    ) -> Result<Source, ContainerError> {
        let (base, path) = self.container_view(rec, root, path)?;
        let dir = fs::open_dir(&base).map_err(|e| invalid(e.to_string()))?;
        container_source(dir.as_fd(), container, &path)
    }

    /// Copy `src` (packed with `popts`) to `path` of `container`.
    fn copy_into(
        &self,
        src: &Source,
        popts: &PackOptions<'_>,
        container: &str,
        path: &str,
        opts: CopyOptions,
    ) -> Result<(), ContainerError> {
        self.with_container_root(container, |rec, root| {
            let uopts = self.unpack_options_for(rec, root, opts.archive)?;
            let shown = format!("{container}:{path}");
            let (base, path) = self.container_view(rec, root, path)?;
            let dir = fs::open_dir(&base).map_err(|e| invalid(e.to_string()))?;
            let dest = container_dest(dir.as_fd(), container, &path)?;
            let place = place(
                src.kind,
                dest.state,
                dest.trailing_slash,
                opts.overwrite,
                &shown,
            )
            .map_err(invalid)?;
            check_replace(src, place, &dest, &shown, opts.overwrite)?;
            transfer(src, place, &dest, popts, &uopts)
        })
    }

    /// Where `path` of container `rec` is reached: a relative path is in
    /// the container's working directory; a running container is seen
    /// through its own root (`/proc/PID/root`, with every mount it has:
    /// tmpfs, volumes, binds); a stopped one through its root file system
    /// at `root` and its volume and bind mounts.
    fn container_view(
        &self,
        rec: &ContainerRecord,
        root: &Path,
        path: &str,
    ) -> Result<(PathBuf, String), ContainerError> {
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            let workdir = rec
                .config
                .workdir
                .clone()
                .or_else(|| {
                    let image = self.store().images().get(&rec.image.id).ok().flatten()?;
                    self.image_config(&image).ok()?.config?.working_dir
                })
                .filter(|w| w.starts_with('/'))
                .unwrap_or_else(|| "/".to_string());
            format!("{}/{path}", workdir.trim_end_matches('/'))
        };
        if let Some(pid) = rec.state.pid.filter(|_| rec.state.status.is_live()) {
            let own = PathBuf::from(format!("/proc/{pid}/root"));
            if fs::open_dir(&own).is_ok() {
                return Ok((own, path));
            }
        }
        self.mount_root(rec, root, &path)
    }

    /// Where `path` of container `rec` (root file system at `root`) lives:
    /// in the volume or bind mount whose destination holds it (the deepest
    /// one), else in the root file system; and the path below that. The
    /// match is on the path as written, as the mounts are.
    fn mount_root(
        &self,
        rec: &ContainerRecord,
        root: &Path,
        path: &str,
    ) -> Result<(PathBuf, String), ContainerError> {
        let parts = |p: &str| -> Vec<String> {
            p.split('/')
                .filter(|c| !c.is_empty() && *c != ".")
                .map(str::to_string)
                .collect()
        };
        let want = parts(path);
        let whole = (root.to_path_buf(), path.to_string());
        if want.iter().any(|c| c == "..") {
            return Ok(whole);
        }
        let mut best: Option<(usize, PathBuf)> = None;
        for m in &rec.config.mounts {
            let source = match m {
                MountSpec::Bind { source, .. } => source.clone(),
                MountSpec::Volume { name, .. } => self.volumes()?.data_dir(name),
                _ => continue,
            };
            let dest = parts(m.destination());
            let deeper = best.as_ref().is_none_or(|(n, _)| dest.len() > *n);
            if want.starts_with(&dest) && deeper && !dest.is_empty() {
                best = Some((dest.len(), source));
            }
        }
        Ok(match best {
            Some((n, source)) => {
                let mut inner = format!("/{}", want[n..].join("/"));
                // `DIR/.` (the contents) and `DIR/` (a directory) keep
                // their meaning.
                if path.ends_with("/.") || path == "." {
                    inner.push_str(if inner.ends_with('/') { "." } else { "/." });
                } else if path.ends_with('/') && !inner.ends_with('/') {
                    inner.push('/');
                }
                (source, inner)
            }
            None => whole,
        })
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
        let wanted = crate::engine::container::spec::requested_user(&rec.config);
        let spec = wanted.as_deref().unwrap_or("");
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
}
