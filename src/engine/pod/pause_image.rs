//! The image infra containers run: skiff's own pause program (skiff-init
//! `--pause`, static and libc-free) as the only file, made locally on first
//! use instead of pulled, as podman makes its podman-pause image. The tag
//! carries a digest of the program, so a new skiff makes a new image.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::engine::archive::load::LoadInput;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::image::digest::Digest;

/// Where the program is in the image.
pub const PAUSE_PATH: &str = "/pause";

/// The repository of the image.
pub const PAUSE_REPO: &str = "localhost/skiff-pause";

/// The image's name for the pause program `program`.
pub fn pause_image_name(program: &[u8]) -> String {
    let digest = Digest::of(program);
    format!(
        "{PAUSE_REPO}:{}-{}",
        env!("CARGO_PKG_VERSION"),
        &digest.hex()[..12]
    )
}

/// One layer holding `program` at [`PAUSE_PATH`], every field fixed so the
/// same program always gives the same layer.
fn layer(program: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(program.len() as u64);
    b.append_data(&mut h, PAUSE_PATH.trim_start_matches('/'), program)?;
    b.into_inner()
}

/// Write an OCI layout of the pause image into `dir`.
fn write_layout(dir: &Path, program: &[u8], name: &str) -> std::io::Result<()> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    let put = |bytes: &[u8]| -> std::io::Result<(Digest, usize)> {
        let d = Digest::of(bytes);
        let mut f = std::fs::File::create(blobs.join(d.hex()))?;
        f.write_all(bytes)?;
        Ok((d, bytes.len()))
    };
    let layer = layer(program)?;
    let (layer_digest, layer_size) = put(&layer)?;
    let platform = crate::image::platform::Platform::host();
    let config = json!({
        "architecture": platform.architecture,
        "os": "linux",
        "config": {
            "Entrypoint": [PAUSE_PATH, "--pause"],
            "StopSignal": "SIGTERM",
            "Labels": {"io.skiff.pause": "true"},
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest.to_string()]},
        "history": [{"created_by": "skiff: the pause program of infra containers"}],
    });
    let (config_digest, config_size) = put(&serde_json::to_vec(&config)?)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest.to_string(),
            "size": config_size,
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": layer_digest.to_string(),
            "size": layer_size,
        }],
    });
    let (manifest_digest, manifest_size) = put(&serde_json::to_vec(&manifest)?)?;
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest.to_string(),
            "size": manifest_size,
            "annotations": {crate::engine::archive::oci::REF_NAME: name},
        }],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)?;
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(())
}

impl Engine {
    /// The pause image's name, made in the store first if it is not there.
    pub fn ensure_pause_image(&self) -> Result<String, ContainerError> {
        let path = crate::engine::container::binaries::init_program()?;
        let program = std::fs::read(&path).map_err(|e| {
            ContainerError::Invalid(format!("reading the pause program {}: {e}", path.display()))
        })?;
        let name = pause_image_name(&program);
        if self.lookup_image(&name).is_ok() {
            return Ok(name);
        }
        let tmp = self.store().tmp_dir();
        crate::config::paths::ensure_private_dir(&tmp)
            .map_err(|e| ContainerError::Invalid(format!("creating {}: {e}", tmp.display())))?;
        let dir = tempfile::Builder::new()
            .prefix("pause-")
            .tempdir_in(&tmp)
            .map_err(|e| {
                ContainerError::Invalid(format!("creating a directory in {}: {e}", tmp.display()))
            })?;
        write_layout(dir.path(), &program, &name)
            .map_err(|e| ContainerError::Invalid(format!("writing the pause image: {e}")))?;
        self.load(
            LoadInput::Path(dir.path().to_owned()),
            &crate::engine::copy::Quiet,
        )
        .map_err(|e| ContainerError::Invalid(format!("storing the pause image: {e}")))?;
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layer_and_name_depend_on_the_program_only() {
        let a = layer(b"program").expect("layer");
        assert_eq!(a, layer(b"program").expect("layer"));
        assert_ne!(a, layer(b"other").expect("layer"));
        let mut entries = tar::Archive::new(&a[..]);
        let names: Vec<String> = entries
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["pause"]);
        let n = pause_image_name(b"program");
        assert!(n.starts_with("localhost/skiff-pause:"), "{n}");
        assert_ne!(n, pause_image_name(b"other"));
    }
}
