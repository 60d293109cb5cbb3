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
        for entry in std::fs::read_dir(&self.dir).map_err(list_err)? {
            let name = entry.map_err(list_err)?.file_name();
            let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            let Ok(id) = Digest::from_hex(hex) else {
                continue;
            };
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

    /// Give `name` to image `id` alone: it is taken from any other image that
    /// holds it (caller holds the image lock). Returns the records changed.
    pub fn assign_name(&self, id: &Digest, name: &str) -> Result<(), ImageStoreError> {
        for mut other in self.list()? {
            if &other.id != id && other.names.iter().any(|n| n == name) {
                other.names.retain(|n| n != name);
                self.put(&other)?;
            }
        }
        if let Some(mut rec) = self.get(id)? {
            rec.names.retain(|n| n != name);
            rec.names.insert(0, name.to_string());
            self.put(&rec)?;
        }
        Ok(())
    }
}
