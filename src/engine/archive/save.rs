//! `save`: find the images to write (podman's rules: the first name is the
//! image and the others are more tags for it, unless every name is an
//! image), then write them in the chosen format to a stream, a file (which
//! appears only once complete) or a directory.

use std::io::{self, Write};
use std::path::Path;

use crate::engine::archive::sink::{set_mode, DirSink, Sink, TarSink};
use crate::engine::archive::{docker_archive, oci, SaveError, SaveFormat, SaveNames};
use crate::engine::copy::CopyObserver;
use crate::engine::images::normalize_new_name;
use crate::engine::lookup::Matched;
use crate::engine::Engine;
use crate::image::manifest::{ImageIndex, ImageManifest, Manifest, MAX_DOCUMENT_SIZE};
use crate::storage::images::ImageRecord;

/// One image to write, with what the archive formats need of it.
#[derive(Debug, Clone)]
pub struct SaveImage {
    /// What the user typed, for messages.
    pub label: String,
    pub record: ImageRecord,
    pub config: Vec<u8>,
    pub manifest: ImageManifest,
    pub manifest_bytes: Vec<u8>,
    /// Full names to record in the archive.
    pub tags: Vec<String>,
}

/// Typed options of a save.
#[derive(Debug, Clone, Copy)]
pub struct SaveOptions {
    pub format: SaveFormat,
    pub names: SaveNames,
}

/// Where the archive goes.
pub enum SaveTarget<'a> {
    /// A stream (standard output); tar formats only.
    Stream(&'a mut dyn Write),
    /// A file for tar formats, a directory for oci-dir.
    Path(&'a Path),
}

impl Engine {
    /// Write the images named by `inputs` to `target`.
    pub fn save(
        &self,
        inputs: &[String],
        opts: &SaveOptions,
        target: SaveTarget<'_>,
        observer: &dyn CopyObserver,
    ) -> Result<(), SaveError> {
        if inputs.is_empty() {
            return Err(SaveError::NoImages);
        }
        // Nothing may collect the blobs while they are read.
        let _content = self.store().hold_content()?;
        let images = self.save_images(inputs, opts.names)?;
        observer.starting();
        let write_archive = |sink: &mut dyn Sink| match opts.format {
            SaveFormat::DockerArchive => docker_archive::write(self, &images, sink, observer),
            _ => oci::write(self, &images, sink, None, observer),
        };
        match target {
            SaveTarget::Path(dir) if opts.format.is_dir() => {
                let existing = existing_index(dir)?;
                let mut sink =
                    DirSink::create(dir).map_err(SaveError::write(dir.display().to_string()))?;
                oci::write(self, &images, &mut sink, existing, observer)
            }
            SaveTarget::Stream(_) if opts.format.is_dir() => Err(SaveError::NeedsPath {
                format: opts.format.name(),
            }),
            SaveTarget::Stream(out) => {
                let mut sink = TarSink::new(io::BufWriter::with_capacity(1 << 20, out));
                write_archive(&mut sink)?;
                finish_stream(sink).map_err(SaveError::write("the archive"))
            }
            SaveTarget::Path(path) => {
                let werr = |source| SaveError::Write {
                    what: path.display().to_string(),
                    source,
                };
                let dir = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                let tmp = tempfile::Builder::new()
                    .prefix(".skiff-save-")
                    .tempfile_in(dir)
                    .map_err(werr)?;
                let mut sink = TarSink::new(io::BufWriter::with_capacity(1 << 20, tmp.as_file()));
                write_archive(&mut sink)?;
                finish_stream(sink).map_err(werr)?;
                tmp.as_file().sync_all().map_err(werr)?;
                set_mode(tmp.path(), 0o644).map_err(werr)?;
                tmp.persist(path).map_err(|e| werr(e.error))?;
                Ok(())
            }
        }
    }

    fn save_images(
        &self,
        inputs: &[String],
        names: SaveNames,
    ) -> Result<Vec<SaveImage>, SaveError> {
        let mut out: Vec<SaveImage> = Vec::new();
        let (images, extra_tags) = match names {
            SaveNames::FirstIsImage => (&inputs[..1], &inputs[1..]),
            SaveNames::EachIsImage => (inputs, &inputs[..0]),
        };
        for input in images {
            let (record, matched) = self.lookup_image(input)?;
            let tags: Vec<String> = match matched {
                Matched::Name(n) => vec![n],
                Matched::Id | Matched::Digest => Vec::new(),
            };
            if let Some(seen) = out.iter_mut().find(|i| i.record.id == record.id) {
                for t in tags {
                    if !seen.tags.contains(&t) {
                        seen.tags.push(t);
                    }
                }
                continue;
            }
            out.push(self.save_image(input, record, tags)?);
        }
        for extra in extra_tags {
            let name = normalize_new_name(extra)?;
            if let Some(first) = out.first_mut() {
                if !first.tags.contains(&name) {
                    first.tags.push(name);
                }
            }
        }
        Ok(out)
    }

    fn save_image(
        &self,
        label: &str,
        record: ImageRecord,
        tags: Vec<String>,
    ) -> Result<SaveImage, SaveError> {
        let blob_err = |source| SaveError::Blob {
            image: label.to_string(),
            source,
        };
        let config = self.store().blobs().read(&record.id).map_err(blob_err)?;
        let (manifest_bytes, manifest) =
            self.stored_manifest(&record)
                .map_err(|source| SaveError::StoredManifest {
                    image: label.to_string(),
                    source,
                })?;
        Ok(SaveImage {
            label: label.to_string(),
            record,
            config,
            manifest,
            manifest_bytes,
            tags,
        })
    }
}

fn finish_stream<W: Write>(sink: TarSink<io::BufWriter<W>>) -> io::Result<()> {
    let mut buffered = sink.finish()?;
    buffered.flush()
}

/// The index of an OCI layout directory written to before, if any.
fn existing_index(dir: &Path) -> Result<Option<ImageIndex>, SaveError> {
    let rerr = |source| SaveError::ExistingIndex {
        path: dir.to_owned(),
        source,
    };
    let bytes = match std::fs::read(dir.join(oci::INDEX_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(rerr(e)),
    };
    if bytes.len() as u64 > MAX_DOCUMENT_SIZE {
        return Err(rerr(io::Error::other(format!(
            "it is larger than {MAX_DOCUMENT_SIZE} bytes"
        ))));
    }
    match Manifest::parse(&bytes, Some(crate::image::manifest::OCI_INDEX)) {
        Ok(Manifest::Index(i)) => Ok(Some(i)),
        Ok(Manifest::Image(_)) => Err(rerr(io::Error::other("it is not an index"))),
        Err(e) => Err(rerr(io::Error::other(e))),
    }
}
