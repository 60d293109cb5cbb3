//! New images made here rather than pulled: `commit` (a container's changes
//! as one more layer over its image), `import` (a tar of a file system as
//! a one-layer image), and `diff`, which lists what `commit` would record.
//!
//! Both writers go the way a pull goes once the bytes are here: the layer
//! is written as a gzip blob (its diff id measured on the way), unpacked
//! into the store by [`Engine::ensure_layers_from_blobs`] (which checks the
//! diff id again), then the config and the manifest are stored, and the
//! image record is written last, so a failure leaves no image; what it had
//! stored is collected.

mod container;
mod diff;
mod image;
mod import;

use std::io;
use std::path::PathBuf;

use crate::engine::container::ContainerError;
use crate::engine::lookup::LookupError;
use crate::image::change::Instruction;
use crate::image::reference::ReferenceError;
use crate::storage::blobs::BlobError;
use crate::storage::layers::LayerError;
use crate::storage::StoreError;

pub use diff::DiffTarget;
pub use import::ImportSource;

/// The manifest format of a new image (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ManifestFormat {
    #[default]
    Oci,
    /// Docker image manifest v2, schema 2.
    Docker,
}

impl std::str::FromStr for ManifestFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "oci" => Ok(ManifestFormat::Oci),
            "docker" => Ok(ManifestFormat::Docker),
            other => Err(format!(
                "unrecognized image format {other:?}: use oci or docker"
            )),
        }
    }
}

/// Whether a running container is frozen while its files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    Yes,
    No,
}

/// Typed options of `commit`.
#[derive(Debug, Clone)]
pub struct CommitOptions {
    pub container: String,
    /// Full name for the image (see [`crate::engine::images::normalize_new_name`]).
    pub name: Option<String>,
    pub message: Option<String>,
    pub author: Option<String>,
    pub changes: Vec<Instruction>,
    pub pause: Pause,
    pub format: ManifestFormat,
}

/// Typed options of `import`.
#[derive(Debug)]
pub struct ImportOptions {
    pub source: ImportSource,
    pub name: Option<String>,
    pub message: Option<String>,
    pub changes: Vec<Instruction>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid image name {name:?}: {source}")]
    Name {
        name: String,
        #[source]
        source: ReferenceError,
    },
    #[error("{0}: no such container or image")]
    NoSuchObject(String),
    #[error("the image {image} of container {container} is gone from the store")]
    ImageGone { image: String, container: String },
    #[error("reading the changes of {what}: {source}")]
    Changes {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("writing the new layer: {source}")]
    WriteLayer {
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("storing the new layer: {source}")]
    Layer {
        #[source]
        source: LayerError,
    },
    #[error("the image {image}: {message}")]
    BaseImage { image: String, message: String },
    #[error("{0}")]
    Format(String),
    #[error("reading {path}: {source}")]
    Input {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading standard input: {source}")]
    Stdin {
        #[source]
        source: io::Error,
    },
    #[error("downloading {url}: {message}")]
    Download { url: String, message: String },
    #[error("{what} is not a tar archive of a file system: {detail}")]
    NotATar { what: String, detail: String },
}
