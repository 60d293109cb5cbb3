//! Building a layer directory from its blob: decompress, unpack with the
//! driver's whiteout format, and measure the diff id, which must match the
//! image config's.

use std::io::{self, Read};

use crate::engine::Engine;
use crate::image::digest::{Digest, DigestReader};
use crate::image::manifest::Descriptor;
use crate::storage::compression;
use crate::storage::driver::Driver;
use crate::storage::images::ImageLayer;
use crate::storage::layers::{self, Filled, LayerError, LayerRecord};
use crate::storage::unpack::{self, OverlayXattr, UnpackOptions, WhiteoutMode};

/// One layer of an image about to be stored.
#[derive(Debug, Clone)]
pub struct PlannedLayer {
    pub desc: Descriptor,
    pub diff_id: Digest,
    pub chain_id: Digest,
    pub parent: Option<Digest>,
}

impl PlannedLayer {
    /// The layer as the image record lists it.
    pub fn image_layer(&self) -> ImageLayer {
        ImageLayer {
            chain_id: self.chain_id.clone(),
            diff_id: self.diff_id.clone(),
            blob: self.desc.digest.clone(),
            media_type: self.desc.media_type.clone(),
            blob_size: self.desc.size,
        }
    }
}

/// Pair each layer descriptor with its diff id and chain id.
pub fn plan(layers: &[Descriptor], diff_ids: &[Digest]) -> Vec<PlannedLayer> {
    let mut parent: Option<Digest> = None;
    layers
        .iter()
        .zip(diff_ids)
        .map(|(desc, diff_id)| {
            let chain_id = layers::chain_id(parent.as_ref(), diff_id);
            PlannedLayer {
                desc: desc.clone(),
                diff_id: diff_id.clone(),
                chain_id: chain_id.clone(),
                parent: parent.replace(chain_id),
            }
        })
        .collect()
}

/// Whether a driver's layer directories are independent of their parents
/// (so they can be unpacked in any order, while downloading).
pub fn independent_layers(driver: Driver) -> bool {
    driver.stacks_layers()
}

/// Where a layer's bytes come from.
pub enum LayerSource {
    /// The compressed blob as it downloads.
    Stream(Box<dyn Read + Send>),
    /// The blobs already in the store.
    Blobs,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Engine {
    fn overlay_whiteouts(&self) -> WhiteoutMode {
        if crate::sys::euid() == 0 && !crate::sys::is_in_user_namespace() {
            WhiteoutMode::Overlay {
                xattr: OverlayXattr::Trusted,
            }
        } else {
            WhiteoutMode::Overlay {
                xattr: OverlayXattr::User,
            }
        }
    }

    /// Unpack `reader` (a possibly compressed layer tar) into `dest`,
    /// returning the diff id and size of the uncompressed tar.
    fn unpack_into(
        &self,
        reader: Box<dyn Read + Send>,
        dest: &std::path::Path,
        whiteouts: WhiteoutMode,
    ) -> Result<Filled, BoxError> {
        let tar = compression::decompress(reader)?;
        let mut counted = DigestReader::new(tar);
        unpack::unpack_layer(
            &mut counted,
            dest,
            &UnpackOptions::for_current_process(whiteouts),
        )?;
        // The tar may carry padding after its end marker; it counts.
        io::copy(&mut counted, &mut io::sink())?;
        let size = counted.bytes_read();
        let (diff_id, _) = counted.finish();
        Ok(Filled { diff_id, size })
    }

    fn blob_reader(&self, digest: &Digest) -> Result<Box<dyn Read + Send>, BoxError> {
        let f = self.store().blobs().open(digest)?;
        Ok(Box::new(io::BufReader::with_capacity(1 << 20, f)))
    }

    /// Build every layer of `plan` the store lacks from the blobs already
    /// stored, in order (a vfs layer is built on its parents). On failure,
    /// the layer that failed and why.
    pub fn ensure_layers_from_blobs<'p>(
        &self,
        plan: &'p [PlannedLayer],
    ) -> Result<(), (&'p PlannedLayer, LayerError)> {
        for (i, layer) in plan.iter().enumerate() {
            if self.store().layers().contains(&layer.chain_id) {
                continue;
            }
            self.ensure_layer(plan, i, LayerSource::Blobs)
                .map_err(|e| (layer, e))?;
        }
        Ok(())
    }

    /// Make sure layer `i` of `plan` exists in the store.
    pub fn ensure_layer(
        &self,
        plan: &[PlannedLayer],
        i: usize,
        source: LayerSource,
    ) -> Result<LayerRecord, LayerError> {
        let layer = &plan[i];
        self.store().layers().ensure(
            &layer.chain_id,
            layer.parent.as_ref(),
            &layer.diff_id,
            |dest| match self.store().driver() {
                Driver::Overlay | Driver::FuseOverlay => {
                    let reader = match source {
                        LayerSource::Stream(r) => r,
                        LayerSource::Blobs => self.blob_reader(&layer.desc.digest)?,
                    };
                    self.unpack_into(reader, dest, self.overlay_whiteouts())
                }
                Driver::Vfs => {
                    // A vfs layer holds its parents' files too.
                    for lower in &plan[..i] {
                        let r = self.blob_reader(&lower.desc.digest)?;
                        self.unpack_into(r, dest, WhiteoutMode::Apply)?;
                    }
                    let reader = match source {
                        LayerSource::Stream(r) => r,
                        LayerSource::Blobs => self.blob_reader(&layer.desc.digest)?,
                    };
                    self.unpack_into(reader, dest, WhiteoutMode::Apply)
                }
            },
        )
    }
}
