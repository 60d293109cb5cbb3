//! Progress events of copying an image between the store and somewhere else
//! (a registry on push, an archive on save and load), for a display to show.

use crate::image::digest::Digest;

/// What happened to one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobCopy {
    /// Its bytes are being copied.
    Copying,
    /// The destination already had it.
    Exists,
    /// The registry linked it from another repository.
    Mounted,
}

/// Events of a push, save or load, in the order they happen.
pub trait CopyObserver: Sync {
    /// Before the first blob.
    fn starting(&self) {}
    fn blob(&self, _digest: &Digest, _what: BlobCopy) {}
    fn config(&self, _digest: &Digest) {}
    fn writing_manifest(&self) {}
}

/// A copy with nobody watching.
pub struct Quiet;
impl CopyObserver for Quiet {}
