//! The image configuration document (OCI image-spec config.md; Docker's is a
//! superset): what a container of the image runs, and the layer diff ids.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::image::digest::Digest;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<RunConfig>,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
}

/// Defaults for containers run from the image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    pub diff_ids: Vec<Digest>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("malformed image config: {0}")]
    Malformed(#[source] serde_json::Error),
    #[error("invalid image config: rootfs type is {0:?}, expected \"layers\"")]
    RootFsType(String),
    #[error("invalid image config: it lists {diff_ids} layer diff ids but the manifest has {layers} layers")]
    LayerCount { diff_ids: usize, layers: usize },
}

impl ImageConfig {
    /// Parse and validate a config for a manifest with `layers` layers.
    pub fn parse(bytes: &[u8], layers: usize) -> Result<Self, ConfigError> {
        let c: ImageConfig = serde_json::from_slice(bytes).map_err(ConfigError::Malformed)?;
        if c.rootfs.kind != "layers" {
            return Err(ConfigError::RootFsType(c.rootfs.kind));
        }
        if c.rootfs.diff_ids.len() != layers {
            return Err(ConfigError::LayerCount {
                diff_ids: c.rootfs.diff_ids.len(),
                layers,
            });
        }
        Ok(c)
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        self.config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_rootfs() {
        let d = Digest::of(b"x");
        let ok = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{d}"]}},"config":{{"Cmd":["sh"],"Labels":{{"a":"b"}}}}}}"#
        );
        let c = ImageConfig::parse(ok.as_bytes(), 1).expect("valid");
        assert_eq!(c.labels().get("a").map(String::as_str), Some("b"));
        assert!(matches!(
            ImageConfig::parse(ok.as_bytes(), 2),
            Err(ConfigError::LayerCount { .. })
        ));
        assert!(matches!(
            ImageConfig::parse(b"[]", 0),
            Err(ConfigError::Malformed(_))
        ));
    }
}
