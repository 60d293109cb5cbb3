//! Content-addressed blobs (`blobs/sha256/<hex>`): compressed layers, image
//! configs and manifests, each stored once, verified as it is written.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::image::digest::{Digest, DigestWriter};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("writing blob {digest}: {source}")]
    Write {
        digest: Digest,
        #[source]
        source: io::Error,
    },
    #[error("blob {expected} failed verification: its content has digest {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("blob {digest} is truncated: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("reading blob {digest}: {source}")]
    Read {
        digest: Digest,
        #[source]
        source: io::Error,
    },
}

/// The blob directory of a store.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
    tmp: PathBuf,
}

impl BlobStore {
    pub fn new(dir: PathBuf, tmp: PathBuf) -> Self {
        Self { dir, tmp }
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).exists()
    }

    pub fn open(&self, digest: &Digest) -> Result<File, BlobError> {
        File::open(self.path(digest)).map_err(|source| BlobError::Read {
            digest: digest.clone(),
            source,
        })
    }

    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, BlobError> {
        std::fs::read(self.path(digest)).map_err(|source| BlobError::Read {
            digest: digest.clone(),
            source,
        })
    }

    /// Size in bytes of a stored blob.
    pub fn size(&self, digest: &Digest) -> Result<u64, BlobError> {
        std::fs::metadata(self.path(digest))
            .map(|m| m.len())
            .map_err(|source| BlobError::Read {
                digest: digest.clone(),
                source,
            })
    }

    /// Start writing a blob that must have `digest` (and `size`, when known).
    pub fn writer(&self, digest: &Digest, size: Option<u64>) -> Result<BlobWriter, BlobError> {
        let file = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(&self.tmp)
            .map_err(|source| BlobError::Write {
                digest: digest.clone(),
                source,
            })?;
        Ok(BlobWriter {
            expected: digest.clone(),
            size,
            dest: self.path(digest),
            inner: DigestWriter::new(io::BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// Store `bytes` under their digest; returns it.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest, BlobError> {
        let digest = Digest::of(bytes);
        if !self.contains(&digest) {
            let mut w = self.writer(&digest, Some(bytes.len() as u64))?;
            w.write_all(bytes).map_err(|source| BlobError::Write {
                digest: digest.clone(),
                source,
            })?;
            w.commit()?;
        }
        Ok(digest)
    }

    /// Copy a blob from `reader`, verifying it.
    pub fn put_from(
        &self,
        digest: &Digest,
        size: Option<u64>,
        reader: &mut dyn Read,
    ) -> Result<(), BlobError> {
        let mut w = self.writer(digest, size)?;
        io::copy(reader, &mut w).map_err(|source| BlobError::Write {
            digest: digest.clone(),
            source,
        })?;
        w.commit()
    }

    /// Start writing a blob whose digest is known only once it is
    /// written (a layer skiff makes itself); see [`NewBlob::commit`].
    pub fn new_blob(&self) -> io::Result<NewBlob> {
        let file = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(&self.tmp)?;
        Ok(NewBlob {
            dir: self.dir.clone(),
            inner: DigestWriter::new(io::BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// Digests of all stored blobs.
    pub fn list(&self) -> io::Result<Vec<Digest>> {
        super::digests_in(&self.dir, "")
    }

    pub fn remove(&self, digest: &Digest) -> io::Result<()> {
        match std::fs::remove_file(self.path(digest)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// A blob being written; it appears in the store only on a verified
/// [`BlobWriter::commit`]. Dropped uncommitted, it leaves nothing behind.
pub struct BlobWriter {
    expected: Digest,
    size: Option<u64>,
    dest: PathBuf,
    inner: DigestWriter<io::BufWriter<tempfile::NamedTempFile>>,
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl BlobWriter {
    pub fn written(&self) -> u64 {
        self.inner.written()
    }

    /// Verify digest and size, sync, and move the blob into place.
    pub fn commit(self) -> Result<(), BlobError> {
        let written = self.inner.written();
        let (actual, buf) = self.inner.finish();
        let werr = |source| BlobError::Write {
            digest: self.expected.clone(),
            source,
        };
        if let Some(expected) = self.size {
            if expected != written {
                return Err(BlobError::SizeMismatch {
                    digest: self.expected,
                    expected,
                    actual: written,
                });
            }
        }
        if actual != self.expected {
            return Err(BlobError::DigestMismatch {
                expected: self.expected,
                actual,
            });
        }
        let tmp = buf.into_inner().map_err(|e| werr(e.into_error()))?;
        tmp.as_file().sync_data().map_err(werr)?;
        tmp.persist(&self.dest).map_err(|e| werr(e.error))?;
        Ok(())
    }
}

/// A blob being made: hashed as it is written, stored under its digest by
/// [`NewBlob::commit`]; dropped uncommitted, it leaves nothing behind.
pub struct NewBlob {
    dir: PathBuf,
    inner: DigestWriter<io::BufWriter<tempfile::NamedTempFile>>,
}

impl Write for NewBlob {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl NewBlob {
    /// Sync the blob and move it into place; returns its digest and size.
    pub fn commit(self) -> Result<(Digest, u64), BlobError> {
        let written = self.inner.written();
        let (digest, buf) = self.inner.finish();
        let werr = |source| BlobError::Write {
            digest: digest.clone(),
            source,
        };
        let tmp = buf.into_inner().map_err(|e| werr(e.into_error()))?;
        tmp.as_file().sync_data().map_err(werr)?;
        tmp.persist(self.dir.join(digest.hex()))
            .map_err(|e| werr(e.error))?;
        Ok((digest, written))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(d.path().join("b")).expect("mkdir");
        std::fs::create_dir_all(d.path().join("t")).expect("mkdir");
        let s = BlobStore::new(d.path().join("b"), d.path().join("t"));
        (d, s)
    }

    #[test]
    fn put_and_read() {
        let (_d, s) = store();
        let dg = s.put(b"abc").expect("put");
        assert_eq!(s.read(&dg).expect("read"), b"abc");
        assert_eq!(s.list().expect("list"), vec![dg]);
        let mut nb = s.new_blob().expect("new blob");
        nb.write_all(b"made here").expect("write");
        let (d, size) = nb.commit().expect("commit");
        assert_eq!((d.clone(), size), (Digest::of(b"made here"), 9));
        assert_eq!(s.read(&d).expect("read"), b"made here");
    }

    #[test]
    fn mismatch_leaves_nothing() {
        let (d, s) = store();
        let wrong = Digest::of(b"other");
        let err = s
            .put_from(&wrong, None, &mut &b"abc"[..])
            .expect_err("mismatch");
        assert!(matches!(err, BlobError::DigestMismatch { .. }), "{err}");
        let err = s
            .put_from(&Digest::of(b"abc"), Some(10), &mut &b"abc"[..])
            .expect_err("short");
        assert!(matches!(err, BlobError::SizeMismatch { .. }), "{err}");
        assert!(s.list().expect("list").is_empty());
        assert_eq!(
            std::fs::read_dir(d.path().join("t")).expect("ls").count(),
            0
        );
    }
}
