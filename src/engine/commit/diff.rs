//! `diff`: what a container changed against its image, or what an image's
//! top layer changed against the layers below it.

use crate::engine::commit::CommitError;
use crate::engine::Engine;
use crate::storage::changes::{self, Change, FsRoot, Lowers, Owners};
use crate::storage::images::ImageRecord;

/// What `diff` may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffTarget {
    /// `container diff`.
    Container,
    /// `diff`: a container, else an image.
    ContainerOrImage,
    /// `image diff`.
    Image,
}

impl Engine {
    /// The changes of the container (or image) `input`, sorted by path.
    pub fn diff(&self, input: &str, target: DiffTarget) -> Result<Vec<Change>, CommitError> {
        match self.find_container(input) {
            _ if target == DiffTarget::Image => {}
            Ok(rec) => {
                let image = self.image_of(&rec)?;
                return Ok(self.container_changes(&rec, &image)?.changes);
            }
            Err(e) if e.is_no_such_container() && target == DiffTarget::ContainerOrImage => {}
            Err(e) => return Err(e.into()),
        }
        match self.lookup_image(input) {
            Ok((image, _)) => self.image_changes(&image),
            Err(e) if e.is_not_known() => Err(CommitError::NoSuchObject(input.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    /// The changes of an image's top layer against its parent layers.
    pub fn image_changes(&self, image: &ImageRecord) -> Result<Vec<Change>, CommitError> {
        let err = |source| CommitError::Changes {
            what: format!("image {}", &image.id.hex()[..12]),
            source,
        };
        let layers = self.store().layers();
        let Some((top, parents)) = image.layers.split_last() else {
            return Ok(Vec::new());
        };
        let Some(top_dir) = FsRoot::open(&layers.diff_dir(&top.chain_id)).map_err(err)? else {
            return Err(CommitError::BaseImage {
                image: image.id.hex()[..12].to_string(),
                message: format!("layer {} is missing from the store", top.chain_id),
            });
        };
        let owners = Owners::default();
        if self.store().driver().stacks_layers() {
            let dirs: Vec<_> = parents
                .iter()
                .rev()
                .map(|l| layers.diff_dir(&l.chain_id))
                .collect();
            let lowers = Lowers::open(&dirs).map_err(err)?;
            changes::overlay_changes(&top_dir, &lowers, &owners).map_err(err)
        } else {
            let parent = match parents.last() {
                Some(p) => FsRoot::open(&layers.diff_dir(&p.chain_id)).map_err(err)?,
                None => None,
            };
            changes::tree_changes(&top_dir, parent.as_ref(), &owners).map_err(err)
        }
    }
}
