//! Configuration: where the store lives, which driver and runtime to use, and
//! the shared container-tool configuration files skiff reads.

use std::path::PathBuf;

pub mod containers_conf;
pub mod paths;
pub mod registries;
pub mod skiff_conf;

/// A configuration file that could not be read or is not valid TOML.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
}
