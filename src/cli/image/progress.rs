//! Progress lines of push, save and load on stderr, worded as podman's
//! (`Copying blob sha256:...`); `-q` turns them off.

use std::io::Write;

use crate::engine::copy::{BlobCopy, CopyObserver};
use crate::image::digest::Digest;

/// Prints each event as one line on stderr.
pub struct CopyLines;

fn line(text: std::fmt::Arguments<'_>) {
    // Progress is best effort: a closed stderr must not fail the command.
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

impl CopyObserver for CopyLines {
    fn starting(&self) {
        line(format_args!("Getting image source signatures"));
    }

    fn blob(&self, digest: &Digest, what: BlobCopy) {
        match what {
            BlobCopy::Copying => line(format_args!("Copying blob {digest}")),
            BlobCopy::Exists => line(format_args!(
                "Copying blob {digest} skipped: already exists"
            )),
            BlobCopy::Mounted => line(format_args!(
                "Copying blob {digest} skipped: mounted from another repository"
            )),
        }
    }

    fn config(&self, digest: &Digest) {
        line(format_args!("Copying config {digest}"));
    }

    fn writing_manifest(&self) {
        line(format_args!("Writing manifest to image destination"));
    }
}
