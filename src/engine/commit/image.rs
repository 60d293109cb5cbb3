//! The parts `commit` and `import` share: a new layer blob written through
//! gzip with its diff id measured, and an image stored around it (layers
//! unpacked, config, manifest, record last).

use std::io::{self, Write};

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::engine::commit::{CommitError, ManifestFormat};
use crate::engine::layer_fill;
use crate::engine::Engine;
use crate::image::digest::{Digest, DigestWriter};
use crate::image::manifest::{self, Descriptor};
use crate::storage::blobs::NewBlob;
use crate::storage::compression::{self, Compression, Compressor};
use crate::storage::images::ImageRecord;

/// A layer blob being written: the uncompressed tar goes in, is hashed
/// (the diff id), compressed with gzip (as podman's commit does) and
/// hashed again (the blob's digest).
pub(crate) struct LayerWriter {
    inner: DigestWriter<Compressor<NewBlob>>,
}

/// A layer blob in the store.
#[derive(Debug, Clone)]
pub(crate) struct NewLayer {
    pub blob: Digest,
    pub blob_size: u64,
    pub diff_id: Digest,
}

impl Write for LayerWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl LayerWriter {
    /// Finish compressing and store the blob.
    pub fn finish(self) -> Result<NewLayer, CommitError> {
        let (diff_id, gz) = self.inner.finish();
        let blob = gz
            .finish()
            .map_err(|source| CommitError::WriteLayer { source })?;
        let (digest, size) = blob.commit()?;
        Ok(NewLayer {
            blob: digest,
            blob_size: size,
            diff_id,
        })
    }
}

/// The image a new one is made on: its layers (as its manifest lists them)
/// and its config.
pub(crate) struct BaseImage {
    pub layers: Vec<Descriptor>,
    pub diff_ids: Vec<Digest>,
    pub config: Map<String, Value>,
}

impl Engine {
    pub(crate) fn layer_writer(&self) -> Result<LayerWriter, CommitError> {
        let werr = |source| CommitError::WriteLayer { source };
        let blob = self.store().blobs().new_blob().map_err(werr)?;
        let gz = compression::compress(blob, Compression::Gzip).map_err(werr)?;
        Ok(LayerWriter {
            inner: DigestWriter::new(gz),
        })
    }

    /// The layers and config of a stored image.
    pub(crate) fn base_image(&self, rec: &ImageRecord) -> Result<BaseImage, CommitError> {
        let err = |message: String| CommitError::BaseImage {
            image: rec.id.hex()[..12].to_string(),
            message,
        };
        let (_, m) = self.stored_manifest(rec).map_err(|e| err(e.to_string()))?;
        let bytes = self.store().blobs().read(&rec.id)?;
        let config: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|e| err(format!("its config: {e}")))?;
        let diff_ids = rec.layers.iter().map(|l| l.diff_id.clone()).collect();
        Ok(BaseImage {
            layers: m.layers,
            diff_ids,
            config,
        })
    }

    /// Store an image of `base`'s layers (shared, not copied) plus `layer`,
    /// with `config` (its `rootfs` is filled in here). Returns the record.
    pub(crate) fn store_image(
        &self,
        base: Option<&BaseImage>,
        layer: &NewLayer,
        mut config: Map<String, Value>,
        format: ManifestFormat,
        names: &[String],
    ) -> Result<ImageRecord, CommitError> {
        let mut layers = Vec::new();
        let mut diff_ids = Vec::new();
        if let Some(b) = base {
            for d in &b.layers {
                let mut d = d.clone();
                d.media_type = layer_media_type(format, &d.media_type)?;
                layers.push(d);
            }
            diff_ids.extend(b.diff_ids.iter().cloned());
        }
        layers.push(Descriptor {
            media_type: layer_media_type(format, manifest::OCI_LAYER_GZIP)?,
            digest: layer.blob.clone(),
            size: layer.blob_size,
            platform: None,
            annotations: None,
            urls: None,
        });
        diff_ids.push(layer.diff_id.clone());
        let plan = layer_fill::plan(&layers, &diff_ids);
        self.ensure_layers_from_blobs(&plan)
            .map_err(|(_, source)| CommitError::Layer { source })?;

        config.insert(
            "rootfs".into(),
            json!({"type": "layers", "diff_ids": diff_ids}),
        );
        let config_bytes = serde_json::to_vec(&config)
            .map_err(|e| CommitError::Format(format!("writing the image config: {e}")))?;
        let blobs = self.store().blobs();
        let config_digest = blobs.put(&config_bytes)?;
        let (manifest_type, config_type) = match format {
            ManifestFormat::Oci => (manifest::OCI_MANIFEST, manifest::OCI_CONFIG),
            ManifestFormat::Docker => (manifest::DOCKER_MANIFEST, manifest::DOCKER_CONFIG),
        };
        let doc = json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {
                "mediaType": config_type,
                "digest": config_digest,
                "size": config_bytes.len(),
            },
            "layers": layers,
        });
        let manifest_bytes = serde_json::to_vec(&doc)
            .map_err(|e| CommitError::Format(format!("writing the manifest: {e}")))?;
        let manifest_digest = blobs.put(&manifest_bytes)?;
        let image_layers = plan
            .iter()
            .map(layer_fill::PlannedLayer::image_layer)
            .collect();
        Ok(self.commit_image(
            &config_digest,
            &manifest_digest,
            manifest_type,
            vec![manifest_digest.clone()],
            image_layers,
            names,
        )?)
    }
}

/// The media type a layer compressed as `original` says has in a manifest
/// of `format`.
fn layer_media_type(format: ManifestFormat, original: &str) -> Result<String, CommitError> {
    let compression = Compression::from_media_type(original).unwrap_or(Compression::Gzip);
    Ok(match (format, compression) {
        (ManifestFormat::Oci, c) => c.oci_layer_media_type().to_string(),
        (ManifestFormat::Docker, Compression::None) => {
            "application/vnd.docker.image.rootfs.diff.tar".to_string()
        }
        (ManifestFormat::Docker, Compression::Gzip) => manifest::DOCKER_LAYER_GZIP.to_string(),
        (ManifestFormat::Docker, Compression::Zstd) => {
            return Err(CommitError::Format(
                "the image has zstd-compressed layers, which the docker format cannot describe: use --format oci".into(),
            ))
        }
    })
}

/// Now, as image configs and history entries give times.
pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A history entry of a new layer.
pub(crate) fn history_entry(
    created: &str,
    created_by: &str,
    author: Option<&str>,
    comment: Option<&str>,
) -> Value {
    let mut h = Map::new();
    h.insert("created".into(), Value::from(created));
    h.insert("created_by".into(), Value::from(created_by));
    if let Some(a) = author {
        h.insert("author".into(), Value::from(a));
    }
    if let Some(c) = comment {
        h.insert("comment".into(), Value::from(c));
    }
    Value::Object(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_media_types_follow_the_manifest_format() {
        let docker = |mt| layer_media_type(ManifestFormat::Docker, mt);
        let oci = |mt| layer_media_type(ManifestFormat::Oci, mt);
        assert_eq!(
            docker(manifest::OCI_LAYER_GZIP).expect("gzip"),
            manifest::DOCKER_LAYER_GZIP
        );
        assert_eq!(
            oci(manifest::DOCKER_LAYER_GZIP).expect("gzip"),
            manifest::OCI_LAYER_GZIP
        );
        assert_eq!(oci(manifest::OCI_LAYER).expect("tar"), manifest::OCI_LAYER);
        assert!(docker(manifest::OCI_LAYER_ZSTD).is_err());
    }
}
