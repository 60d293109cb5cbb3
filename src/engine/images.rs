//! Local image operations: commit a pulled or loaded image, tag, untag,
//! remove and prune, always under the store's image lock.

use chrono::Utc;

use crate::engine::lookup::{LookupError, Matched};
use crate::engine::Engine;
use crate::image::digest::Digest;
use crate::image::manifest::{ImageManifest, Manifest, ManifestError};
use crate::image::reference::{Reference, ReferenceError};
use crate::storage::blobs::BlobError;
use crate::storage::images::{ImageLayer, ImageRecord};
use crate::storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ImageOpError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("unable to delete image {id} by id: it is referenced by multiple names ({names}); remove them by name or use --force")]
    MultipleNames { id: String, names: String },
    #[error("{name}: tag not found on image {id}")]
    NoSuchTag { name: String, id: String },
    #[error(
        "image {id} is in use by container {container}: remove the container first or use --force"
    )]
    InUse { id: String, container: String },
    #[error("removing containers of image {id}: {message}")]
    RemoveContainers { id: String, message: String },
    #[error("image {id} is mounted: unmount it first (skiff image umount) or use --force")]
    Mounted { id: String },
    #[error("unmounting image {id}: {message}")]
    Unmount { id: String, message: String },
}

/// Reading the manifest stored for an image failed.
#[derive(Debug, thiserror::Error)]
pub enum StoredManifestError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("stored manifest: {0}")]
    Parse(#[source] ManifestError),
    #[error("the stored manifest is an index, not an image manifest")]
    Index,
}

/// What removing one image did, in the order podman reports it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RemoveReport {
    pub untagged: Vec<String>,
    pub deleted: Vec<Digest>,
}

/// What `remove_images` did: each input's report or failure, in order, and
/// how the collection of unused content afterwards went.
#[derive(Debug)]
pub struct Removal {
    pub outcomes: Vec<Result<RemoveReport, ImageOpError>>,
    pub gc: Result<(), StoreError>,
}

/// Whether a removal may remove an image that has several names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Force {
    No,
    Yes,
}

/// Normalise a name given to `tag`: short names live under `localhost/`,
/// and a missing tag is `latest`.
pub fn normalize_new_name(input: &str) -> Result<String, ReferenceError> {
    Ok(Reference::parse_tagged(input, "localhost")?.to_string())
}

impl Engine {
    /// The manifest stored for `rec`: its bytes, as they were pulled or
    /// loaded, and the parsed image manifest.
    pub fn stored_manifest(
        &self,
        rec: &ImageRecord,
    ) -> Result<(Vec<u8>, ImageManifest), StoredManifestError> {
        let bytes = self.store().blobs().read(&rec.manifest)?;
        match Manifest::parse(&bytes, Some(&rec.manifest_media_type))
            .map_err(StoredManifestError::Parse)?
        {
            Manifest::Image(m) => Ok((bytes, *m)),
            Manifest::Index(_) => Err(StoredManifestError::Index),
        }
    }

    /// Record an image whose blobs and layers are in the store, merging with
    /// an existing record of the same id, and give it `names` (the first
    /// ends up first).
    pub fn commit_image(
        &self,
        config: &Digest,
        manifest: &Digest,
        manifest_media_type: &str,
        digests: Vec<Digest>,
        layers: Vec<ImageLayer>,
        names: &[String],
    ) -> Result<ImageRecord, StoreError> {
        let images = self.store().images();
        let _lock = self.store().lock_images()?;
        let mut rec = match images.get(config)? {
            Some(mut existing) => {
                for d in digests {
                    if !existing.digests.contains(&d) {
                        existing.digests.push(d);
                    }
                }
                existing
            }
            None => {
                let size = layers
                    .iter()
                    .filter_map(|l| self.store().layers().get(&l.chain_id).ok().flatten())
                    .map(|l| l.size)
                    .sum();
                ImageRecord {
                    id: config.clone(),
                    names: vec![],
                    digests,
                    manifest: manifest.clone(),
                    manifest_media_type: manifest_media_type.to_string(),
                    layers,
                    size,
                    added: Utc::now(),
                }
            }
        };
        images.put(&rec)?;
        if !names.is_empty() {
            // Each name assigned goes first: the last assigned is first.
            let last_first: Vec<String> = names.iter().rev().cloned().collect();
            images.assign_names(&rec.id, &last_first)?;
            rec = images.get(config)?.unwrap_or(rec);
        }
        Ok(rec)
    }

    /// `tag IMAGE NAME...`
    pub fn tag_image(&self, image: &str, names: &[String]) -> Result<(), ImageOpError> {
        let normalized = names
            .iter()
            .map(|n| normalize_new_name(n))
            .collect::<Result<Vec<_>, _>>()?;
        let (rec, _) = self.lookup_image(image)?;
        let _lock = self.store().lock_images()?;
        self.store()
            .images()
            .assign_names(&rec.id, &normalized)
            .map_err(StoreError::from)?;
        Ok(())
    }

    /// `untag IMAGE [NAME...]`: without names, remove them all.
    pub fn untag_image(&self, image: &str, names: &[String]) -> Result<(), ImageOpError> {
        let (rec, _) = self.lookup_image(image)?;
        let _lock = self.store().lock_images()?;
        let images = self.store().images();
        let Some(mut current) = images.get(&rec.id).map_err(StoreError::from)? else {
            return Err(LookupError::NotKnown(image.to_string()).into());
        };
        if names.is_empty() {
            current.names.clear();
        } else {
            for n in names {
                let full = normalize_new_name(n)?;
                let before = current.names.len();
                current.names.retain(|x| x != &full);
                if current.names.len() == before {
                    return Err(ImageOpError::NoSuchTag {
                        name: n.clone(),
                        id: rec.id.hex()[..12].to_string(),
                    });
                }
            }
        }
        images.put(&current).map_err(StoreError::from)?;
        Ok(())
    }

    /// `rmi`: remove each image (or only the name it was given by, when the
    /// image has other names), then collect what nothing uses any more, once
    /// for all of them. Each input's outcome is returned in order; a failure
    /// does not stop the others.
    pub fn remove_images(&self, inputs: &[String], force: Force) -> Removal {
        let outcomes = inputs
            .iter()
            .map(|input| {
                let mut report = RemoveReport::default();
                self.remove_one(input, force, &mut report).map(|()| report)
            })
            .collect();
        Removal {
            outcomes,
            gc: self.store().gc().map(drop),
        }
    }

    fn remove_one(
        &self,
        input: &str,
        force: Force,
        report: &mut RemoveReport,
    ) -> Result<(), ImageOpError> {
        let (rec, matched) = self.lookup_image(input)?;
        let only_untag = matches!(&matched, Matched::Name(_)) && rec.names.len() > 1;
        if force == Force::No || !only_untag {
            let users = self.containers_using(&rec.id)?;
            if let Some(first) = users.first() {
                if force == Force::No && !only_untag {
                    return Err(ImageOpError::InUse {
                        id: rec.id.hex()[..12].to_string(),
                        container: first.clone(),
                    });
                }
                if force == Force::Yes {
                    for c in &users {
                        let opts = crate::engine::container::remove::RemoveOptions {
                            force: true,
                            timeout: Some(0),
                            depend: true,
                            infra: false,
                            volumes: false,
                        };
                        match self.remove_container(c, opts) {
                            Ok(_) => {}
                            // Removed already, as a dependent of another.
                            Err(e) if e.is_no_such_container() => {}
                            Err(e) => {
                                return Err(ImageOpError::RemoveContainers {
                                    id: rec.id.hex()[..12].to_string(),
                                    message: e.to_string(),
                                })
                            }
                        }
                    }
                }
            }
        }
        let _lock = self.store().lock_images()?;
        let images = self.store().images();
        let Some(mut current) = images.get(&rec.id).map_err(StoreError::from)? else {
            return Err(LookupError::NotKnown(input.to_string()).into());
        };
        if let Matched::Name(name) = &matched {
            if current.names.len() > 1 && force == Force::No {
                current.names.retain(|n| n != name);
                images.put(&current).map_err(StoreError::from)?;
                report.untagged.push(name.clone());
                return Ok(());
            }
        } else if current.names.len() > 1 && force == Force::No {
            return Err(ImageOpError::MultipleNames {
                id: current.id.hex()[..12].to_string(),
                names: current.names.join(", "),
            });
        }
        if self.image_is_mounted(&current.id) {
            let id = current.id.hex()[..12].to_string();
            if force == Force::No {
                return Err(ImageOpError::Mounted { id });
            }
            let how = crate::engine::image_mount::Release::All;
            self.unmount_image_id(&current.id, &id, how)
                .map_err(|e| ImageOpError::Unmount {
                    id,
                    message: e.to_string(),
                })?;
        }
        report.untagged.extend(current.names.iter().cloned());
        images.remove(&current.id).map_err(StoreError::from)?;
        report.deleted.push(current.id);
        Ok(())
    }

    /// Ids of the containers created from image `id`.
    pub fn containers_using(&self, id: &Digest) -> Result<Vec<String>, ImageOpError> {
        let err = |e: crate::engine::container::ContainerError| ImageOpError::RemoveContainers {
            id: id.hex()[..12].to_string(),
            message: e.to_string(),
        };
        let store = self.containers().map_err(err)?;
        Ok(store
            .list()
            .map_err(|e| err(e.into()))?
            .into_iter()
            .filter(|c| &c.image.id == id)
            .map(|c| c.id)
            .collect())
    }

    /// `image prune`: remove dangling images (all unused ones with `all`).
    pub fn prune_images(&self, all: bool) -> Result<Vec<Digest>, ImageOpError> {
        let doomed: Vec<Digest> = {
            let _lock = self.store().lock_images()?;
            let images = self.store().images();
            let mut out = vec![];
            for img in images.list().map_err(StoreError::from)? {
                if (all || img.is_dangling())
                    && self.containers_using(&img.id)?.is_empty()
                    && !self.image_is_mounted(&img.id)
                {
                    images.remove(&img.id).map_err(StoreError::from)?;
                    out.push(img.id);
                }
            }
            out
        };
        self.store().gc()?;
        Ok(doomed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_names_are_normalised() {
        assert_eq!(
            normalize_new_name("foo").expect("valid"),
            "localhost/foo:latest"
        );
        assert_eq!(
            normalize_new_name("quay.io/a/b:v1").expect("valid"),
            "quay.io/a/b:v1"
        );
        assert_eq!(
            normalize_new_name("docker.io/alpine").expect("valid"),
            "docker.io/library/alpine:latest"
        );
        assert!(normalize_new_name("UPPER").is_err());
    }
}
