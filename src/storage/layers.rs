//! Unpacked layers (`layers/<chain-id>/`): each layer is unpacked once, keyed
//! by its chain id, and shared by every image that has it. A layer directory
//! appears only complete: it is built under `tmp/` and renamed into place.

use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::image::digest::Digest;
use crate::storage::lock::{self, LockError, LockMode};
use crate::storage::record::{self, RecordError};

/// What the store knows of one unpacked layer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LayerRecord {
    pub chain_id: Digest,
    pub parent: Option<Digest>,
    pub diff_id: Digest,
    /// Size of the uncompressed layer tar.
    pub size: u64,
    pub created: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("preparing layer {chain_id}: {source}")]
    Prepare {
        chain_id: Digest,
        #[source]
        source: io::Error,
    },
    #[error("unpacking layer {chain_id}: {source}")]
    Fill {
        chain_id: Digest,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("layer {chain_id} has content {actual}, but the image says {expected}")]
    DiffMismatch {
        chain_id: Digest,
        expected: Digest,
        actual: Digest,
    },
}

/// Chain id of a layer (OCI image spec: `ChainID(L0|...|Ln)`).
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => {
            let h = Sha256::new_with_prefix(format!("{p} {diff_id}"));
            Digest::from_hex(&hex::encode(h.finalize())).expect("sha256 hex is a valid digest")
        }
    }
}

/// What filling a layer produced: its diff id and uncompressed size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    pub diff_id: Digest,
    pub size: u64,
}

/// The layer directory of a store.
#[derive(Debug, Clone)]
pub struct LayerStore {
    dir: PathBuf,
    tmp: PathBuf,
    locks: PathBuf,
}

impl LayerStore {
    pub fn new(dir: PathBuf, tmp: PathBuf, locks: PathBuf) -> Self {
        Self { dir, tmp, locks }
    }

    fn layer_dir(&self, chain_id: &Digest) -> PathBuf {
        self.dir.join(chain_id.hex())
    }

    /// The directory holding the layer's files.
    pub fn diff_dir(&self, chain_id: &Digest) -> PathBuf {
        self.layer_dir(chain_id).join("diff")
    }

    pub fn get(&self, chain_id: &Digest) -> Result<Option<LayerRecord>, LayerError> {
        Ok(record::read_json(
            &self.layer_dir(chain_id).join("layer.json"),
        )?)
    }

    pub fn contains(&self, chain_id: &Digest) -> bool {
        self.layer_dir(chain_id).join("layer.json").exists()
    }

    /// Return the layer `chain_id`, creating it with `fill` (which writes the
    /// layer's files into the directory it is given) when it does not exist.
    /// Concurrent callers for the same layer wait for one another; the layer
    /// is filled once.
    pub fn ensure<F>(
        &self,
        chain_id: &Digest,
        parent: Option<&Digest>,
        diff_id: &Digest,
        fill: F,
    ) -> Result<LayerRecord, LayerError>
    where
        F: FnOnce(&Path) -> Result<Filled, Box<dyn std::error::Error + Send + Sync>>,
    {
        if let Some(rec) = self.get(chain_id)? {
            return Ok(rec);
        }
        let _guard = lock::lock(
            &self.locks.join(format!("layer-{}.lock", chain_id.hex())),
            LockMode::Exclusive,
        )?;
        if let Some(rec) = self.get(chain_id)? {
            return Ok(rec);
        }
        let prep = |source| LayerError::Prepare {
            chain_id: chain_id.clone(),
            source,
        };
        let staging = tempfile::Builder::new()
            .prefix("layer-")
            .tempdir_in(&self.tmp)
            .map_err(prep)?;
        let diff = staging.path().join("diff");
        std::fs::create_dir(&diff).map_err(prep)?;
        let filled = fill(&diff).map_err(|source| LayerError::Fill {
            chain_id: chain_id.clone(),
            source,
        })?;
        if &filled.diff_id != diff_id {
            return Err(LayerError::DiffMismatch {
                chain_id: chain_id.clone(),
                expected: diff_id.clone(),
                actual: filled.diff_id,
            });
        }
        let rec = LayerRecord {
            chain_id: chain_id.clone(),
            parent: parent.cloned(),
            diff_id: diff_id.clone(),
            size: filled.size,
            created: Utc::now(),
        };
        record::write_json(&staging.path().join("layer.json"), &rec)?;
        let staged = staging.keep();
        if let Err(e) = std::fs::rename(&staged, self.layer_dir(chain_id)) {
            remove_tree(&staged);
            return Err(prep(e));
        }
        Ok(rec)
    }

    /// Chain ids of all complete layers.
    pub fn list(&self) -> io::Result<Vec<Digest>> {
        super::digests_in(&self.dir, "")
    }

    /// Remove a layer: it disappears at once (renamed away), then its files
    /// are deleted.
    pub fn remove(&self, chain_id: &Digest) -> io::Result<()> {
        let doomed = self.tmp.join(format!(
            "removing-{}-{}",
            chain_id.hex(),
            std::process::id()
        ));
        match std::fs::rename(self.layer_dir(chain_id), &doomed) {
            Ok(()) => {
                remove_tree(&doomed);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Delete a file or a directory tree, making read-only directories
/// writable first (layers contain them); errors are logged, not fatal.
pub fn remove_tree(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Err(_) => return,
        Ok(md) if !md.is_dir() => {
            if let Err(e) = std::fs::remove_file(path) {
                tracing::warn!("removing {}: {e}", path.display());
            }
            return;
        }
        Ok(_) => {}
    }
    if std::fs::remove_dir_all(path).is_ok() {
        return;
    }
    fn make_writable(p: &Path) {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(md) = std::fs::symlink_metadata(p) {
            if md.is_dir() {
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700));
                if let Ok(rd) = std::fs::read_dir(p) {
                    for e in rd.flatten() {
                        make_writable(&e.path());
                    }
                }
            }
        }
    }
    make_writable(path);
    if let Err(e) = std::fs::remove_dir_all(path) {
        tracing::warn!("removing {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = Digest::of(b"a");
        let b = Digest::of(b"b");
        assert_eq!(chain_id(None, &a), a);
        let expected = Digest::of(format!("{a} {b}").as_bytes());
        assert_eq!(chain_id(Some(&a), &b), expected);
    }

    #[test]
    fn ensure_fills_once_and_failures_leave_nothing() {
        let d = tempfile::tempdir().expect("tempdir");
        for sub in ["l", "t", "k"] {
            std::fs::create_dir(d.path().join(sub)).expect("mkdir");
        }
        let s = LayerStore::new(d.path().join("l"), d.path().join("t"), d.path().join("k"));
        let id = Digest::of(b"x");
        let err = s
            .ensure(&id, None, &id, |_| Err("boom".into()))
            .expect_err("fill fails");
        assert!(err.to_string().contains("boom"));
        assert!(s.list().expect("list").is_empty());
        assert_eq!(
            std::fs::read_dir(d.path().join("t")).expect("ls").count(),
            0
        );
        let rec = s
            .ensure(&id, None, &id, |dir| {
                std::fs::write(dir.join("f"), "1")?;
                Ok(Filled {
                    diff_id: id.clone(),
                    size: 1,
                })
            })
            .expect("fill");
        assert_eq!(rec.size, 1);
        let again = s
            .ensure(&id, None, &id, |_| panic!("filled twice"))
            .expect("exists");
        assert_eq!(again, rec);
        assert!(s.diff_dir(&id).join("f").exists());
        s.remove(&id).expect("remove");
        assert!(!s.contains(&id));
    }
}
