//! The content-addressed store: blobs, unpacked layers and image records under
//! one root directory, safe against crashes and concurrent skiff processes.
//!
//! Layout under the root:
//! `store.json` (driver), `blobs/sha256/<hex>`, `layers/<chain-id>/{layer.json,diff/}`,
//! `images/<id>.json`, `locks/`, `tmp/` (staging; emptied by garbage collection).
//!
//! Locking: writers of image records hold `locks/images.lock`. Operations that
//! create blobs or layers before an image record points at them (pull, load)
//! hold `locks/gc.lock` shared; garbage collection takes it exclusively, so it
//! never deletes something a running pull is about to use.

pub mod blobs;
pub mod changes;
pub mod compression;
pub mod driver;
pub mod images;
pub mod layer_tar;
pub mod layers;
pub mod lock;
pub mod mount;
pub mod pack;
pub mod record;
pub mod shift;
pub mod unpack;
pub mod view;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::image::digest::Digest;
use blobs::BlobStore;
use driver::Driver;
use images::{ImageStore, ImageStoreError};
use layers::LayerStore;
use lock::{LockError, LockGuard, LockMode};
use record::RecordError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("creating store directory {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Images(#[from] ImageStoreError),
    #[error("the store at {root} was created with the {existing} driver; it cannot be used with {requested} (remove it or pass --storage-driver {existing})")]
    DriverMismatch {
        root: PathBuf,
        existing: Driver,
        requested: Driver,
    },
    #[error("the store {root} was made with another id mapping ({recorded}; now {current}): its files would belong to the wrong ids. Run `skiff system migrate` to adopt the new mapping, or `skiff system reset` to start over")]
    IdMapChanged {
        root: PathBuf,
        recorded: String,
        current: String,
    },
    #[error("garbage collection in {path}: {source}")]
    Gc {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The digests that name the entries of `dir` (`<hex><suffix>`); entries
/// named otherwise (staging files, strays) are skipped.
fn digests_in(dir: &Path, suffix: &str) -> std::io::Result<Vec<Digest>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let hex = name.to_str().and_then(|n| n.strip_suffix(suffix));
        if let Some(d) = hex.and_then(|h| Digest::from_hex(h).ok()) {
            out.push(d);
        }
    }
    Ok(out)
}

#[derive(Debug, Serialize, Deserialize)]
struct StoreMeta {
    driver: Driver,
    /// The id mapping of the process that made the store (a rootless
    /// user's namespace): its files belong to ids of that mapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_map: Option<String>,
}

/// What opening a store does about the id mapping it was made with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IdMapPolicy {
    /// A different mapping is an error.
    #[default]
    Check,
    /// The current mapping becomes the store's (`system migrate`).
    Adopt,
}

/// This process's uid and gid maps, one line: `uid 0 1000 1,1 100000
/// 65536; gid ...`.
pub fn current_id_map() -> Option<String> {
    let read = |f: &str| -> Option<String> {
        let text = std::fs::read_to_string(format!("/proc/self/{f}")).ok()?;
        Some(
            text.lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(","),
        )
    };
    Some(format!(
        "uid {}; gid {}",
        read("uid_map")?,
        read("gid_map")?
    ))
}

/// An open store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    driver: Driver,
    blobs: BlobStore,
    layers: LayerStore,
    images: ImageStore,
}

/// What garbage collection removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub layers: usize,
    pub blobs: usize,
}

impl Store {
    /// Open (creating if needed) the store at `root`. `requested` is the
    /// driver asked for by flag or configuration; a new store without a
    /// request probes for the best one.
    pub fn open(root: &Path, requested: Option<Driver>) -> Result<Self, StoreError> {
        Self::open_with(root, requested, IdMapPolicy::Check)
    }

    /// [`Store::open`], choosing what a changed id mapping does.
    pub fn open_with(
        root: &Path,
        requested: Option<Driver>,
        id_map: IdMapPolicy,
    ) -> Result<Self, StoreError> {
        let mk = |p: PathBuf| {
            crate::config::paths::ensure_private_dir(&p)
                .map_err(|source| StoreError::Create { path: p, source })
        };
        mk(root.to_path_buf())?;
        for sub in ["blobs/sha256", "layers", "images", "locks", "tmp"] {
            mk(root.join(sub))?;
        }
        let meta_path = root.join("store.json");
        let driver = match record::read_json::<StoreMeta>(&meta_path)? {
            Some(meta) => {
                if let Some(req) = requested.filter(|r| *r != meta.driver) {
                    return Err(StoreError::DriverMismatch {
                        root: root.to_owned(),
                        existing: meta.driver,
                        requested: req,
                    });
                }
                let current = current_id_map();
                if current.is_some() && meta.id_map != current {
                    match (id_map, &meta.id_map) {
                        (IdMapPolicy::Check, Some(recorded)) => {
                            return Err(StoreError::IdMapChanged {
                                root: root.to_owned(),
                                recorded: recorded.clone(),
                                current: current.unwrap_or_default(),
                            })
                        }
                        // Adopted, or recorded for the first time.
                        _ => record::write_json(
                            &meta_path,
                            &StoreMeta {
                                driver: meta.driver,
                                id_map: current,
                            },
                        )?,
                    }
                }
                meta.driver
            }
            None => {
                let _g = lock::lock(&root.join("locks/images.lock"), LockMode::Exclusive)?;
                match record::read_json::<StoreMeta>(&meta_path)? {
                    Some(meta) => meta.driver,
                    None => {
                        let driver = requested.unwrap_or_else(|| driver::probe(&root.join("tmp")));
                        record::write_json(
                            &meta_path,
                            &StoreMeta {
                                driver,
                                id_map: current_id_map(),
                            },
                        )?;
                        driver
                    }
                }
            }
        };
        let tmp = root.join("tmp");
        Ok(Store {
            root: root.to_owned(),
            driver,
            blobs: BlobStore::new(root.join("blobs/sha256"), tmp.clone()),
            layers: LayerStore::new(root.join("layers"), tmp, root.join("locks")),
            images: ImageStore::new(root.join("images")),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn driver(&self) -> Driver {
        self.driver
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    pub fn layers(&self) -> &LayerStore {
        &self.layers
    }

    pub fn images(&self) -> &ImageStore {
        &self.images
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Held while writing image records.
    pub fn lock_images(&self) -> Result<LockGuard, StoreError> {
        Ok(lock::lock(
            &self.root.join("locks/images.lock"),
            LockMode::Exclusive,
        )?)
    }

    /// Held (shared) while adding content that no record points at yet.
    pub fn hold_content(&self) -> Result<LockGuard, StoreError> {
        Ok(lock::lock(
            &self.root.join("locks/gc.lock"),
            LockMode::Shared,
        )?)
    }

    /// A lock for one piece of content being fetched (a blob), so that
    /// concurrent pulls download it once.
    pub fn lock_blob(&self, digest: &Digest) -> Result<LockGuard, StoreError> {
        Ok(lock::lock(
            &self.root.join(format!("locks/blob-{}.lock", digest.hex())),
            LockMode::Exclusive,
        )?)
    }

    /// Remove layers and blobs no image uses, and leftovers of interrupted
    /// operations. Skipped (returns `None`) while a pull or load is running;
    /// the next collection picks up what this one left.
    pub fn gc(&self) -> Result<Option<GcReport>, StoreError> {
        let Some(_gc) = lock::try_lock(&self.root.join("locks/gc.lock"), LockMode::Exclusive)?
        else {
            tracing::debug!("garbage collection skipped: content is being added");
            return Ok(None);
        };
        let _images = self.lock_images()?;
        let gc_err = |path: &Path| {
            let path = path.to_owned();
            move |source| StoreError::Gc { path, source }
        };
        let mut keep_layers = HashSet::new();
        let mut keep_blobs = HashSet::new();
        for img in self.images.list()? {
            keep_blobs.insert(img.id.clone());
            keep_blobs.insert(img.manifest.clone());
            keep_blobs.extend(img.digests.iter().cloned());
            for l in &img.layers {
                keep_layers.insert(l.chain_id.clone());
                keep_blobs.insert(l.blob.clone());
            }
        }
        let mut report = GcReport::default();
        let layer_dir = self.root.join("layers");
        for id in self.layers.list().map_err(gc_err(&layer_dir))? {
            if !keep_layers.contains(&id) {
                self.layers.remove(&id).map_err(gc_err(&layer_dir))?;
                report.layers += 1;
            }
        }
        for d in self.blobs.list().map_err(gc_err(self.blobs.dir()))? {
            if !keep_blobs.contains(&d) {
                self.blobs.remove(&d).map_err(gc_err(self.blobs.dir()))?;
                report.blobs += 1;
            }
        }
        let tmp = self.tmp_dir();
        for entry in std::fs::read_dir(&tmp).map_err(gc_err(&tmp))?.flatten() {
            layers::remove_tree(&entry.path());
        }
        let locks = self.root.join("locks");
        for entry in std::fs::read_dir(&locks).map_err(gc_err(&locks))?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("blob-") || name.starts_with("layer-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Some(report))
    }
}
