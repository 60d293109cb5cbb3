//! Image records (`images/<id>.json`): what the store knows of each image,
//! its names, digests and layers. The id is the hex digest of the image's
//! config. Mutations happen under the store's image lock (see [`super::Store`]).

use std::io;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::image::digest::Digest;
use crate::storage::record::{self, RecordError};

/// One layer of an image as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageLayer {
    pub chain_id: Digest,
    pub diff_id: Digest,
    /// The compressed (or not) blob as the registry or archive gave it.
    pub blob: Digest,
    pub media_type: String,
    pub blob_size: u64,
}

/// An image in the store.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImageRecord {
    /// Digest of the image config; its hex is the image id.
    pub id: Digest,
    /// Fully qualified names (`registry/repo:tag`), most recent first.
    pub names: Vec<String>,
    /// Manifest digests this image is known by (its own manifest first, then
    /// any index it was selected from).
    pub digests: Vec<Digest>,
    /// The image's own manifest, stored as a blob.
    pub manifest: Digest,
    pub manifest_media_type: String,
    pub layers: Vec<ImageLayer>,
    /// Sum of the uncompressed layer sizes.
    pub size: u64,
    /// When the image entered this store.
    pub added: DateTime<Utc>,
}

impl ImageRecord {
    pub fn top_layer(&self) -> Option<&Digest> {
        self.layers.last().map(|l| &l.chain_id)
    }

    pub fn is_dangling(&self) -> bool {
        self.names.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageStoreError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("listing images in {path}: {source}")]
    List {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("removing image record {id}: {source}")]
    Remove {
        id: String,
        #[source]
        source: io::Error,
    },
}

/// The image record directory of a store.
#[derive(Debug, Clone)]
pub struct ImageStore {
    dir: PathBuf,
}

impl ImageStore {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, id: &Digest) -> PathBuf {
        self.dir.join(format!("{}.json", id.hex()))
    }

    pub fn get(&self, id: &Digest) -> Result<Option<ImageRecord>, ImageStoreError> {
        Ok(record::read_json(&self.path(id))?)
    }

    /// All image records, newest first.
    pub fn list(&self) -> Result<Vec<ImageRecord>, ImageStoreError> {
        let list_err = |source| ImageStoreError::List {
            path: self.dir.clone(),
            source,
        };
        let mut out = Vec::new();
        for id in super::digests_in(&self.dir, ".json").map_err(list_err)? {
            if let Some(rec) = self.get(&id)? {
                out.push(rec);
            }
        }
        out.sort_by(|a, b| b.added.cmp(&a.added).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Write a record (caller holds the image lock).
    pub fn put(&self, rec: &ImageRecord) -> Result<(), ImageStoreError> {
        Ok(record::write_json(&self.path(&rec.id), rec)?)
    }

    /// Remove a record (caller holds the image lock).
    pub fn remove(&self, id: &Digest) -> Result<(), ImageStoreError> {
        match std::fs::remove_file(self.path(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ImageStoreError::Remove {
                id: id.hex().to_string(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// Give each of `names` to image `id` alone, in turn: a name is taken
    /// from any other image that holds it and put first on `id`, so the
    /// last one ends up first (caller holds the image lock). The records
    /// are read once and each changed one is written once.
    pub fn assign_names(&self, id: &Digest, names: &[String]) -> Result<(), ImageStoreError> {
        let mut records = self.list()?;
        let mut changed = vec![false; records.len()];
        for name in names {
            for (rec, changed) in records.iter_mut().zip(&mut changed) {
                if &rec.id == id {
                    rec.names.retain(|n| n != name);
                    rec.names.insert(0, name.clone());
                    *changed = true;
                } else if rec.names.contains(name) {
                    rec.names.retain(|n| n != name);
                    *changed = true;
                }
            }
        }
        // Others first: a crash in between leaves a name on no image rather
        // than on two.
        let changed: Vec<&ImageRecord> = records
            .iter()
            .zip(changed)
            .filter_map(|(rec, c)| c.then_some(rec))
            .collect();
        for rec in changed.iter().filter(|r| &r.id != id) {
            self.put(rec)?;
        }
        for rec in changed.iter().filter(|r| &r.id == id) {
            self.put(rec)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seed: &[u8], names: &[&str]) -> ImageRecord {
        ImageRecord {
            id: Digest::of(seed),
            names: names.iter().map(|n| n.to_string()).collect(),
            digests: Vec::new(),
            manifest: Digest::of(b"manifest"),
            manifest_media_type: String::new(),
            layers: Vec::new(),
            size: 0,
            added: Utc::now(),
        }
    }

    #[test]
    fn names_move_to_the_image_given_them_the_last_first() {
        let d = tempfile::tempdir().expect("tempdir");
        let store = ImageStore::new(d.path().to_owned());
        let a = record(b"a", &["x:1", "keep:1"]);
        let b = record(b"b", &["old:1"]);
        store.put(&a).expect("put");
        store.put(&b).expect("put");
        let names = ["x:1".to_string(), "new:1".to_string()];
        store.assign_names(&b.id, &names).expect("assign");
        let a = store.get(&a.id).expect("get").expect("a");
        let b = store.get(&b.id).expect("get").expect("b");
        assert_eq!(a.names, ["keep:1"]);
        assert_eq!(b.names, ["new:1", "x:1", "old:1"]);
    }
}
