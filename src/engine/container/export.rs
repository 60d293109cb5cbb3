//! `export`: a container's whole root file system (the image's files with
//! the container's changes) as one tar stream, written by the same code as
//! `cp CONTAINER:PATH -`.

use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;

use crate::engine::container::files::write_tar;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::storage::pack::{PackOptions, Top};

impl Engine {
    /// Write the root file system of `input` as a tar stream to `out`,
    /// owners as the container sees them.
    pub fn export_container(&self, input: &str, out: &mut dyn Write) -> Result<(), ContainerError> {
        self.with_container_root(input, |rec, root| {
            let fd = crate::sys::fs::open_dir(root)
                .map_err(|e| ContainerError::Invalid(format!("{}: {e}", root.display())))?;
            let opts = PackOptions {
                id_mappings: rec.config.id_mappings.as_ref(),
            };
            let mut out = write_tar(
                std::io::BufWriter::with_capacity(1 << 18, out),
                fd.as_fd(),
                OsStr::new("."),
                Top::Contents,
                &opts,
            )?;
            out.flush()
                .map_err(|e| ContainerError::Invalid(format!("writing the archive: {e}")))
        })
    }

    /// [`Engine::export_container`] into the file `path`: written beside it
    /// and renamed over it once complete, so a failure leaves no partial
    /// file.
    pub fn export_container_to_file(&self, input: &str, path: &Path) -> Result<(), ContainerError> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let io_err =
            |e: std::io::Error| ContainerError::Invalid(format!("{}: {e}", path.display()));
        let mut tmp = tempfile::Builder::new()
            .prefix(".skiff-export-")
            .tempfile_in(dir)
            .map_err(io_err)?;
        self.export_container(input, tmp.as_file_mut())?;
        tmp.as_file().sync_all().map_err(io_err)?;
        // tempfile makes it 0600; an export is an ordinary file.
        let mode = 0o666 & !crate::sys::user::umask().unwrap_or(0o022);
        let _ = std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(mode),
        );
        tmp.persist(path).map_err(|e| io_err(e.error))?;
        Ok(())
    }
}
