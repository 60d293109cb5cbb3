//! The one error type of unpacking: each variant names the entry (relative
//! to the layer root) and the step that failed.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// The metadata step that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataStep {
    Owner,
    Mode,
    Times,
}

impl fmt::Display for MetadataStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MetadataStep::Owner => "owner",
            MetadataStep::Mode => "mode",
            MetadataStep::Times => "times",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("opening layer directory {path}: {source}")]
    OpenDest {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading the layer archive: {source}")]
    Tar {
        #[source]
        source: io::Error,
    },
    #[error("layer entry {path:?}: bad header: {source}")]
    Header {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("layer entry {path:?} points outside the layer")]
    Escape { path: PathBuf },
    #[error("layer entry {path:?} has an invalid name")]
    InvalidName { path: PathBuf },
    #[error("layer entry {path:?} lies beyond a symlink in the layer; refusing to follow it")]
    SymlinkInPath { path: PathBuf },
    #[error("layer entry {path:?}: a parent is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("layer entry {path:?} has unsupported type {kind:?}")]
    Unsupported { path: PathBuf, kind: char },
    #[error("layer entry {path:?}: {kind} {id} has no mapping to a host id")]
    Unmapped {
        path: PathBuf,
        kind: &'static str,
        id: u64,
    },
    #[error("creating {path:?}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing {path:?}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("setting the {step} of {path:?}: {source}")]
    Metadata {
        path: PathBuf,
        step: MetadataStep,
        #[source]
        source: io::Error,
    },
    #[error("setting xattr {name} on {path:?}: {source}")]
    Xattr {
        path: PathBuf,
        name: String,
        #[source]
        source: io::Error,
    },
    #[error("hardlink {path:?} -> {target:?} points outside the layer or through a symlink")]
    HardlinkEscape { path: PathBuf, target: PathBuf },
    #[error("hardlink {path:?} -> {target:?}: the target is a directory")]
    HardlinkToDirectory { path: PathBuf, target: PathBuf },
    #[error("hardlink {path:?} -> {target:?}: {source}")]
    Hardlink {
        path: PathBuf,
        target: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("applying whiteout {path:?}: {source}")]
    Whiteout {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("whiteout {path:?}: the kernel refused a 0:0 device node and the overlay whiteout xattr ({source}); unpack as root, in a user namespace on Linux >= 5.8, or use the vfs driver")]
    WhiteoutUnsupported {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("marking {path:?} opaque: {source}")]
    Opaque {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("syncing {path}: {source}")]
    Sync {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
