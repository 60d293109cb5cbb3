//! Finding local images by what a user typed: a full or partial id, a full
//! name, a short name, or a name with a digest (podman's rules).

use crate::engine::{Engine, EngineError};
use crate::image::reference::{looks_like_image_id, ImageName, ReferenceError};
use crate::storage::images::ImageRecord;
use crate::storage::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{0}: image not known")]
    NotKnown(String),
    #[error("{input}: image id prefix is ambiguous: it matches {count} images")]
    Ambiguous { input: String, count: usize },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl LookupError {
    pub fn is_not_known(&self) -> bool {
        matches!(self, LookupError::NotKnown(_))
    }
}

/// How a record matched what the user typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched {
    /// By (a prefix of) its id.
    Id,
    /// By this one of its names.
    Name(String),
    /// By a digest it is known by.
    Digest,
}

/// Split a stored name into repository and tag (`<none>` for digest names).
pub fn split_name(name: &str) -> (&str, Option<&str>) {
    if let Some((repo, _)) = name.split_once('@') {
        return (repo, None);
    }
    match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    }
}

impl Engine {
    /// Find one image. Ids win over names (as in podman).
    pub fn lookup_image(&self, input: &str) -> Result<(ImageRecord, Matched), LookupError> {
        let images = self.store().images().list().map_err(StoreError::from)?;
        if looks_like_image_id(input) {
            let hex = input.strip_prefix("sha256:").unwrap_or(input);
            let hits: Vec<&ImageRecord> = images
                .iter()
                .filter(|i| i.id.hex().starts_with(hex))
                .collect();
            match hits.len() {
                1 => return Ok((hits[0].clone(), Matched::Id)),
                0 => {}
                count => {
                    return Err(LookupError::Ambiguous {
                        input: input.to_string(),
                        count,
                    })
                }
            }
        }
        if let Some(hex) = input.strip_prefix("sha256:") {
            return Err(LookupError::NotKnown(hex.to_string()));
        }
        let parsed = match ImageName::parse(input) {
            Ok(p) => p,
            // A full id that matched nothing is simply not known.
            Err(_) if looks_like_image_id(input) => {
                return Err(LookupError::NotKnown(input.to_string()))
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(found) = find_by_name(&images, &parsed) {
            return Ok(found);
        }
        Err(LookupError::NotKnown(input.to_string()))
    }
}

/// The repository part of a stored name matches a user's name when equal,
/// or, for a short name, when it ends with that path at a component
/// boundary (`alpine` matches `docker.io/library/alpine` and
/// `localhost/alpine`; `ns/app` matches `quay.io/ns/app`), as podman does.
fn repo_matches(stored_repo: &str, parsed: &ImageName) -> bool {
    match parsed.domain() {
        Some(domain) => stored_repo == format!("{domain}/{}", parsed.path()),
        None => stored_repo
            .strip_suffix(parsed.path())
            .is_some_and(|head| head.ends_with('/')),
    }
}

fn find_by_name(images: &[ImageRecord], parsed: &ImageName) -> Option<(ImageRecord, Matched)> {
    if let Some(digest) = parsed.digest() {
        return images
            .iter()
            .find(|img| {
                img.digests.contains(digest)
                    && img
                        .names
                        .iter()
                        .any(|n| repo_matches(split_name(n).0, parsed))
            })
            .map(|img| (img.clone(), Matched::Digest));
    }
    let want_tag = parsed.tag().unwrap_or("latest");
    let mut best: Option<(ImageRecord, Matched, u8)> = None;
    for img in images {
        for n in &img.names {
            let (repo, tag) = split_name(n);
            if tag != Some(want_tag) || !repo_matches(repo, parsed) {
                continue;
            }
            // localhost/ names win for short names, as in podman.
            let rank = if repo.starts_with("localhost/") { 2 } else { 1 };
            if best.as_ref().is_none_or(|b| rank > b.2) {
                best = Some((img.clone(), Matched::Name(n.clone()), rank));
            }
        }
    }
    best.map(|(r, m, _)| (r, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_names() {
        assert_eq!(
            split_name("docker.io/library/alpine:3.20"),
            ("docker.io/library/alpine", Some("3.20"))
        );
        assert_eq!(split_name("localhost:5000/a"), ("localhost:5000/a", None));
        assert_eq!(split_name("q.io/a@sha256:00"), ("q.io/a", None));
    }

    #[test]
    fn short_names_match_any_registry() {
        let p = ImageName::parse("alpine").expect("valid");
        assert!(repo_matches("docker.io/library/alpine", &p));
        assert!(repo_matches("localhost/alpine", &p));
        assert!(!repo_matches("docker.io/library/alpine2", &p));
        assert!(!repo_matches("docker.io/library/xalpine", &p));
        let ns = ImageName::parse("skiff-test/busybox").expect("valid");
        assert!(repo_matches("127.0.0.1:5000/skiff-test/busybox", &ns));
        let q = ImageName::parse("quay.io/x/alpine").expect("valid");
        assert!(!repo_matches("docker.io/x/alpine", &q));
    }
}
