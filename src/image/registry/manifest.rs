//! Manifests over the wire: fetch (with content negotiation and digest
//! checks), probe with HEAD, and push.

use std::io::Read;

use serde::Deserialize;

use super::client::{Access, RegistryClient};
use super::error::{Context, Operation, RegistryError};
use super::request::{drain, Body, Call};
use crate::image::digest::Digest;
use crate::image::manifest::{
    ACCEPTED_MANIFESTS, DOCKER_SCHEMA1, MAX_DOCUMENT_SIZE, OCI_INDEX, OCI_MANIFEST,
};

/// A manifest or index exactly as the registry served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawManifest {
    pub bytes: Vec<u8>,
    /// One of the four accepted media types.
    pub media_type: String,
    /// sha256 of `bytes`.
    pub digest: Digest,
}

/// What a `HEAD` on a manifest tells, without the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    /// From `Docker-Content-Digest`, or the reference itself when it is a
    /// digest; `None` if the registry sent neither.
    pub digest: Option<Digest>,
    pub media_type: Option<String>,
    pub size: Option<u64>,
}

impl RegistryClient {
    /// Fetch the manifest or index named by `reference` (a tag or a
    /// `sha256:` digest). When `reference` is a digest the body must hash to
    /// it; otherwise the digest is computed, and a disagreeing
    /// `Docker-Content-Digest` is only logged. Docker schema 1 and unknown
    /// media types give [`RegistryError::UnsupportedMediaType`], 404 gives
    /// [`RegistryError::ManifestNotFound`].
    pub fn get_manifest(&self, reference: &str) -> Result<RawManifest, RegistryError> {
        let context = self.context(Operation::ReadManifest(reference.to_string()));
        let url = self.manifest_url(&context, reference)?;
        let call = Call::new("GET", url).header("Accept", ACCEPTED_MANIFESTS.join(", "));
        let resp = self.send(&context, Access::Pull, call)?;
        match resp.status() {
            200 => {}
            404 => return Err(not_found(&context, resp)),
            _ => return Err(self.failure(&context, resp)),
        }
        let too_large = || RegistryError::ManifestTooLarge {
            context: Box::new(context.clone()),
            limit: MAX_DOCUMENT_SIZE,
        };
        if content_length(&resp).is_some_and(|len| len > MAX_DOCUMENT_SIZE) {
            return Err(too_large());
        }
        let header_digest = header_digest(&resp);
        let content_type = resp.header("content-type").map(str::to_string);
        let mut bytes = Vec::new();
        resp.into_reader()
            .take(MAX_DOCUMENT_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| RegistryError::Body {
                context: Box::new(context.clone()),
                source,
            })?;
        if bytes.len() as u64 > MAX_DOCUMENT_SIZE {
            return Err(too_large());
        }
        let digest = Digest::of(&bytes);
        if let Ok(expected) = reference.parse::<Digest>() {
            check_digest(&context, &expected, &digest)?;
        } else if let Some(header) = header_digest.filter(|h| *h != digest) {
            tracing::warn!(%header, computed = %digest, %reference, "Docker-Content-Digest disagrees with the manifest body");
        }
        let media_type = media_type(content_type.as_deref(), &bytes);
        if !ACCEPTED_MANIFESTS.contains(&media_type.as_str()) {
            return Err(RegistryError::UnsupportedMediaType {
                context: Box::new(context),
                media_type,
            });
        }
        Ok(RawManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// `HEAD` the manifest: `None` if it does not exist.
    pub fn head_manifest(&self, reference: &str) -> Result<Option<ManifestHead>, RegistryError> {
        let context = self.context(Operation::CheckManifest(reference.to_string()));
        let url = self.manifest_url(&context, reference)?;
        let call = Call::new("HEAD", url).header("Accept", ACCEPTED_MANIFESTS.join(", "));
        let resp = self.send(&context, Access::Pull, call)?;
        match resp.status() {
            200 => {}
            404 => return Ok(None),
            _ => return Err(self.failure(&context, resp)),
        }
        let mut digest = header_digest(&resp);
        if let Ok(expected) = reference.parse::<Digest>() {
            if let Some(actual) = &digest {
                check_digest(&context, &expected, actual)?;
            }
            digest = Some(expected);
        }
        let head = ManifestHead {
            digest,
            media_type: resp
                .header("content-type")
                .map(|c| strip_params(c).to_string()),
            size: content_length(&resp),
        };
        drain(resp);
        Ok(Some(head))
    }

    /// Push a manifest under a tag or its digest; returns its digest. The
    /// registry's `Docker-Content-Digest`, when sent, must agree.
    pub fn put_manifest(
        &self,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<Digest, RegistryError> {
        let context = self.context(Operation::WriteManifest(reference.to_string()));
        if bytes.len() as u64 > MAX_DOCUMENT_SIZE {
            return Err(RegistryError::ManifestTooLarge {
                context: Box::new(context),
                limit: MAX_DOCUMENT_SIZE,
            });
        }
        let digest = Digest::of(bytes);
        if let Ok(expected) = reference.parse::<Digest>() {
            check_digest(&context, &expected, &digest)?;
        }
        let url = self.manifest_url(&context, reference)?;
        let call = Call::new("PUT", url)
            .header("Content-Type", media_type)
            .body(Body::Bytes(bytes));
        let resp = self.send(&context, Access::Push, call)?;
        if !(200..=299).contains(&resp.status()) {
            return Err(self.failure(&context, resp));
        }
        if let Some(stored) = header_digest(&resp) {
            check_digest(&context, &digest, &stored)?;
        }
        drain(resp);
        Ok(digest)
    }

    fn manifest_url(&self, context: &Context, reference: &str) -> Result<String, RegistryError> {
        Ok(format!(
            "{}/v2/{}/manifests/{reference}",
            self.base_url(context)?,
            self.repository
        ))
    }
}

fn not_found(context: &Context, resp: ureq::Response) -> RegistryError {
    drain(resp);
    RegistryError::ManifestNotFound {
        context: Box::new(context.clone()),
    }
}

pub(super) fn check_digest(
    context: &Context,
    expected: &Digest,
    actual: &Digest,
) -> Result<(), RegistryError> {
    if expected == actual {
        return Ok(());
    }
    Err(RegistryError::DigestMismatch {
        context: Box::new(context.clone()),
        expected: Box::new(expected.clone()),
        actual: Box::new(actual.clone()),
    })
}

pub(super) fn content_length(resp: &ureq::Response) -> Option<u64> {
    resp.header("content-length")?.trim().parse().ok()
}

fn header_digest(resp: &ureq::Response) -> Option<Digest> {
    resp.header("docker-content-digest")?.trim().parse().ok()
}

fn strip_params(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

#[derive(Deserialize)]
struct Sniff {
    #[serde(default, rename = "schemaVersion")]
    schema_version: Option<u64>,
    #[serde(default, rename = "mediaType")]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
}

/// The manifest's media type: the Content-Type, unless it is missing or
/// generic (some registries serve `application/json`), then the document's
/// own `mediaType`, then its shape. Schema 1 is named so it can be refused.
fn media_type(content_type: Option<&str>, body: &[u8]) -> String {
    let declared = content_type.map(strip_params).unwrap_or("");
    if !matches!(
        declared,
        "" | "application/json" | "text/plain" | "application/octet-stream"
    ) {
        return declared.to_string();
    }
    let Ok(sniff) = serde_json::from_slice::<Sniff>(body) else {
        return declared.to_string();
    };
    if sniff.schema_version == Some(1) {
        return DOCKER_SCHEMA1.to_string();
    }
    match (sniff.media_type, sniff.manifests) {
        (Some(m), _) if !m.is_empty() => m,
        (_, Some(_)) => OCI_INDEX.to_string(),
        _ => OCI_MANIFEST.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::manifest::DOCKER_MANIFEST;

    #[test]
    fn media_type_from_header_or_body() {
        assert_eq!(
            media_type(
                Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
                b""
            ),
            OCI_MANIFEST
        );
        assert_eq!(
            media_type(
                Some("application/json"),
                br#"{"schemaVersion":2,"manifests":[]}"#
            ),
            OCI_INDEX
        );
        assert_eq!(
            media_type(
                None,
                br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#
            ),
            DOCKER_MANIFEST
        );
        assert_eq!(
            media_type(None, br#"{"schemaVersion":2,"config":{},"layers":[]}"#),
            OCI_MANIFEST
        );
        assert_eq!(
            media_type(
                Some("application/json"),
                br#"{"schemaVersion":1,"fsLayers":[]}"#
            ),
            "application/vnd.docker.distribution.manifest.v1+json"
        );
        assert_eq!(
            media_type(
                Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
                b"{}"
            ),
            "application/vnd.docker.distribution.manifest.v1+prettyjws"
        );
    }
}
