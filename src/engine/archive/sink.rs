//! Where `save` writes an archive's files: into a tar stream, or into a
//! directory (an OCI layout). Every file is written with exactly the size
//! announced for it; a short or long source is an error, never a corrupt
//! archive.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Receives the files of an archive.
pub trait Sink {
    /// Add `name` with `size` bytes read from `data`.
    fn add_file(&mut self, name: &str, size: u64, data: &mut dyn Read) -> io::Result<()>;

    fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.add_file(name, bytes.len() as u64, &mut &bytes[..])
    }

    fn add_symlink(&mut self, name: &str, target: &str) -> io::Result<()>;

    fn add_dir(&mut self, name: &str) -> io::Result<()>;

    /// Whether `name` is already there (content-addressed files are then
    /// not written again).
    fn has(&self, _name: &str) -> bool {
        false
    }
}

/// Yields exactly `size` bytes of `inner`; an early end is an error.
struct Exact<'a> {
    inner: &'a mut dyn Read,
    remaining: u64,
}

impl Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the data ended {} bytes early", self.remaining),
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Give `consume` exactly `size` bytes of `data` to read, and make sure
/// `data` has no more.
fn exactly(
    name: &str,
    size: u64,
    data: &mut dyn Read,
    consume: impl FnOnce(&mut dyn Read) -> io::Result<()>,
) -> io::Result<()> {
    consume(&mut Exact {
        inner: data,
        remaining: size,
    })?;
    let mut extra = [0u8; 1];
    if data.read(&mut extra)? != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{name} is longer than its {size} bytes"),
        ));
    }
    Ok(())
}

/// A tar stream, entries owned by root with time 0 (archives of the same
/// image are identical).
pub struct TarSink<W: Write> {
    builder: tar::Builder<W>,
}

impl<W: Write> TarSink<W> {
    pub fn new(out: W) -> Self {
        Self {
            builder: tar::Builder::new(out),
        }
    }

    /// Write the end-of-archive marker and return the stream.
    pub fn finish(self) -> io::Result<W> {
        self.builder.into_inner()
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h
    }
}

impl<W: Write> Sink for TarSink<W> {
    fn add_file(&mut self, name: &str, size: u64, data: &mut dyn Read) -> io::Result<()> {
        let mut h = Self::header(tar::EntryType::Regular, 0o644, size);
        exactly(name, size, data, |exact| {
            self.builder.append_data(&mut h, name, exact)
        })
    }

    fn add_symlink(&mut self, name: &str, target: &str) -> io::Result<()> {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, 0);
        self.builder.append_link(&mut h, name, target)
    }

    fn add_dir(&mut self, name: &str) -> io::Result<()> {
        let mut h = Self::header(tar::EntryType::Directory, 0o755, 0);
        self.builder.append_data(&mut h, name, io::empty())
    }
}

/// A directory; each file appears complete (written aside, then renamed).
pub struct DirSink {
    root: PathBuf,
}

impl DirSink {
    pub fn create(root: &Path) -> io::Result<Self> {
        fs::create_dir_all(root)?;
        Ok(Self {
            root: root.to_owned(),
        })
    }
}

impl Sink for DirSink {
    fn add_file(&mut self, name: &str, size: u64, data: &mut dyn Read) -> io::Result<()> {
        let dest = self.root.join(name);
        let dir = dest.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".skiff-")
            .tempfile_in(dir)?;
        {
            let mut w = io::BufWriter::new(tmp.as_file_mut());
            exactly(name, size, data, |exact| io::copy(exact, &mut w).map(drop))?;
            w.flush()?;
        }
        tmp.as_file().sync_data()?;
        set_mode(tmp.path(), 0o644)?;
        tmp.persist(&dest).map_err(|e| e.error)?;
        Ok(())
    }

    fn add_symlink(&mut self, name: &str, target: &str) -> io::Result<()> {
        let dest = self.root.join(name);
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir)?;
        }
        std::os::unix::fs::symlink(target, dest)
    }

    fn add_dir(&mut self, name: &str) -> io::Result<()> {
        fs::create_dir_all(self.root.join(name))
    }

    fn has(&self, name: &str) -> bool {
        self.root.join(name).is_file()
    }
}

/// Set a file's permission bits.
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_enforced() {
        let mut t = TarSink::new(Vec::new());
        t.add_bytes("a", b"abc").expect("exact");
        let short = t.add_file("b", 5, &mut &b"abc"[..]).expect_err("short");
        assert_eq!(short.kind(), io::ErrorKind::UnexpectedEof);
        let mut t = TarSink::new(Vec::new());
        let long = t.add_file("c", 2, &mut &b"abc"[..]).expect_err("long");
        assert_eq!(long.kind(), io::ErrorKind::InvalidData);

        let d = tempfile::tempdir().expect("tempdir");
        let mut s = DirSink::create(&d.path().join("out")).expect("dir");
        s.add_bytes("blobs/sha256/x", b"abc").expect("write");
        assert!(s.has("blobs/sha256/x"));
        assert!(s.add_file("y", 9, &mut &b"abc"[..]).is_err());
        assert!(!s.has("y"));
    }
}
