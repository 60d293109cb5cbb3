//! Blobs over the wire: streamed, verified downloads; existence checks;
//! cross-repository mounts; monolithic uploads.

use std::io::{self, Read, Write};

use super::client::{Access, RegistryClient};
use super::error::{Context, Operation, RegistryError};
use super::location;
use super::manifest::check_digest;
use super::request::{drain, Body, Call};
use crate::image::digest::{Digest, DigestReader, DigestWriter};

/// Blob bodies are hashed and written in pieces this large: fewer, larger
/// writes into the caller's file or pipe.
const BUFFER_SIZE: usize = 512 << 10;

impl RegistryClient {
    /// Stream blob `digest` into `out`, hashing as it goes; returns its size.
    ///
    /// Redirects (to a CDN) are followed without the credentials. `progress`
    /// gets the bytes written so far after each write. A digest or size
    /// mismatch, a truncated body or a network failure is an error; nothing is
    /// retried here. When [`RegistryError::is_retryable`] holds, truncate or
    /// recreate `out` and call again: the download restarts at byte zero.
    pub fn fetch_blob(
        &self,
        digest: &Digest,
        expected_size: Option<u64>,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, RegistryError> {
        let context = self.context(Operation::ReadBlob(digest.clone()));
        let url = self.blob_url(&context, digest)?;
        // The digest is over the stored bytes: no transfer compression.
        let call = Call::new("GET", url).header("Accept-Encoding", "identity");
        let resp = self.send(&context, Access::Pull, call)?;
        match resp.status() {
            200 => {}
            404 => return Err(blob_not_found(&context, resp)),
            _ => return Err(self.failure(&context, resp)),
        }
        let boxed = |c: &Context| Box::new(c.clone());
        let mut body = resp.into_reader();
        let mut sink = DigestWriter::new(out);
        let mut buf = vec![0u8; BUFFER_SIZE];
        loop {
            let (n, read_error) = fill(&mut body, &mut buf);
            let received = sink.written() + n as u64;
            if let Some(expected) = expected_size.filter(|&e| received > e) {
                return Err(RegistryError::SizeMismatch {
                    context: boxed(&context),
                    expected,
                    received,
                });
            }
            if n > 0 {
                sink.write_all(&buf[..n])
                    .map_err(|source| RegistryError::Write {
                        context: boxed(&context),
                        source,
                    })?;
                progress(received);
            }
            match read_error {
                // ureq's signal that the body ended before Content-Length.
                Some(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(RegistryError::Truncated {
                        context: boxed(&context),
                        received,
                    })
                }
                Some(source) => {
                    return Err(RegistryError::Body {
                        context: boxed(&context),
                        source,
                    })
                }
                None if n < buf.len() => break,
                None => {}
            }
        }
        sink.flush().map_err(|source| RegistryError::Write {
            context: boxed(&context),
            source,
        })?;
        let received = sink.written();
        if let Some(expected) = expected_size.filter(|&e| received != e) {
            return Err(RegistryError::SizeMismatch {
                context: boxed(&context),
                expected,
                received,
            });
        }
        let (actual, _) = sink.finish();
        check_digest(&context, digest, &actual)?;
        Ok(received)
    }

    /// Whether the repository has blob `digest` (`HEAD`).
    pub fn blob_exists(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let context = self.context(Operation::CheckBlob(digest.clone()));
        let url = self.blob_url(&context, digest)?;
        let resp = self.send(&context, Access::Pull, Call::new("HEAD", url))?;
        match resp.status() {
            200 => {
                drain(resp);
                Ok(true)
            }
            404 => {
                drain(resp);
                Ok(false)
            }
            _ => Err(self.failure(&context, resp)),
        }
    }

    /// Ask the registry to link blob `digest` from `from_repository` (same
    /// registry) into this one. `false` when it declines: upload the blob
    /// instead.
    pub fn mount_blob(
        &self,
        from_repository: &str,
        digest: &Digest,
    ) -> Result<bool, RegistryError> {
        let context = self.context(Operation::MountBlob(digest.clone()));
        let base = self.uploads_url(&context)?;
        let url = location::with_query(
            &base,
            &[("mount", &digest.to_string()), ("from", from_repository)],
        );
        let call = Call::new("POST", url).body(Body::Bytes(&[]));
        let access = Access::Mount {
            from: from_repository,
        };
        let resp = self.send(&context, access, call)?;
        match resp.status() {
            201 => {
                drain(resp);
                Ok(true)
            }
            // The registry opened an upload instead. It is left alone rather
            // than cancelled: a DELETE needs a `delete` scope most tokens
            // lack, and registries purge stale uploads themselves.
            202 => {
                drain(resp);
                Ok(false)
            }
            _ => Err(self.failure(&context, resp)),
        }
    }

    /// Upload blob `digest` of `size` bytes read from `reader`: `POST` to
    /// open an upload, then one `PUT ...?digest=` with the whole body. The
    /// reader must yield exactly `size` bytes. Not retried here; a retry needs
    /// a fresh reader.
    pub fn upload_blob(
        &self,
        digest: &Digest,
        size: u64,
        reader: &mut dyn Read,
    ) -> Result<(), RegistryError> {
        let context = self.context(Operation::WriteBlob(digest.clone()));
        let base = self.uploads_url(&context)?;
        let call = Call::new("POST", base.clone()).body(Body::Bytes(&[]));
        let resp = self.send(&context, Access::Push, call)?;
        if resp.status() != 202 {
            return Err(self.failure(&context, resp));
        }
        let upload = resp
            .header("location")
            .and_then(|l| location::resolve(&base, l));
        drain(resp);
        let upload = upload.ok_or_else(|| RegistryError::Protocol {
            context: Box::new(context.clone()),
            detail: "upload accepted without a usable Location header".to_string(),
        })?;
        let url = location::with_query(&upload, &[("digest", &digest.to_string())]);

        let mut exact = ExactReader {
            inner: reader,
            remaining: size,
            size,
            error: None,
        };
        let mut hashing = DigestReader::new(&mut exact);
        let call = Call::new("PUT", url)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", size.to_string())
            .body(Body::Reader(&mut hashing));
        let result = self.send(&context, Access::Push, call);
        let sent = hashing.bytes_read();
        let (sent_digest, _) = hashing.finish();
        if let Some(source) = exact.error.take() {
            return Err(RegistryError::LocalRead {
                context: Box::new(context),
                source,
            });
        }
        let resp = result?;
        if (200..=299).contains(&resp.status()) {
            drain(resp);
            return Ok(());
        }
        if sent == size {
            // A registry refusing the digest is clearer said from our side.
            check_digest(&context, digest, &sent_digest)?;
        }
        Err(self.failure(&context, resp))
    }

    fn blob_url(&self, context: &Context, digest: &Digest) -> Result<String, RegistryError> {
        Ok(format!(
            "{}/v2/{}/blobs/{digest}",
            self.base_url(context)?,
            self.repository
        ))
    }

    fn uploads_url(&self, context: &Context) -> Result<String, RegistryError> {
        Ok(format!(
            "{}/v2/{}/blobs/uploads/",
            self.base_url(context)?,
            self.repository
        ))
    }
}

/// Read until `buf` is full, the body ends, or an error (returned with the
/// count read before it). The HTTP layer hands out at most a few KiB per
/// read; batching them keeps writes to the sink large.
fn fill(body: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut filled = 0;
    while filled < buf.len() {
        match body.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (filled, Some(e)),
        }
    }
    (filled, None)
}

fn blob_not_found(context: &Context, resp: ureq::Response) -> RegistryError {
    drain(resp);
    RegistryError::BlobNotFound {
        context: Box::new(context.clone()),
    }
}

/// Yields exactly `size` bytes of `inner`, failing if it ends early, and
/// keeps the failure: the HTTP layer only passes on its kind.
struct ExactReader<'a> {
    inner: &'a mut dyn Read,
    remaining: u64,
    size: u64,
    error: Option<io::Error>,
}

impl Read for ExactReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        match self.inner.read(&mut buf[..max]) {
            Ok(0) => {
                let error = io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "blob data ended after {} of {} bytes",
                        self.size - self.remaining,
                        self.size
                    ),
                );
                let kind = error.kind();
                self.error = Some(error);
                Err(kind.into())
            }
            Ok(n) => {
                self.remaining -= n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let kind = e.kind();
                self.error = Some(e);
                Err(kind.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_reader_caps_and_detects_short_input() {
        let mut data: &[u8] = b"hello world";
        let mut r = ExactReader {
            inner: &mut data,
            remaining: 5,
            size: 5,
            error: None,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).expect("five bytes");
        assert_eq!(out, b"hello");

        let mut data: &[u8] = b"hi";
        let mut r = ExactReader {
            inner: &mut data,
            remaining: 5,
            size: 5,
            error: None,
        };
        let err = r.read_to_end(&mut Vec::new()).expect_err("short input");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let kept = r.error.expect("error kept");
        assert_eq!(kept.to_string(), "blob data ended after 2 of 5 bytes");
    }
}
