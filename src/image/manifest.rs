//! Manifests and indexes in the OCI and Docker schema2 formats: parsing,
//! validation, and the media types skiff accepts.

use serde::{Deserialize, Serialize};

use crate::image::digest::Digest;
use crate::image::platform::Platform;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_LAYER_FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Every manifest media type skiff asks registries for, preferred first.
pub const ACCEPTED_MANIFESTS: &[&str] = &[OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];

/// Largest manifest or config skiff reads (they are small JSON documents).
pub const MAX_DOCUMENT_SIZE: u64 = 4 << 20;

/// A content descriptor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<DescriptorPlatform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DescriptorPlatform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

/// An image manifest (OCI or Docker schema2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// A parsed manifest document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    Index(ImageIndex),
    Image(Box<ImageManifest>),
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("unsupported manifest media type {0:?} (Docker schema 1 images are not supported; re-push the image with a current tool)")]
    Schema1(String),
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("malformed manifest: {0}")]
    Malformed(#[source] serde_json::Error),
    #[error("invalid manifest: {0}")]
    Invalid(String),
    #[error("unsupported layer media type {0:?}")]
    UnsupportedLayer(String),
    #[error("no image for platform {wanted} in the manifest list (it has: {available})")]
    NoPlatform { wanted: String, available: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    config: Option<serde_json::Value>,
}

impl Manifest {
    /// Parse a manifest. `content_type` is what the registry or archive
    /// declared; the document's own `mediaType` and shape decide when it is
    /// absent or generic.
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Self, ManifestError> {
        let probe: Probe = serde_json::from_slice(bytes).map_err(ManifestError::Malformed)?;
        let declared = content_type
            .map(|c| c.split(';').next().unwrap_or(c).trim())
            .filter(|c| !c.is_empty() && *c != "application/json" && *c != "text/plain");
        let media = declared
            .map(str::to_string)
            .or(probe.media_type.clone())
            .unwrap_or_else(|| {
                if probe.manifests.is_some() {
                    OCI_INDEX.to_string()
                } else {
                    OCI_MANIFEST.to_string()
                }
            });
        match media.as_str() {
            DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => Err(ManifestError::Schema1(media)),
            _ if probe.schema_version == Some(1) => Err(ManifestError::Schema1(media)),
            OCI_INDEX | DOCKER_LIST => {
                let idx: ImageIndex =
                    serde_json::from_slice(bytes).map_err(ManifestError::Malformed)?;
                if idx.schema_version != 2 {
                    return Err(ManifestError::Invalid(format!(
                        "schemaVersion {}",
                        idx.schema_version
                    )));
                }
                Ok(Manifest::Index(idx))
            }
            OCI_MANIFEST | DOCKER_MANIFEST => {
                if probe.config.is_none() {
                    return Err(ManifestError::Invalid("no config descriptor".into()));
                }
                let m: ImageManifest =
                    serde_json::from_slice(bytes).map_err(ManifestError::Malformed)?;
                if m.schema_version != 2 {
                    return Err(ManifestError::Invalid(format!(
                        "schemaVersion {}",
                        m.schema_version
                    )));
                }
                for l in &m.layers {
                    layer_compression(&l.media_type)?;
                }
                Ok(Manifest::Image(Box::new(m)))
            }
            other => Err(ManifestError::UnsupportedMediaType(other.to_string())),
        }
    }
}

/// How a layer blob is compressed, judged by its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerCompression {
    None,
    Gzip,
    Zstd,
}

pub fn layer_compression(media_type: &str) -> Result<LayerCompression, ManifestError> {
    match media_type {
        OCI_LAYER | "application/vnd.oci.image.layer.nondistributable.v1.tar" => {
            Ok(LayerCompression::None)
        }
        OCI_LAYER_GZIP
        | DOCKER_LAYER_GZIP
        | DOCKER_LAYER_FOREIGN
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" => {
            Ok(LayerCompression::Gzip)
        }
        OCI_LAYER_ZSTD | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => {
            Ok(LayerCompression::Zstd)
        }
        other => Err(ManifestError::UnsupportedLayer(other.to_string())),
    }
}

impl ImageIndex {
    /// The best manifest for `platform`.
    pub fn select(&self, platform: &Platform) -> Result<&Descriptor, ManifestError> {
        self.manifests
            .iter()
            .filter(|d| {
                d.platform
                    .as_ref()
                    .is_some_and(|p| platform.matches(&p.os, &p.architecture, p.variant.as_deref()))
            })
            .max_by_key(|d| platform.score(d.platform.as_ref().and_then(|p| p.variant.as_deref())))
            .ok_or_else(|| ManifestError::NoPlatform {
                wanted: platform.to_string(),
                available: self
                    .manifests
                    .iter()
                    .filter_map(|d| d.platform.as_ref())
                    .map(|p| {
                        let mut s = format!("{}/{}", p.os, p.architecture);
                        if let Some(v) = &p.variant {
                            s.push('/');
                            s.push_str(v);
                        }
                        s
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(os: &str, arch: &str, variant: Option<&str>, n: u8) -> serde_json::Value {
        let mut p = serde_json::json!({"os": os, "architecture": arch});
        if let Some(v) = variant {
            p["variant"] = v.into();
        }
        serde_json::json!({"mediaType": OCI_MANIFEST, "digest": Digest::of(&[n]).to_string(), "size": 1, "platform": p})
    }

    #[test]
    fn selects_platform_from_index() {
        let doc = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            desc("linux", "amd64", None, 1), desc("linux", "arm64", Some("v8"), 2), desc("linux", "arm", Some("v7"), 3)]});
        let Manifest::Index(idx) =
            Manifest::parse(&serde_json::to_vec(&doc).expect("json"), None).expect("parse")
        else {
            panic!("not an index")
        };
        let pick = |p: &str| {
            idx.select(&p.parse().expect("platform"))
                .map(|d| d.digest.clone())
        };
        assert_eq!(pick("linux/arm64").expect("arm64"), Digest::of(&[2]));
        assert_eq!(pick("linux/arm/v7").expect("armv7"), Digest::of(&[3]));
        let err = pick("linux/s390x").expect_err("absent");
        assert!(err.to_string().contains("linux/arm/v7"), "{err}");
    }

    #[test]
    fn rejects_schema1_and_unknown_types() {
        let s1 = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        assert!(matches!(
            Manifest::parse(s1, None),
            Err(ManifestError::Schema1(_))
        ));
        assert!(matches!(
            Manifest::parse(b"{}", Some("application/x-foo")),
            Err(ManifestError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            Manifest::parse(b"{not json", None),
            Err(ManifestError::Malformed(_))
        ));
    }

    #[test]
    fn rejects_unknown_layer_types() {
        let d = Digest::of(b"");
        let doc = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": d.to_string(), "size": 0},
            "layers": [{"mediaType": "application/x-weird", "digest": d.to_string(), "size": 0}]});
        let err = Manifest::parse(&serde_json::to_vec(&doc).expect("json"), None).expect_err("bad");
        assert!(matches!(err, ManifestError::UnsupportedLayer(_)));
    }
}
