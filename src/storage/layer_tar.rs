//! A container's changes written as an OCI layer (image-spec layer.md): the
//! changed and added files with their parent directories, `.wh.NAME` for
//! each deletion and `.wh..wh..opq` in each opaque directory. Owners are
//! the container's ids; extended attributes (file capabilities, user
//! attributes) travel as PAX `SCHILY.xattr.*` records, overlayfs' own
//! never.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::storage::changes::{
    Change, ChangeKind, FsRoot, Kind, Owners, OPAQUE_MARKER, WHITEOUT_PREFIX,
};

/// What goes into the layer at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Emit {
    /// The file (or directory) as the source tree has it.
    Entry,
    /// An empty whiteout file.
    Marker,
}

/// Write `changes`, with content from `source`, as an uncompressed layer
/// tar into `out`; returns `out`. A file that vanished since the changes
/// were listed is left out; one that shrank is padded (a running container
/// that was not paused may change its files meanwhile).
pub fn write_layer<W: Write>(
    changes: &[Change],
    source: &FsRoot,
    owners: &Owners,
    out: W,
) -> io::Result<W> {
    let mut plan: BTreeMap<PathBuf, Emit> = BTreeMap::new();
    let ancestors = |plan: &mut BTreeMap<PathBuf, Emit>, p: &Path| {
        for a in p.ancestors().skip(1) {
            if a.as_os_str().is_empty() {
                break;
            }
            plan.entry(a.to_owned()).or_insert(Emit::Entry);
        }
    };
    for c in changes {
        match c.kind {
            ChangeKind::Added | ChangeKind::Modified => {
                ancestors(&mut plan, &c.path);
                plan.insert(c.path.clone(), Emit::Entry);
                if c.opaque {
                    plan.insert(c.path.join(OPAQUE_MARKER), Emit::Marker);
                }
            }
            ChangeKind::Deleted if c.implied => {}
            ChangeKind::Deleted => {
                ancestors(&mut plan, &c.path);
                let Some(name) = c.path.file_name() else {
                    continue;
                };
                let mut wh = OsString::from(WHITEOUT_PREFIX);
                wh.push(name);
                let at = c.path.parent().map_or_else(PathBuf::new, |p| p.join(&wh));
                plan.insert(at, Emit::Marker);
            }
        }
    }
    let mut w = Writer {
        source,
        owners,
        builder: tar::Builder::new(out),
        links: HashMap::new(),
    };
    for (path, emit) in &plan {
        match emit {
            Emit::Entry => w.entry(path)?,
            Emit::Marker => w.marker(path)?,
        }
    }
    w.builder.into_inner()
}

struct Writer<'a, W: Write> {
    source: &'a FsRoot,
    owners: &'a Owners,
    builder: tar::Builder<W>,
    /// (device, inode) of files with several links -> the first path
    /// written, which later ones link to.
    links: HashMap<(u64, u64), PathBuf>,
}

impl<W: Write> Writer<'_, W> {
    fn marker(&mut self, path: &Path) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(0);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        self.builder.append_data(&mut h, path, io::empty())
    }

    fn entry(&mut self, path: &Path) -> io::Result<()> {
        let Some(st) = self.source.lstat(path)? else {
            return Ok(());
        };
        let kind = Kind::of(&st);
        if kind == Kind::Socket {
            tracing::debug!("/{}: sockets cannot be in a layer", path.display());
            return Ok(());
        }
        let (uid, gid) = self.owners.of(&st);
        let mut h = tar::Header::new_gnu();
        h.set_mode(st.st_mode & 0o7777);
        h.set_uid(u64::from(uid));
        h.set_gid(u64::from(gid));
        h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
        h.set_size(0);
        let xattrs = self.source.layer_xattrs(path, kind)?;
        if !xattrs.is_empty() {
            self.pax(&xattrs)?;
        }
        match kind {
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                let mut name = path.as_os_str().to_owned();
                name.push("/");
                self.builder.append_data(&mut h, name, io::empty())
            }
            Kind::File => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev, st.st_ino);
                    if let Some(first) = self.links.get(&key) {
                        h.set_entry_type(tar::EntryType::Link);
                        let first = first.clone();
                        return self.builder.append_link(&mut h, path, first);
                    }
                    self.links.insert(key, path.to_owned());
                }
                let size = u64::try_from(st.st_size).unwrap_or(0);
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(size);
                let file = self.source.open_file(path)?;
                let data = Padded {
                    inner: io::BufReader::with_capacity(1 << 20, file).take(size),
                    left: size,
                };
                self.builder.append_data(&mut h, path, data)
            }
            Kind::Symlink => {
                h.set_entry_type(tar::EntryType::Symlink);
                let target = self.source.readlink(path)?;
                self.builder.append_link(&mut h, path, target)
            }
            Kind::Char | Kind::Block | Kind::Fifo => {
                h.set_entry_type(match kind {
                    Kind::Char => tar::EntryType::Char,
                    Kind::Block => tar::EntryType::Block,
                    _ => tar::EntryType::Fifo,
                });
                if kind != Kind::Fifo {
                    let major = u32::try_from(nix::sys::stat::major(st.st_rdev)).unwrap_or(0);
                    let minor = u32::try_from(nix::sys::stat::minor(st.st_rdev)).unwrap_or(0);
                    h.set_device_major(major)?;
                    h.set_device_minor(minor)?;
                }
                self.builder.append_data(&mut h, path, io::empty())
            }
            Kind::Socket => Ok(()),
        }
    }

    /// A PAX extended header with the attributes of the entry that follows.
    fn pax(&mut self, xattrs: &[(OsString, Vec<u8>)]) -> io::Result<()> {
        let mut records = Vec::new();
        for (name, value) in xattrs {
            let mut key = b"SCHILY.xattr.".to_vec();
            key.extend_from_slice(name.as_bytes());
            records.extend(pax_record(&key, value));
        }
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_path("././@PaxHeader")?;
        h.set_mode(0o644);
        h.set_size(records.len() as u64);
        h.set_mtime(0);
        h.set_cksum();
        self.builder.append(&h, records.as_slice())
    }
}

/// One PAX record: `LEN key=value\n`, LEN counting the whole record,
/// itself included.
fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // space, '=', newline
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    let mut out = format!("{len} ").into_bytes();
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

/// Exactly `left` bytes: the inner reader's, then zeros if it ends early.
struct Padded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Padded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = match self.inner.read(&mut buf[..max])? {
            0 => {
                buf[..max].fill(0);
                max
            }
            n => n,
        };
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        let r = pax_record(b"SCHILY.xattr.user.a", b"v");
        let text = String::from_utf8(r.clone()).expect("utf8");
        let (len, _) = text.split_once(' ').expect("space");
        assert_eq!(len.parse::<usize>().expect("number"), r.len());
        // Crossing a power of ten in the length itself.
        let long = vec![b'x'; 90];
        let r = pax_record(b"k", &long);
        let text = String::from_utf8(r.clone()).expect("utf8");
        let (len, _) = text.split_once(' ').expect("space");
        assert_eq!(len.parse::<usize>().expect("number"), r.len());
    }

    #[test]
    fn short_files_are_padded_to_their_size() {
        let mut out = Vec::new();
        Padded {
            inner: &b"ab"[..],
            left: 4,
        }
        .read_to_end(&mut out)
        .expect("read");
        assert_eq!(out, b"ab\0\0");
    }
}
