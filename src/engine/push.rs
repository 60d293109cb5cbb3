//! `push`: copy a stored image to a registry. Blobs go as they are stored
//! (layers keep their compressed digests) and the stored manifest bytes are
//! sent unchanged, so an image pushed back to where it came from keeps its
//! manifest digest. Blobs the registry has are skipped; blobs it may have in
//! another repository of the same registry are mounted from there.

use std::io;

use crate::config::registries::{RegistriesError, RemoteImage};
use crate::engine::copy::{BlobCopy, CopyObserver};
use crate::engine::images::StoredManifestError;
use crate::engine::lookup::{split_name, LookupError, Matched};
use crate::engine::remote::{with_retries, TlsVerify};
use crate::engine::{workers, Engine, EngineError};
use crate::image::auth::Credentials;
use crate::image::digest::Digest;
use crate::image::reference::{Reference, ReferenceError, DOCKER_HUB};
use crate::image::registry::{RegistryClient, RegistryError};
use crate::storage::blobs::BlobError;

/// Image transports of podman that skiff's push does not write.
const OTHER_TRANSPORTS: &[&str] = &[
    "oci",
    "oci-archive",
    "docker-archive",
    "docker-daemon",
    "dir",
    "containers-storage",
    "ostree",
    "sif",
];

/// Typed options of a push.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub tls_verify: TlsVerify,
    /// `--creds`; otherwise the auth file is consulted.
    pub credentials: Option<Credentials>,
    /// Parallel blob uploads.
    pub jobs: usize,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            tls_verify: TlsVerify::Default,
            credentials: None,
            jobs: 3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Registries(#[from] RegistriesError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("invalid destination {input:?}")]
    Destination {
        input: String,
        #[source]
        source: ReferenceError,
    },
    #[error("destination {input:?}: cannot push to a digest; name a tag")]
    DigestDestination { input: String },
    #[error("destination {input:?}: the {transport} transport is not supported by push (use skiff save for archives and directories)")]
    Transport { input: String, transport: String },
    #[error("{image}: the image is not given by a tagged name, so push needs a DESTINATION")]
    NoDestination { image: String },
    #[error("{image}: {source}")]
    StoredManifest {
        image: String,
        #[source]
        source: StoredManifestError,
    },
    #[error("{image}: {source}")]
    Blob {
        image: String,
        #[source]
        source: BlobError,
    },
}

/// What a push wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// Where it went, after registries.conf rewriting.
    pub reference: Reference,
    /// Digest of the manifest the registry now holds.
    pub digest: Digest,
}

/// Parse a push destination: a `docker://` prefix is allowed, other
/// transports are refused, a short name means Docker Hub (as podman does),
/// and a missing tag is `latest`.
pub fn parse_destination(input: &str) -> Result<Reference, PushError> {
    let name = match input.strip_prefix("docker://") {
        Some(rest) => rest,
        None => {
            if let Some((transport, _)) = input.split_once(':') {
                if OTHER_TRANSPORTS.contains(&transport) {
                    return Err(PushError::Transport {
                        input: input.to_string(),
                        transport: transport.to_string(),
                    });
                }
            }
            input
        }
    };
    Reference::parse_tagged(name, DOCKER_HUB).map_err(|source| match source {
        ReferenceError::DigestNotAllowed { .. } => PushError::DigestDestination {
            input: input.to_string(),
        },
        source => PushError::Destination {
            input: input.to_string(),
            source,
        },
    })
}

impl Engine {
    /// Push the stored image `image` to `destination` (default: the name the
    /// image was found by).
    pub fn push(
        &self,
        image: &str,
        destination: Option<&str>,
        opts: &PushOptions,
        observer: &dyn CopyObserver,
    ) -> Result<Pushed, PushError> {
        let (rec, matched) = self.lookup_image(image)?;
        let dest = match (destination, &matched) {
            (Some(d), _) => parse_destination(d)?,
            (None, Matched::Name(n)) => parse_destination(n)?,
            (None, _) => {
                return Err(PushError::NoDestination {
                    image: image.to_string(),
                })
            }
        };
        let (manifest_bytes, manifest) =
            self.stored_manifest(&rec)
                .map_err(|source| PushError::StoredManifest {
                    image: image.to_string(),
                    source,
                })?;

        let registries = self.registries()?;
        let target = registries.endpoint_for_push(&dest)?;
        let mount_from = self.mount_sources(&rec.names, &target);
        let client = self.registry_client(&target, opts.tls_verify, opts.credentials.as_ref())?;
        // Nothing may collect the blobs while they are read.
        let _content = self.store().hold_content().map_err(EngineError::from)?;

        observer.starting();
        let mut layers: Vec<&Digest> = Vec::new();
        for l in &manifest.layers {
            if !layers.contains(&&l.digest) {
                layers.push(&l.digest);
            }
        }
        self.push_blobs(image, &client, &layers, &mount_from, opts.jobs, observer)?;
        observer.config(&manifest.config.digest);
        self.push_blob(
            image,
            &client,
            &manifest.config.digest,
            &mount_from,
            &mut |_| {},
        )?;
        observer.writing_manifest();
        let tag = target.reference.tag_or_latest().to_string();
        let digest = client.put_manifest(&tag, &manifest_bytes, &rec.manifest_media_type)?;
        Ok(Pushed {
            reference: target.reference,
            digest,
        })
    }

    /// Other repositories on the destination's registry that the image is
    /// named in: its blobs are likely there, and can be mounted.
    fn mount_sources(&self, names: &[String], target: &RemoteImage) -> Vec<String> {
        let Ok(registries) = self.registries() else {
            return Vec::new();
        };
        let mut out: Vec<String> = Vec::new();
        for n in names {
            let Ok(r) = Reference::parse(split_name(n).0) else {
                continue;
            };
            let Ok(t) = registries.endpoint_for_push(&r) else {
                continue;
            };
            if t.endpoint.host == target.endpoint.host
                && t.repository != target.repository
                && !out.contains(&t.repository)
            {
                out.push(t.repository);
            }
        }
        out
    }

    /// Upload `blobs`, several at once.
    fn push_blobs(
        &self,
        image: &str,
        client: &RegistryClient,
        blobs: &[&Digest],
        mount_from: &[String],
        jobs: usize,
        observer: &dyn CopyObserver,
    ) -> Result<(), PushError> {
        workers::for_each(blobs.len(), jobs, |i| {
            let digest = blobs[i];
            let mut report = |what| observer.blob(digest, what);
            self.push_blob(image, client, digest, mount_from, &mut report)
        })
    }

    /// Make sure the registry has one blob: already there, mounted from
    /// another repository, or uploaded (retried on network failures).
    fn push_blob(
        &self,
        image: &str,
        client: &RegistryClient,
        digest: &Digest,
        mount_from: &[String],
        report: &mut dyn FnMut(BlobCopy),
    ) -> Result<(), PushError> {
        if client.blob_exists(digest)? {
            report(BlobCopy::Exists);
            return Ok(());
        }
        for from in mount_from {
            match client.mount_blob(from, digest) {
                Ok(true) => {
                    report(BlobCopy::Mounted);
                    return Ok(());
                }
                Ok(false) => {}
                // A refused mount (no access to the other repository) is
                // not a failure: the blob is uploaded instead.
                Err(e) => tracing::debug!("mounting {digest} from {from}: {e}"),
            }
        }
        report(BlobCopy::Copying);
        let blob_err = |source| PushError::Blob {
            image: image.to_string(),
            source,
        };
        let blobs = self.store().blobs();
        let size = blobs.size(digest).map_err(blob_err)?;
        let retryable = |e: &PushError| matches!(e, PushError::Registry(r) if r.is_retryable());
        with_retries(retryable, || {
            let file = blobs.open(digest).map_err(blob_err)?;
            let mut reader = io::BufReader::with_capacity(1 << 20, file);
            Ok(client.upload_blob(digest, size, &mut reader)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        let r = parse_destination("docker://127.0.0.1:5000/a/b").expect("valid");
        assert_eq!(r.to_string(), "127.0.0.1:5000/a/b:latest");
        let r = parse_destination("quay.io/x/y:v1").expect("valid");
        assert_eq!(r.to_string(), "quay.io/x/y:v1");
        let r = parse_destination("alpine").expect("valid");
        assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
        // A registry with a port is not a transport.
        let r = parse_destination("localhost:5000/x").expect("valid");
        assert_eq!(r.registry, "localhost:5000");
        assert!(matches!(
            parse_destination("oci-archive:/tmp/x.tar"),
            Err(PushError::Transport { .. })
        ));
        let d = Digest::of(b"x");
        assert!(matches!(
            parse_destination(&format!("quay.io/x/y@{d}")),
            Err(PushError::DigestDestination { .. })
        ));
        assert!(matches!(
            parse_destination("UPPER/case"),
            Err(PushError::Destination { .. })
        ));
    }
}
