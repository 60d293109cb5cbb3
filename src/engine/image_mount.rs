//! `image mount`/`image umount`: read-only views of images' files under
//! `<runroot>/image-mounts/<id>/merged`, each with a count of holds
//! (`count` beside it) so that several users, and later `--mount
//! type=image`, share one mount and the last to leave unmounts it. Counts
//! change under one lock (`image-mounts/lock`).

use std::path::{Path, PathBuf};

use crate::engine::lookup::LookupError;
use crate::engine::Engine;
use crate::image::digest::Digest;
use crate::storage::lock::{lock, LockGuard, LockMode};
use crate::storage::mount::{is_mountpoint, MountError};
use crate::storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ImageMountError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error("image {image} is not mounted")]
    NotMounted { image: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How a hold is given back (see `container::mount::Release`).
pub use crate::engine::container::mount::Release;

/// A mounted image, for `image mount` without arguments.
#[derive(Debug, Clone)]
pub struct MountedImage {
    pub id: Digest,
    pub names: Vec<String>,
    pub path: PathBuf,
}

/// The images a running container holds mounted, one id per line, in its
/// run directory.
const HELD_IMAGES: &str = "held-images";

/// Read-write image mounts: `<rundir>/image-rw/N` (mounted) over
/// `<userdata>/image-rw/N` (the upper layer).
const IMAGE_RW: &str = "image-rw";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ImageMountError + '_ {
    move |source| ImageMountError::Io {
        path: path.to_owned(),
        source,
    }
}

fn count(dir: &Path) -> u32 {
    crate::storage::record::read_count(&dir.join("count"))
}

fn set_count(dir: &Path, n: u32) -> Result<(), ImageMountError> {
    let path = dir.join("count");
    crate::storage::record::write_count(&path, n).map_err(io_err(&path))
}

impl Engine {
    fn image_mounts_dir(&self) -> PathBuf {
        self.paths().runroot.join("image-mounts")
    }

    fn lock_image_mounts(&self) -> Result<LockGuard, ImageMountError> {
        let dir = self.image_mounts_dir();
        crate::config::paths::ensure_private_dir(&dir).map_err(io_err(&dir))?;
        lock(&dir.join("lock"), LockMode::Exclusive).map_err(|e| StoreError::from(e).into())
    }

    /// Where image `id` is mounted, when it is.
    fn image_mount_dir(&self, id: &Digest) -> PathBuf {
        self.image_mounts_dir().join(id.hex())
    }

    /// Mount a read-only view of image `name` (if not already) and take one
    /// hold on it; returns where its files are.
    pub fn mount_image(&self, name: &str) -> Result<PathBuf, ImageMountError> {
        let (rec, _) = self.lookup_image(name)?;
        let _lock = self.lock_image_mounts()?;
        let dir = self.image_mount_dir(&rec.id);
        let target = dir.join("merged");
        std::fs::create_dir_all(&target).map_err(io_err(&target))?;
        let fresh = !is_mountpoint(&target);
        if fresh {
            let layers: Vec<Digest> = rec.layers.iter().map(|l| l.chain_id.clone()).collect();
            self.store().mount_view(&layers, &target)?;
        }
        // A count left by a mount namespace that is gone counts no more.
        let n = if fresh {
            1
        } else {
            count(&dir).saturating_add(1)
        };
        if let Err(e) = set_count(&dir, n) {
            if fresh {
                let _ = self.store().unmount_view(&target);
            }
            return Err(e);
        }
        Ok(target)
    }

    /// Give back a hold on image `name` (all with [`Release::All`]); the
    /// last one unmounts. Returns the image's id.
    pub fn unmount_image(&self, name: &str, how: Release) -> Result<Digest, ImageMountError> {
        let (rec, _) = self.lookup_image(name)?;
        self.unmount_image_id(&rec.id, name, how)?;
        Ok(rec.id)
    }

    /// [`Engine::unmount_image`] of the image with id `id` (`name` for
    /// messages).
    pub fn unmount_image_id(
        &self,
        id: &Digest,
        name: &str,
        how: Release,
    ) -> Result<(), ImageMountError> {
        let _lock = self.lock_image_mounts()?;
        let dir = self.image_mount_dir(id);
        let target = dir.join("merged");
        if !is_mountpoint(&target) {
            let _ = set_count(&dir, 0);
            return Err(ImageMountError::NotMounted {
                image: name.to_string(),
            });
        }
        let n = match how {
            Release::One => count(&dir).saturating_sub(1),
            Release::All => 0,
        };
        set_count(&dir, n)?;
        if n == 0 {
            self.store().unmount_view(&target)?;
            let _ = std::fs::remove_dir(&target);
            let _ = std::fs::remove_dir(&dir);
        }
        Ok(())
    }

    /// Where the view of image `id` is while mounted.
    pub(crate) fn image_view(&self, id: &Digest) -> PathBuf {
        self.image_mount_dir(id).join("merged")
    }

    /// Before container `rec` starts: a hold on the shared read-only view
    /// of each image it mounts (`--mount type=image`), listed in `rundir`
    /// so that its stop gives each back once however often its cleanup
    /// runs; a read-write image mount gets an overlay of its own, its
    /// changes kept in the container's storage until it is removed.
    pub(crate) fn hold_container_images(
        &self,
        rec: &crate::state::container::ContainerRecord,
        rundir: &Path,
    ) -> Result<(), ImageMountError> {
        let list = rundir.join(HELD_IMAGES);
        self.release_container_images(rundir);
        let mut held = Vec::new();
        let result = (|| {
            for (i, m) in rec.config.mounts.iter().enumerate() {
                let crate::state::container::MountSpec::Image { image, .. } = m else {
                    continue;
                };
                if m.read_only() {
                    self.mount_image(image)?;
                    held.push(image.clone());
                    continue;
                }
                let (img, _) = self.lookup_image(image)?;
                let layers: Vec<Digest> = img.layers.iter().map(|l| l.chain_id.clone()).collect();
                let userdata = self
                    .containers()
                    .map_err(|e| ImageMountError::Io {
                        path: rundir.to_owned(),
                        source: std::io::Error::other(e.to_string()),
                    })?
                    .userdata(&rec.id)
                    .join(IMAGE_RW)
                    .join(i.to_string());
                self.store().mount_rootfs(
                    &layers,
                    &crate::storage::mount::RootfsPaths {
                        userdata: &userdata,
                        target: &rundir.join(IMAGE_RW).join(i.to_string()),
                        id_mappings: rec.config.id_mappings.as_ref(),
                    },
                )?;
            }
            if !held.is_empty() {
                crate::storage::record::replace_volatile(&list, held.join("\n").as_bytes())
                    .map_err(io_err(&list))?;
            }
            Ok(())
        })();
        if result.is_err() {
            for h in &held {
                let _ = self.unmount_image(h, Release::One);
            }
            self.release_rw_images(rundir);
        }
        result
    }

    /// Where container mount number `index`, an image mount, has the
    /// image's files: its own overlay (read-write) or the shared view.
    pub(crate) fn image_mount_source(
        &self,
        rundir: &Path,
        index: usize,
        m: &crate::state::container::MountSpec,
    ) -> Option<PathBuf> {
        let crate::state::container::MountSpec::Image { image, .. } = m else {
            return None;
        };
        if !m.read_only() {
            return Some(rundir.join(IMAGE_RW).join(index.to_string()));
        }
        Digest::from_hex(image).ok().map(|id| self.image_view(&id))
    }

    /// After a container stopped: the holds [`Engine::hold_container_images`]
    /// took, given back (once: the list goes with them), and its own
    /// read-write overlays unmounted.
    pub(crate) fn release_container_images(&self, rundir: &Path) {
        self.release_rw_images(rundir);
        let list = rundir.join(HELD_IMAGES);
        let Ok(text) = std::fs::read_to_string(&list) else {
            return;
        };
        let _ = std::fs::remove_file(&list);
        for id in text.lines().filter(|l| !l.is_empty()) {
            if let Err(e) = self.unmount_image(id, Release::One) {
                tracing::debug!("image {id}: {e}");
            }
        }
    }

    fn release_rw_images(&self, rundir: &Path) {
        let dir = rundir.join(IMAGE_RW);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        for e in entries.flatten() {
            if let Err(err) = self.store().unmount_rootfs(&e.path()) {
                tracing::warn!("{err}");
            }
            let _ = std::fs::remove_dir(e.path());
        }
        let _ = std::fs::remove_dir(&dir);
    }

    /// Whether image `id` is mounted.
    pub fn image_is_mounted(&self, id: &Digest) -> bool {
        is_mountpoint(&self.image_mount_dir(id).join("merged"))
    }

    /// The mounted images.
    pub fn mounted_images(&self) -> Result<Vec<MountedImage>, ImageMountError> {
        let mut out = Vec::new();
        for img in self.store().images().list().map_err(StoreError::from)? {
            let path = self.image_mount_dir(&img.id).join("merged");
            if is_mountpoint(&path) {
                out.push(MountedImage {
                    id: img.id,
                    names: img.names,
                    path,
                });
            }
        }
        Ok(out)
    }

    /// Unmount every image view, whoever holds it (`system reset`).
    pub fn unmount_all_images(&self) -> Result<(), ImageMountError> {
        let dir = self.image_mounts_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err(&dir)(e)),
        };
        let _lock = self.lock_image_mounts()?;
        for e in entries.flatten() {
            let merged = e.path().join("merged");
            if merged.is_dir() {
                self.store().unmount_view(&merged)?;
                let _ = set_count(&e.path(), 0);
            }
        }
        Ok(())
    }
}
