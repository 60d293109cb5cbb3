//! skiff.conf: the engine's own settings (TOML), overridden by command-line flags.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::ConfigFileError;

/// The parts of skiff.conf skiff understands. Unknown keys are an error, so a
/// typo does not silently do nothing.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SkiffConf {
    #[serde(default)]
    pub storage: StorageConf,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StorageConf {
    /// `overlay` or `vfs`.
    pub driver: Option<String>,
    pub root: Option<PathBuf>,
    pub runroot: Option<PathBuf>,
}

impl SkiffConf {
    /// Load `path`; a missing file is the default configuration.
    pub fn load(path: &Path) -> Result<Self, ConfigFileError> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|source| ConfigFileError::Parse {
                path: path.to_owned(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigFileError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_storage_section_and_rejects_typos() {
        let c: SkiffConf = toml::from_str("[storage]\ndriver = \"vfs\"\n").expect("valid");
        assert_eq!(c.storage.driver.as_deref(), Some("vfs"));
        assert!(toml::from_str::<SkiffConf>("[storage]\ndirver = \"vfs\"\n").is_err());
    }
}
