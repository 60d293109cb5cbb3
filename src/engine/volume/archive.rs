//! `volume export` and `volume import`: a volume's files as a tar stream
//! and back. Import unpacks with the layer unpacker, so an archive cannot
//! write outside the volume whatever names or links it holds.

use std::io::{Read, Seek, SeekFrom, Write};

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::storage::unpack::{unpack_layer, UnpackOptions, WhiteoutMode};

impl Engine {
    /// Write the files of volume `name` to `out` as a tar stream.
    pub fn export_volume(&self, name: &str, out: &mut dyn Write) -> Result<(), ContainerError> {
        let vol = self.find_volume(name)?;
        let store = self.volumes()?;
        let _lock = store.lock(&vol.name)?;
        crate::engine::container::export::write_dir_tar(&store.data_dir(&vol.name), None, out)
    }

    /// Unpack the tar stream `input` into volume `name` (files already
    /// there stay unless the archive replaces them). The stream is first
    /// kept in a file and read through once, so an archive that is cut
    /// short or corrupt changes nothing.
    pub fn import_volume(
        &self,
        name: &str,
        input: Box<dyn Read + Send>,
    ) -> Result<(), ContainerError> {
        let vol = self.find_volume(name)?;
        let store = self.volumes()?;
        let data = store.data_dir(&vol.name);
        let fail =
            |e: String| ContainerError::Invalid(format!("importing into volume {}: {e}", vol.name));
        let reader =
            crate::storage::compression::decompress(input).map_err(|e| fail(e.to_string()))?;
        let mut spool = tempfile::tempfile_in(self.store().tmp_dir())
            .or_else(|_| tempfile::tempfile())
            .map_err(|e| fail(format!("a temporary file: {e}")))?;
        check_tar(reader, &mut spool).map_err(|e| fail(e.to_string()))?;
        spool
            .seek(SeekFrom::Start(0))
            .map_err(|e| fail(e.to_string()))?;
        let _lock = store.lock(&vol.name)?;
        let opts = UnpackOptions::for_current_process(WhiteoutMode::Apply);
        unpack_layer(spool, &data, &opts).map_err(|e| fail(e.to_string()))?;
        Ok(())
    }
}

/// Copy the tar stream `input` into `spool`, reading every entry: an
/// error means it is not a whole tar archive.
fn check_tar(input: impl Read, spool: &mut std::fs::File) -> std::io::Result<()> {
    let tee = Tee {
        input,
        out: &mut *spool,
    };
    let mut archive = tar::Archive::new(tee);
    let mut any = false;
    for entry in archive.entries()? {
        let mut entry = entry?;
        std::io::copy(&mut entry, &mut std::io::sink())?;
        any = true;
    }
    let mut rest = archive.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink())?;
    if !any {
        return Err(std::io::Error::other("the archive holds no files"));
    }
    Ok(())
}

/// A reader that writes what it reads.
struct Tee<R, W> {
    input: R,
    out: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}
