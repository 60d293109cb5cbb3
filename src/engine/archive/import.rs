//! Storing the images read from an archive: every blob copied in and
//! verified against its digest, layers built by the same path a pull uses
//! ([`Engine::ensure_layer`]), and the image records written only once all
//! images' content is in, so a bad archive adds no image.

use crate::engine::archive::members::{read_error, MemberError, Members};
use crate::engine::archive::{LoadError, LoadedImage};
use crate::engine::copy::{BlobCopy, CopyObserver};
use crate::engine::layer_fill::{self, PlannedLayer};
use crate::engine::Engine;
use crate::image::digest::Digest;
use crate::image::manifest::Descriptor;
use crate::storage::blobs::BlobError;
use crate::storage::images::ImageLayer;

/// A layer of a candidate: where its blob is in the archive, and its
/// descriptor (as the image's manifest states it).
#[derive(Debug, Clone)]
pub struct LayerInput {
    pub member: String,
    pub desc: Descriptor,
}

/// An image found in an archive, checked and ready to store.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// For messages: the name in the archive, or the config digest.
    pub label: String,
    /// Full names to give it, first one first.
    pub names: Vec<String>,
    pub config_digest: Digest,
    pub config: Vec<u8>,
    pub diff_ids: Vec<Digest>,
    pub manifest: Vec<u8>,
    pub manifest_media_type: String,
    /// The manifest's digest, then any index it was chosen from.
    pub digests: Vec<Digest>,
    /// Index documents to keep alongside.
    pub extra_blobs: Vec<Vec<u8>>,
    pub layers: Vec<LayerInput>,
}

impl Engine {
    /// Store `candidates` (the caller holds the store's content lock).
    pub(crate) fn import_candidates(
        &self,
        members: &Members,
        candidates: &[Candidate],
        observer: &dyn CopyObserver,
    ) -> Result<Vec<LoadedImage>, LoadError> {
        observer.starting();
        let mut layer_lists = Vec::with_capacity(candidates.len());
        for c in candidates {
            layer_lists.push(self.import_one(members, c, observer)?);
        }
        observer.writing_manifest();
        let mut loaded = Vec::with_capacity(candidates.len());
        for (c, layers) in candidates.iter().zip(layer_lists) {
            let manifest_digest = c
                .digests
                .first()
                .cloned()
                .unwrap_or_else(|| Digest::of(&c.manifest));
            self.commit_image(
                &c.config_digest,
                &manifest_digest,
                &c.manifest_media_type,
                c.digests.clone(),
                layers,
                &c.names,
            )?;
            let entry = LoadedImage {
                id: c.config_digest.clone(),
                names: c.names.clone(),
            };
            if !loaded.contains(&entry) {
                loaded.push(entry);
            }
        }
        Ok(loaded)
    }

    fn import_one(
        &self,
        members: &Members,
        c: &Candidate,
        observer: &dyn CopyObserver,
    ) -> Result<Vec<ImageLayer>, LoadError> {
        let store = self.store();
        let blob_err = |source| LoadError::Blob {
            image: c.label.clone(),
            source,
        };
        for layer in &c.layers {
            let digest = &layer.desc.digest;
            let _lock = store.lock_blob(digest)?;
            if store.blobs().contains(digest) {
                observer.blob(digest, BlobCopy::Exists);
                continue;
            }
            observer.blob(digest, BlobCopy::Copying);
            let (mut reader, _) = members
                .open(&layer.member)
                .map_err(LoadError::member(members.describe()))?;
            store
                .blobs()
                .put_from(digest, Some(layer.desc.size), &mut reader)
                .map_err(|e| match e {
                    // The archive ended early: say so, not "writing blob".
                    BlobError::Write { source, .. } if is_member_error(&source) => {
                        LoadError::Member {
                            kind: members.describe(),
                            source: read_error(&layer.member, source),
                        }
                    }
                    other => blob_err(other),
                })?;
        }
        observer.config(&c.config_digest);
        store.blobs().put(&c.config).map_err(blob_err)?;
        store.blobs().put(&c.manifest).map_err(blob_err)?;
        for b in &c.extra_blobs {
            store.blobs().put(b).map_err(blob_err)?;
        }

        let descs: Vec<Descriptor> = c.layers.iter().map(|l| l.desc.clone()).collect();
        let plan = layer_fill::plan(&descs, &c.diff_ids);
        self.ensure_layers_from_blobs(&plan)
            .map_err(|(layer, source)| LoadError::Layer {
                image: c.label.clone(),
                blob: layer.desc.digest.clone(),
                source,
            })?;
        Ok(plan.iter().map(PlannedLayer::image_layer).collect())
    }
}

fn is_member_error(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<MemberError>().is_some())
}
