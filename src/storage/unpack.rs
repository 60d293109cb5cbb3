//! Unpacking one OCI layer (an uncompressed tar stream) into a directory of
//! the store, safely and fast.
//!
//! Safety: every entry is created relative to descriptors of directories
//! opened without following symlinks, starting from a descriptor of the
//! destination; names are cleaned first (a leading `/` is relative to the
//! layer root, `..` may not climb above it). A symlink in the parent path of
//! an entry, or in a hardlink target, fails the unpack instead of being
//! followed. overlayfs' own xattrs in the archive are dropped, so a layer
//! cannot forge whiteouts, redirects or metacopy files.
//!
//! Whiteouts follow the layer section of the OCI image spec, either turned
//! into overlayfs whiteouts ([`WhiteoutMode::Overlay`]) or applied to a full
//! copy of the parent layer ([`WhiteoutMode::Apply`], for the vfs driver).
//!
//! Speed: the stream is read (and so decompressed) on a second, scoped
//! thread while this one writes files; five system calls per regular file
//! (open, write, chown, times, close), one reusable 1 MiB buffer, no fsync
//! (call [`sync_tree`] once at the end), directory modes and times set once
//! after all children are written.

mod cursor;
mod entry;
mod error;
mod idmap;
mod options;
mod path;
mod readahead;
mod whiteout;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::sys;
use crate::sys::fs::Timestamp;
use cursor::DirCursor;

pub use error::{MetadataStep, UnpackError};
pub use idmap::{IdMapping, IdRange};
pub use options::{OverlayXattr, UnpackOptions, UnpackStats, WhiteoutMode};

/// A relative entry path for an error message.
fn show(path: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(path))
}

/// Size of the buffer file contents go through.
const DATA_BUFFER: usize = 1 << 20;

/// Unpack the uncompressed tar stream `reader` into `dest`, an existing
/// (normally empty) directory. `reader` is read on a second, scoped thread
/// (so a decompressor wrapped in it runs alongside the file writes), always
/// to its end, so a digest computed by a wrapping reader covers it all.
pub fn unpack_layer(
    reader: impl Read + Send,
    dest: &Path,
    opts: &UnpackOptions,
) -> Result<UnpackStats, UnpackError> {
    let root = sys::fs::open_dir(dest).map_err(|source| UnpackError::OpenDest {
        path: dest.to_owned(),
        source,
    })?;
    unpack_at(reader, root, opts)
}

/// Unpack the uncompressed tar stream `reader` below the directory `dest`
/// (a descriptor, so a caller that resolved it safely inside an untrusted
/// tree keeps that guarantee): the same rules as [`unpack_layer`], entries
/// created only below `dest`, never through a symlink. Files copied into a
/// container (`skiff cp`) go this way.
pub fn unpack_at(
    reader: impl Read + Send,
    dest: std::os::fd::OwnedFd,
    opts: &UnpackOptions,
) -> Result<UnpackStats, UnpackError> {
    let mut u = Unpacker::new(DirCursor::new(dest), opts);
    readahead::with_read_ahead(reader, |stream| {
        let mut archive = tar::Archive::new(stream);
        let entries = archive
            .entries()
            .map_err(|source| UnpackError::Tar { source })?;
        for entry in entries {
            let mut entry = entry.map_err(|source| UnpackError::Tar { source })?;
            u.entry(&mut entry)?;
        }
        u.finish()?;
        // Whatever follows the end-of-archive blocks (padding to the record
        // size) is part of a layer's digest.
        io::copy(&mut archive.into_inner(), &mut io::sink())
            .map_err(|source| UnpackError::Tar { source })?;
        Ok(())
    })?;
    Ok(u.stats)
}

/// Flush the file system holding `dest` to disk: one `syncfs(2)` instead of
/// an fsync per file, for the store to call before it records the layer.
pub fn sync_tree(dest: &Path) -> Result<(), UnpackError> {
    let err = |source| UnpackError::Sync {
        path: dest.to_owned(),
        source,
    };
    let fd = sys::fs::open_dir(dest).map_err(err)?;
    sys::syncfs(std::os::fd::AsFd::as_fd(&fd)).map_err(err)
}

/// A directory's mode and times, applied once all its children exist.
struct DirFixup {
    path: Box<[u8]>,
    mode: u32,
    atime: Timestamp,
    mtime: Timestamp,
}

/// Metadata of one entry, from its header and PAX records.
struct Meta {
    /// Host ids to chown to; `None` leaves the unpacking user's.
    owner: Option<(u32, u32)>,
    mode: u32,
    atime: Timestamp,
    mtime: Timestamp,
    /// The entry carries `SCHILY.xattr.*` records.
    xattrs: bool,
}

/// The state of one unpack.
struct Unpacker<'o> {
    opts: &'o UnpackOptions,
    cursor: DirCursor,
    /// File content goes through here.
    buf: Vec<u8>,
    /// The current entry's cleaned path (reused between entries).
    path: Vec<u8>,
    /// The current hardlink's cleaned target (reused).
    link: Vec<u8>,
    dirs: Vec<DirFixup>,
    /// Paths this layer created, and their ancestors (only for
    /// [`WhiteoutMode::Apply`], where opaque markers must spare them).
    created: Option<HashSet<Box<[u8]>>>,
    /// The process umask; `None` if unknown (then modes are always set).
    umask: Option<u32>,
    /// Owner for directories the archive does not list.
    implicit_owner: Option<(u32, u32)>,
    /// The kernel refused 0:0 device whiteouts; use xattr whiteouts.
    xwhiteouts: bool,
    stats: UnpackStats,
}

impl<'o> Unpacker<'o> {
    fn new(cursor: DirCursor, opts: &'o UnpackOptions) -> Self {
        let implicit_owner = match (&opts.id_mapping, opts.preserve_ownership) {
            _ if !opts.preserve_ownership => None,
            _ if opts.chown.is_some() => opts.chown,
            (Some(m), true) => m.map_uid(0).zip(m.map_gid(0)),
            _ => None,
        };
        Unpacker {
            opts,
            cursor,
            buf: vec![0; DATA_BUFFER],
            path: Vec::with_capacity(256),
            link: Vec::with_capacity(256),
            dirs: Vec::new(),
            created: matches!(opts.whiteouts, WhiteoutMode::Apply).then(HashSet::new),
            umask: sys::user::umask(),
            implicit_owner,
            xwhiteouts: false,
            stats: UnpackStats::default(),
        }
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() {
            tracing::debug!("ignoring a global PAX header in a layer");
            return Ok(());
        }
        self.stats.entries += 1;
        let mut path = std::mem::take(&mut self.path);
        let res = self.entry_at(entry, kind, &mut path);
        self.path = path;
        res
    }

    fn entry_at<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        kind: tar::EntryType,
        path: &mut Vec<u8>,
    ) -> Result<(), UnpackError> {
        {
            let raw = entry.path_bytes();
            path::clean(&raw, path)
                .map_err(|path::Escape| UnpackError::Escape { path: show(&raw) })?;
        }
        let meta = self.meta(entry, path)?;
        let (parent, name) = path::split_parent(path);
        let class = match self.opts.whiteouts {
            WhiteoutMode::Keep => path::Name::Plain,
            _ => path::classify(name),
        };
        match class {
            path::Name::Plain => {}
            path::Name::Opaque => return self.opaque(parent, path),
            path::Name::Whiteout(target) => return self.whiteout(parent, target, path, &meta),
            path::Name::AufsMeta => {
                tracing::debug!(path = %show(path).display(), "skipping aufs metadata entry");
                return Ok(());
            }
        }
        use tar::EntryType as T;
        match kind {
            T::Directory => self.directory(parent, name, path, &meta, entry)?,
            _ if name.is_empty() => return Err(UnpackError::InvalidName { path: show(path) }),
            T::Regular | T::Continuous | T::GNUSparse => {
                self.regular(parent, name, path, &meta, entry)?
            }
            T::Symlink => self.symlink(parent, name, path, &meta, entry)?,
            T::Link => self.hardlink(parent, name, path, entry)?,
            T::Char | T::Block | T::Fifo => self.node(parent, name, path, &meta, entry, kind)?,
            other => {
                return Err(UnpackError::Unsupported {
                    path: show(path),
                    kind: char::from(other.as_byte()),
                })
            }
        }
        if let Some(created) = &mut self.created {
            note_created(created, path);
        }
        Ok(())
    }

    fn meta<R: Read>(
        &self,
        entry: &mut tar::Entry<'_, R>,
        path: &[u8],
    ) -> Result<Meta, UnpackError> {
        let bad = |source| UnpackError::Header {
            path: show(path),
            source,
        };
        let h = entry.header();
        let mode = h.mode().map_err(bad)? & 0o7777;
        let uid = h.uid().map_err(bad)?;
        let gid = h.gid().map_err(bad)?;
        let secs = i64::try_from(h.mtime().map_err(bad)?).unwrap_or(i64::MAX);
        let mut mtime = Timestamp { secs, nanos: 0 };
        let mut atime = None;
        let mut xattrs = false;
        if let Some(exts) = entry.pax_extensions().map_err(bad)? {
            for ext in exts {
                let ext = ext.map_err(bad)?;
                match ext.key_bytes() {
                    b"mtime" => mtime = parse_pax_time(ext.value_bytes()).unwrap_or(mtime),
                    b"atime" => atime = parse_pax_time(ext.value_bytes()),
                    k if k.starts_with(XATTR_PREFIX) => xattrs = true,
                    _ => {}
                }
            }
        }
        let owner = if !self.opts.preserve_ownership {
            None
        } else if let Some(fixed) = self.opts.chown {
            Some(fixed)
        } else {
            let (u, g) = (id32(uid, "uid", path)?, id32(gid, "gid", path)?);
            match &self.opts.id_mapping {
                None => Some((u, g)),
                Some(m) => {
                    let unmapped = |kind, id| UnpackError::Unmapped {
                        path: show(path),
                        kind,
                        id,
                    };
                    let hu = m.map_uid(u).ok_or_else(|| unmapped("uid", uid))?;
                    let hg = m.map_gid(g).ok_or_else(|| unmapped("gid", gid))?;
                    Some((hu, hg))
                }
            }
        };
        Ok(Meta {
            owner,
            mode,
            atime: atime.unwrap_or(mtime),
            mtime,
            xattrs,
        })
    }

    /// Give directories their modes and times, now that nothing more will
    /// be created in them. Deepest last-listed first, so that a directory
    /// losing its search permission does not block its children.
    fn finish(&mut self) -> Result<(), UnpackError> {
        let dirs = std::mem::take(&mut self.dirs);
        // A directory listed twice takes its last entry's metadata.
        let mut done: HashSet<&[u8]> = HashSet::with_capacity(dirs.len());
        for d in dirs.iter().rev() {
            if !done.insert(&d.path) {
                continue;
            }
            // Gone (whited out), replaced by a non-directory or a symlink:
            // nothing to fix up.
            let Ok(Some(fd)) = self.cursor.enter(&d.path, cursor::Missing::Skip) else {
                continue;
            };
            let err = |step| {
                let path = show(&d.path);
                move |source| UnpackError::Metadata { path, step, source }
            };
            sys::fs::fchmod(fd, d.mode).map_err(err(MetadataStep::Mode))?;
            sys::fs::futimens(fd, d.atime, d.mtime).map_err(err(MetadataStep::Times))?;
        }
        Ok(())
    }
}

/// PAX xattr records (`SCHILY.xattr.<name>`), as GNU tar and Go write them.
const XATTR_PREFIX: &[u8] = b"SCHILY.xattr.";

fn id32(id: u64, kind: &'static str, path: &[u8]) -> Result<u32, UnpackError> {
    u32::try_from(id).map_err(|_| UnpackError::Unmapped {
        path: show(path),
        kind,
        id,
    })
}

/// A PAX time: decimal seconds with an optional fraction, maybe negative.
fn parse_pax_time(v: &[u8]) -> Option<Timestamp> {
    let s = std::str::from_utf8(v).ok()?.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let mut nanos: u32 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    Some(if !neg {
        Timestamp { secs, nanos }
    } else if nanos == 0 {
        Timestamp {
            secs: -secs,
            nanos: 0,
        }
    } else {
        Timestamp {
            secs: -secs - 1,
            nanos: 1_000_000_000 - nanos,
        }
    })
}

/// Remember that this layer made `path`, and so all its ancestors.
fn note_created(created: &mut HashSet<Box<[u8]>>, path: &[u8]) {
    if !created.insert(path.into()) {
        return;
    }
    let mut p = path;
    while let Some(i) = p.iter().rposition(|&b| b == b'/') {
        p = &p[..i];
        if !created.insert(p.into()) {
            break;
        }
    }
}
