//! `load`: open the input (a file, a directory, or a stream copied to a
//! scratch file first), undo gzip or zstd compression, tell the format by
//! its contents, and store the images it holds. A failure leaves no image
//! record behind; the blobs it had stored are collected.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::engine::archive::members::{MemberError, Members, TarIndex};
use crate::engine::archive::{docker_archive, oci, LoadError, LoadedImage};
use crate::engine::copy::CopyObserver;
use crate::engine::Engine;
use crate::storage::compression::{self, Compression};

/// What `load` reads.
pub enum LoadInput {
    /// An archive file (possibly compressed) or a layout directory.
    Path(PathBuf),
    /// A stream (standard input).
    Stream(Box<dyn Read + Send>),
}

/// The layouts `load` recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    DockerArchive,
    Oci,
    /// podman's `dir` (docker-dir): `manifest.json` is one manifest.
    Dir,
}

/// Tell the layout from the files present. A docker-archive's
/// `manifest.json` wins over an OCI index: Docker writes both, and only the
/// former carries its tags.
fn detect(members: &Members) -> Result<Layout, LoadError> {
    if members.contains(docker_archive::MANIFEST_FILE) {
        let doc = members
            .read_document(
                docker_archive::MANIFEST_FILE,
                crate::image::manifest::MAX_DOCUMENT_SIZE,
            )
            .map_err(LoadError::member(members.describe()))?;
        return match serde_json::from_slice::<serde_json::Value>(&doc) {
            Ok(serde_json::Value::Array(_)) => Ok(Layout::DockerArchive),
            Ok(serde_json::Value::Object(_)) => Ok(Layout::Dir),
            Ok(_) => Err(LoadError::malformed(
                docker_archive::MANIFEST_FILE,
                "neither a list of images nor a manifest",
            )),
            Err(e) => Err(LoadError::malformed(docker_archive::MANIFEST_FILE, e)),
        };
    }
    if members.contains(oci::INDEX_FILE) {
        return Ok(Layout::Oci);
    }
    Err(LoadError::UnknownFormat {
        detail: format!(
            "the {} has neither manifest.json nor index.json",
            members.describe()
        ),
    })
}

impl Engine {
    /// Store every image of `input`; returns them in archive order.
    pub fn load(
        &self,
        input: LoadInput,
        observer: &dyn CopyObserver,
    ) -> Result<Vec<LoadedImage>, LoadError> {
        let content = self.store().hold_content()?;
        let result = self.load_held(input, observer);
        if result.is_err() {
            // Blobs and layers of a failed load are referenced by nothing:
            // collect them now (skipped if another pull or load is running).
            drop(content);
            if let Err(e) = self.store().gc() {
                tracing::warn!("cleaning up after a failed load: {e}");
            }
        }
        result
    }

    fn load_held(
        &self,
        input: LoadInput,
        observer: &dyn CopyObserver,
    ) -> Result<Vec<LoadedImage>, LoadError> {
        let members = self.open_members(input)?;
        let layout = detect(&members)?;
        let candidates = match layout {
            Layout::DockerArchive => docker_archive::read(&members)?,
            Layout::Oci => oci::read(&members)?,
            Layout::Dir => oci::read_dir_layout(&members)?,
        };
        if candidates.is_empty() {
            return Err(LoadError::Empty {
                kind: members.describe(),
            });
        }
        self.import_candidates(&members, &candidates, observer)
    }

    fn open_members(&self, input: LoadInput) -> Result<Members, LoadError> {
        let tar = |e| match e {
            MemberError::NotATar { source } => LoadError::UnknownFormat {
                detail: format!(
                    "not a directory, a tar archive or a gzip or zstd compressed one ({source})"
                ),
            },
            other => LoadError::member("archive")(other),
        };
        match input {
            LoadInput::Path(path) => {
                let ierr = |source| LoadError::Input {
                    path: path.clone(),
                    source,
                };
                let md = std::fs::metadata(&path).map_err(ierr)?;
                if md.is_dir() {
                    return Ok(Members::Dir(path));
                }
                let file = File::open(&path).map_err(ierr)?;
                let mut head = [0u8; 4];
                let n = read_head(&file, &mut head).map_err(ierr)?;
                if Compression::from_magic(&head[..n]) == Compression::None {
                    return Ok(Members::Tar(TarIndex::new(file).map_err(tar)?));
                }
                let spooled = self.spool(Box::new(file), Some(&path))?;
                Ok(Members::Tar(TarIndex::new(spooled).map_err(tar)?))
            }
            LoadInput::Stream(reader) => {
                let spooled = self.spool(reader, None)?;
                Ok(Members::Tar(TarIndex::new(spooled).map_err(tar)?))
            }
        }
    }

    /// Copy a stream, uncompressed, to an unnamed scratch file in the
    /// store (so the archive can be read at random). `path` names the
    /// input in messages (standard input when `None`).
    fn spool(
        &self,
        reader: Box<dyn Read + Send>,
        path: Option<&PathBuf>,
    ) -> Result<File, LoadError> {
        let read_err = |source| match path {
            Some(p) => LoadError::Input {
                path: p.clone(),
                source,
            },
            None => LoadError::Stdin { source },
        };
        let (found, peeked) = compression::detect(reader).map_err(read_err)?;
        let mut plain = compression::decoder(found, peeked).map_err(|e| LoadError::Decompress {
            source: io::Error::other(e),
        })?;
        let scratch_err = |source| LoadError::Scratch {
            path: self.store().tmp_dir(),
            source,
        };
        let mut file = tempfile::tempfile_in(self.store().tmp_dir()).map_err(scratch_err)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match plain.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) if found == Compression::None => return Err(read_err(source)),
                Err(source) => return Err(LoadError::Decompress { source }),
            };
            file.write_all(&buf[..n]).map_err(scratch_err)?;
        }
        Ok(file)
    }
}

/// Read up to `buf.len()` bytes from the start of `file`.
fn read_head(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
