//! Image archives: `save` writes stored images as a docker-archive (what
//! `docker save` writes), an oci-archive (a tar of an OCI image layout) or an
//! oci-dir (the layout as a directory); `load` reads any of these, and the
//! `dir` layout of podman's docker-dir, back into the store.
//!
//! Layout references: the OCI image-layout specification
//! (<https://github.com/opencontainers/image-spec/blob/main/image-layout.md>)
//! and Docker's image specification v1.2 for `manifest.json`.

pub mod docker_archive;
pub mod import;
pub mod load;
pub mod members;
pub mod oci;
pub mod save;
pub mod sink;

use std::io;
use std::path::PathBuf;

use crate::engine::images::StoredManifestError;
use crate::engine::lookup::LookupError;
use crate::image::config::ConfigError;
use crate::image::digest::Digest;
use crate::image::manifest::ManifestError;
use crate::image::reference::ReferenceError;
use crate::storage::blobs::BlobError;
use crate::storage::compression::DecompressError;
use crate::storage::layers::LayerError;
use crate::storage::StoreError;
use members::MemberError;

/// The formats `save` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFormat {
    DockerArchive,
    OciArchive,
    OciDir,
}

impl SaveFormat {
    pub fn name(self) -> &'static str {
        match self {
            SaveFormat::DockerArchive => "docker-archive",
            SaveFormat::OciArchive => "oci-archive",
            SaveFormat::OciDir => "oci-dir",
        }
    }

    /// Whether the format is a directory rather than one stream.
    pub fn is_dir(self) -> bool {
        matches!(self, SaveFormat::OciDir)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unsupported format {0:?}: use docker-archive, oci-archive or oci-dir")]
pub struct UnknownSaveFormat(String);

impl std::str::FromStr for SaveFormat {
    type Err = UnknownSaveFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "docker-archive" => Ok(SaveFormat::DockerArchive),
            "oci-archive" => Ok(SaveFormat::OciArchive),
            "oci-dir" => Ok(SaveFormat::OciDir),
            other => Err(UnknownSaveFormat(other.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("{image}: {source}")]
    Blob {
        image: String,
        #[source]
        source: BlobError,
    },
    #[error("{image}: {source}")]
    StoredManifest {
        image: String,
        #[source]
        source: StoredManifestError,
    },
    #[error("{image}: layer {blob}: {source}")]
    Decompress {
        image: String,
        blob: Digest,
        #[source]
        source: DecompressError,
    },
    #[error("{image}: layer {blob} uncompresses to {actual}, but the image says {expected}")]
    DiffMismatch {
        image: String,
        blob: Digest,
        expected: Digest,
        actual: Digest,
    },
    #[error("writing {what}: {source}")]
    Write {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("reading the index of the layout already in {path}: {source}")]
    ExistingIndex {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the {format} format needs an output path (-o)")]
    NeedsPath { format: &'static str },
    #[error("no image to save")]
    NoImages,
}

impl SaveError {
    /// Writing `what` failed.
    pub(crate) fn write(what: impl Into<String>) -> impl FnOnce(io::Error) -> SaveError {
        let what = what.into();
        move |source| SaveError::Write { what, source }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
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
    #[error("writing a scratch copy of the input in {path}: {source}")]
    Scratch {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("decompressing the input: {source}")]
    Decompress {
        #[source]
        source: io::Error,
    },
    #[error("malformed {kind}: {source}")]
    Member {
        kind: &'static str,
        #[source]
        source: MemberError,
    },
    #[error("payload does not match any of the supported image formats (docker-archive, oci-archive, oci-dir, docker-dir): {detail}")]
    UnknownFormat { detail: String },
    #[error("malformed {file}: {detail}")]
    Malformed { file: String, detail: String },
    #[error("{image}: {source}")]
    Manifest {
        image: String,
        #[source]
        source: ManifestError,
    },
    #[error("{image}: {source}")]
    Config {
        image: String,
        #[source]
        source: ConfigError,
    },
    #[error("{image}: {what} has digest {actual}, but {expected} was expected")]
    DigestMismatch {
        image: String,
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("{image}: {source}")]
    Blob {
        image: String,
        #[source]
        source: BlobError,
    },
    #[error("{image}: layer {blob}: {source}")]
    Layer {
        image: String,
        blob: Digest,
        #[source]
        source: LayerError,
    },
    #[error("{image}: invalid image name {name:?} in the archive: {source}")]
    Name {
        image: String,
        name: String,
        #[source]
        source: ReferenceError,
    },
    #[error("the {kind} holds no images")]
    Empty { kind: &'static str },
}

impl LoadError {
    pub(crate) fn member(kind: &'static str) -> impl Fn(MemberError) -> LoadError {
        move |source| LoadError::Member { kind, source }
    }

    pub(crate) fn malformed(file: &str, detail: impl ToString) -> LoadError {
        LoadError::Malformed {
            file: file.to_string(),
            detail: detail.to_string(),
        }
    }
}

/// One image `load` stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    pub id: Digest,
    /// Full names given to it (none for an untagged image).
    pub names: Vec<String>,
}

/// What `save` puts in an archive for each name given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveNames {
    /// The first name is the image; the others are more tags for it
    /// (podman's default).
    FirstIsImage,
    /// Every name is an image (`--multi-image-archive`).
    EachIsImage,
}
