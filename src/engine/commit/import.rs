//! `import`: a tar of a file system (plain, gzip or zstd; from a file, a
//! URL or standard input) as a one-layer image. The tar is read once: its
//! entries are checked as it streams into the new layer blob, so input
//! that is not a tar stores nothing.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::engine::commit::container::new_names;
use crate::engine::commit::image::{history_entry, now};
use crate::engine::commit::{CommitError, ImportOptions, ManifestFormat};
use crate::engine::Engine;
use crate::image::change;
use crate::storage::compression;
use crate::storage::images::ImageRecord;

/// Where `import` reads the tar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportSource {
    Path(PathBuf),
    /// An http or https URL.
    Url(String),
    Stdin,
}

impl ImportSource {
    /// `-` is standard input, `http://` and `https://` are URLs, anything
    /// else a path.
    pub fn parse(text: &str) -> ImportSource {
        if text == "-" {
            ImportSource::Stdin
        } else if text.starts_with("http://") || text.starts_with("https://") {
            ImportSource::Url(text.to_string())
        } else {
            ImportSource::Path(PathBuf::from(text))
        }
    }

    fn describe(&self) -> String {
        match self {
            ImportSource::Path(p) => p.display().to_string(),
            ImportSource::Url(u) => u.clone(),
            ImportSource::Stdin => "standard input".to_string(),
        }
    }

    fn open(&self) -> Result<Box<dyn Read + Send>, CommitError> {
        match self {
            ImportSource::Path(p) => {
                let f = std::fs::File::open(p).map_err(|source| CommitError::Input {
                    path: p.clone(),
                    source,
                })?;
                if f.metadata().is_ok_and(|m| m.is_dir()) {
                    return Err(CommitError::NotATar {
                        what: p.display().to_string(),
                        detail: "it is a directory".into(),
                    });
                }
                Ok(Box::new(io::BufReader::with_capacity(1 << 20, f)))
            }
            ImportSource::Stdin => Ok(Box::new(io::stdin())),
            ImportSource::Url(u) => {
                let resp = ureq::get(u).call().map_err(|e| CommitError::Download {
                    url: u.clone(),
                    message: match e {
                        ureq::Error::Status(code, r) => {
                            format!("the server answered {code} {}", r.status_text())
                        }
                        ureq::Error::Transport(t) => t.to_string(),
                    },
                })?;
                Ok(Box::new(resp.into_reader()))
            }
        }
    }
}

/// Compressions `import` recognises but cannot undo.
fn unsupported_compression(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0xfd, b'7', b'z', b'X']) {
        Some("xz")
    } else if head.starts_with(b"BZh") {
        Some("bzip2")
    } else {
        None
    }
}

/// Copies what is read from `inner` into `out`; a failed write is kept
/// aside, so that it is not mistaken for bad input.
struct Tee<'w, R, W> {
    inner: R,
    out: &'w mut W,
    write_error: Option<io::Error>,
}

impl<R: Read, W: Write> Read for Tee<'_, R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Err(e) = self.out.write_all(&buf[..n]) {
            let msg = e.to_string();
            self.write_error = Some(e);
            return Err(io::Error::other(msg));
        }
        Ok(n)
    }
}

impl Engine {
    /// `import`: returns the new image's record.
    pub fn import_image(&self, opts: &ImportOptions) -> Result<ImageRecord, CommitError> {
        let names = new_names(opts.name.as_deref())?;
        let input = opts.source.open()?;
        let content = self.store().hold_content()?;
        let result = self.import_held(opts, input, &names);
        if result.is_err() {
            drop(content);
            if let Err(e) = self.store().gc() {
                tracing::warn!("cleaning up after a failed import: {e}");
            }
        }
        result
    }

    fn import_held(
        &self,
        opts: &ImportOptions,
        input: Box<dyn Read + Send>,
        names: &[String],
    ) -> Result<ImageRecord, CommitError> {
        let what = opts.source.describe();
        let read_err = |source: io::Error| match &opts.source {
            ImportSource::Path(p) => CommitError::Input {
                path: p.clone(),
                source,
            },
            ImportSource::Stdin => CommitError::Stdin { source },
            ImportSource::Url(u) => CommitError::Download {
                url: u.clone(),
                message: source.to_string(),
            },
        };
        let (found, peeked) = compression::detect(input).map_err(read_err)?;
        if let Some(kind) = unsupported_compression(peeked.get_ref().0.get_ref()) {
            return Err(CommitError::NotATar {
                what,
                detail: format!(
                    "it is {kind}-compressed, which skiff cannot decompress: decompress it first"
                ),
            });
        }
        let plain = compression::decoder(found, peeked).map_err(|e| CommitError::NotATar {
            what: what.clone(),
            detail: e.to_string(),
        })?;
        let mut layer = self.layer_writer()?;
        let mut tee = Tee {
            inner: plain,
            out: &mut layer,
            write_error: None,
        };
        let checked = check_tar(&mut tee);
        if let Some(source) = tee.write_error.take() {
            return Err(CommitError::WriteLayer { source });
        }
        match checked {
            Ok(0) => {
                return Err(CommitError::NotATar {
                    what,
                    detail: "it holds no files".into(),
                })
            }
            Ok(_) => {}
            Err(e) => {
                return Err(CommitError::NotATar {
                    what,
                    detail: e.to_string(),
                })
            }
        }
        let layer = layer.finish()?;

        let created = now();
        let platform = crate::image::platform::Platform::host();
        let mut config = Map::new();
        config.insert("created".into(), Value::from(created.as_str()));
        config.insert("architecture".into(), Value::from(platform.architecture));
        config.insert("os".into(), Value::from(platform.os));
        if let Some(v) = platform.variant {
            config.insert("variant".into(), Value::from(v));
        }
        let mut run = Map::new();
        change::apply(&mut run, &opts.changes);
        config.insert("config".into(), Value::Object(run));
        let comment = opts
            .message
            .clone()
            .unwrap_or_else(|| format!("imported from {what}"));
        config.insert(
            "history".into(),
            Value::from(vec![history_entry(
                &created,
                &format!("skiff import {what}"),
                None,
                Some(&comment),
            )]),
        );
        self.store_image(None, &layer, config, ManifestFormat::Oci, names)
    }
}

/// Read a whole tar stream (trailing padding included); returns how many
/// entries it has.
fn check_tar(reader: &mut dyn Read) -> io::Result<u64> {
    let mut archive = tar::Archive::new(reader);
    let mut count = 0;
    for entry in archive.entries()? {
        let mut entry = entry?;
        io::copy(&mut entry, &mut io::sink())?;
        count += 1;
    }
    io::copy(&mut archive.into_inner(), &mut io::sink())?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_compressions_are_told_apart() {
        assert_eq!(ImportSource::parse("-"), ImportSource::Stdin);
        assert_eq!(
            ImportSource::parse("https://x/y.tar"),
            ImportSource::Url("https://x/y.tar".into())
        );
        assert_eq!(
            ImportSource::parse("rootfs.tar"),
            ImportSource::Path("rootfs.tar".into())
        );
        assert_eq!(
            unsupported_compression(&[0xfd, b'7', b'z', b'X', b'Z', 0]),
            Some("xz")
        );
        assert_eq!(unsupported_compression(b"BZh9"), Some("bzip2"));
        assert_eq!(unsupported_compression(b"etc/"), None);
    }

    #[test]
    fn tars_are_counted_and_garbage_refused() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "f", &b"hi"[..]).expect("append");
        let tar = b.into_inner().expect("tar");
        assert_eq!(check_tar(&mut &tar[..]).expect("valid"), 1);
        let garbage = vec![b'x'; 2048];
        assert!(check_tar(&mut &garbage[..]).is_err());
        assert!(check_tar(&mut &b"short text"[..]).is_err());
    }
}
