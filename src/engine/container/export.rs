//! `export`: a container's whole root file system (the image's files with
//! the container's changes) as one tar stream, written by the same code as
//! `cp CONTAINER:PATH -` (and `volume export`).

use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;

use crate::engine::container::files::write_tar;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::idmap::IdMappings;
use crate::storage::pack::{PackOptions, Top};

/// The contents of directory `dir` as a tar stream to `out`, symlinks
/// stored as links and never followed; owners mapped back through
/// `id_mappings` when the files belong to a container with its own.
pub fn write_dir_tar(
    dir: &Path,
    id_mappings: Option<&IdMappings>,
    out: &mut dyn Write,
) -> Result<(), ContainerError> {
    let fd = crate::sys::fs::open_dir(dir)
        .map_err(|e| ContainerError::Invalid(format!("{}: {e}", dir.display())))?;
    let opts = PackOptions { id_mappings };
    let mut out = write_tar(
        std::io::BufWriter::with_capacity(1 << 18, out),
        fd.as_fd(),
        OsStr::new("."),
        Top::Contents,
        &opts,
    )?;
    out.flush()
        .map_err(|e| ContainerError::Invalid(format!("writing the archive: {e}")))
}

impl Engine {
    /// Write the root file system of `input` as a tar stream to `out`,
    /// owners as the container sees them.
    pub fn export_container(&self, input: &str, out: &mut dyn Write) -> Result<(), ContainerError> {
        self.with_container_root(input, |rec, root| {
            write_dir_tar(root, rec.config.id_mappings.as_ref(), out)
        })
    }
}
