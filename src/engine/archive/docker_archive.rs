//! docker-archive: the format of `docker save` (Docker image specification
//! v1.2). `manifest.json` lists each image's config file, tags and layer
//! tars; layers are written uncompressed as `<diff-id hex>.tar` and the
//! config as `<id hex>.json`, plus the legacy per-layer directories
//! (`<id>/{VERSION,json,layer.tar}`) and the `repositories` file that older
//! readers need. Reading accepts any member paths (symlinks included) and
//! compressed layer tars.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read};

use serde::{Deserialize, Serialize};

use crate::engine::archive::import::{Candidate, LayerInput};
use crate::engine::archive::members::{read_error, Members};
use crate::engine::archive::save::SaveImage;
use crate::engine::archive::sink::Sink;
use crate::engine::archive::{LoadError, SaveError};
use crate::engine::copy::{BlobCopy, CopyObserver};
use crate::engine::lookup::split_name;
use crate::engine::Engine;
use crate::image::config::ImageConfig;
use crate::image::digest::{Digest, DigestReader};
use crate::image::manifest::{self, Descriptor, ImageManifest};
use crate::image::reference::{Reference, ReferenceError, DOCKER_HUB};
use crate::storage::compression::{self, Compression};
use crate::storage::images::ImageLayer;

pub const MANIFEST_FILE: &str = "manifest.json";
const REPOSITORIES_FILE: &str = "repositories";

/// One image in `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ManifestItem {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
}

/// Parse `manifest.json`: a non-empty array of images.
pub fn parse_manifest(bytes: &[u8]) -> Result<Vec<ManifestItem>, LoadError> {
    let items: Vec<ManifestItem> =
        serde_json::from_slice(bytes).map_err(|e| LoadError::malformed(MANIFEST_FILE, e))?;
    if items.is_empty() {
        return Err(LoadError::malformed(MANIFEST_FILE, "it lists no images"));
    }
    for item in &items {
        if item.config.is_empty() {
            return Err(LoadError::malformed(
                MANIFEST_FILE,
                "an image has no Config",
            ));
        }
    }
    Ok(items)
}

/// The full name a docker-archive tag means: Docker's rules, so a short
/// name is on docker.io.
pub fn tag_to_name(tag: &str) -> Result<String, ReferenceError> {
    Ok(Reference::parse_tagged(tag, DOCKER_HUB)?.to_string())
}

/// The images of a docker-archive.
pub fn read(members: &Members) -> Result<Vec<Candidate>, LoadError> {
    let kind = members.describe();
    let bytes = members
        .read_document(MANIFEST_FILE, manifest::MAX_DOCUMENT_SIZE)
        .map_err(LoadError::member(kind))?;
    parse_manifest(&bytes)?
        .iter()
        .map(|item| candidate(members, item))
        .collect()
}

fn candidate(members: &Members, item: &ManifestItem) -> Result<Candidate, LoadError> {
    let kind = members.describe();
    let config = members
        .read_document(&item.config, manifest::MAX_DOCUMENT_SIZE)
        .map_err(LoadError::member(kind))?;
    let config_digest = Digest::of(&config);
    let label = item
        .repo_tags
        .as_ref()
        .and_then(|t| t.first().cloned())
        .unwrap_or_else(|| config_digest.to_string());
    let parsed =
        ImageConfig::parse(&config, item.layers.len()).map_err(|source| LoadError::Config {
            image: label.clone(),
            source,
        })?;
    let mut names = Vec::new();
    for tag in item.repo_tags.iter().flatten() {
        let name = tag_to_name(tag).map_err(|source| LoadError::Name {
            image: label.clone(),
            name: tag.clone(),
            source,
        })?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut layers = Vec::with_capacity(item.layers.len());
    for (path, diff_id) in item.layers.iter().zip(&parsed.rootfs.diff_ids) {
        layers.push(layer_input(members, path, diff_id)?);
    }
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(manifest::OCI_MANIFEST.to_string()),
        config: Descriptor {
            media_type: manifest::OCI_CONFIG.to_string(),
            digest: config_digest.clone(),
            size: config.len() as u64,
            platform: None,
            annotations: None,
            urls: None,
        },
        layers: layers.iter().map(|l| l.desc.clone()).collect(),
        annotations: None,
    };
    let manifest =
        serde_json::to_vec(&manifest).map_err(|e| LoadError::malformed(MANIFEST_FILE, e))?;
    Ok(Candidate {
        label,
        names,
        config_digest,
        config,
        diff_ids: parsed.rootfs.diff_ids,
        digests: vec![Digest::of(&manifest)],
        manifest,
        manifest_media_type: manifest::OCI_MANIFEST.to_string(),
        extra_blobs: Vec::new(),
        layers,
    })
}

/// Describe one layer tar. An uncompressed tar is its own blob, its digest
/// the diff id (checked as it is stored); a compressed one is hashed here.
fn layer_input(members: &Members, path: &str, diff_id: &Digest) -> Result<LayerInput, LoadError> {
    let kind = members.describe();
    let read_err = |e| LoadError::member(kind)(read_error(path, e));
    let (reader, size) = members.open(path).map_err(LoadError::member(kind))?;
    let mut hashing = DigestReader::new(reader);
    let (found, _) = compression::detect(&mut hashing).map_err(read_err)?;
    let digest = match found {
        Compression::None => diff_id.clone(),
        _ => {
            io::copy(&mut hashing, &mut io::sink()).map_err(read_err)?;
            hashing.finish().0
        }
    };
    Ok(LayerInput {
        member: path.to_string(),
        desc: Descriptor {
            media_type: found.oci_layer_media_type().to_string(),
            digest,
            size,
            platform: None,
            annotations: None,
            urls: None,
        },
    })
}

/// Write `images` as a docker-archive.
pub fn write(
    engine: &Engine,
    images: &[SaveImage],
    sink: &mut dyn Sink,
    observer: &dyn CopyObserver,
) -> Result<(), SaveError> {
    let mut written: HashSet<String> = HashSet::new();
    let mut items: Vec<ManifestItem> = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for img in images {
        let mut layer_paths = Vec::new();
        for layer in &img.record.layers {
            let path = format!("{}.tar", layer.diff_id.hex());
            if written.insert(path.clone()) {
                observer.blob(&layer.diff_id, BlobCopy::Copying);
                write_layer(engine, img, layer, &path, sink)?;
            }
            layer_paths.push(path);
        }
        let config_path = format!("{}.json", img.record.id.hex());
        if written.insert(config_path.clone()) {
            observer.config(&img.record.id);
            sink.add_bytes(&config_path, &img.config)
                .map_err(SaveError::write(&config_path))?;
        }
        let top = write_legacy_layers(img, &mut written, sink)?;
        let tags: Vec<String> = img
            .tags
            .iter()
            .filter(|t| !t.contains('@'))
            .cloned()
            .collect();
        if let Some(top) = top {
            for t in &tags {
                let (repo, tag) = split_name(t);
                repositories
                    .entry(repo.to_string())
                    .or_default()
                    .insert(tag.unwrap_or("latest").to_string(), top.clone());
            }
        }
        match items.iter_mut().find(|i| i.config == config_path) {
            Some(existing) => {
                let known = existing.repo_tags.get_or_insert_with(Vec::new);
                for t in tags {
                    if !known.contains(&t) {
                        known.push(t);
                    }
                }
            }
            None => items.push(ManifestItem {
                config: config_path,
                repo_tags: Some(tags),
                layers: layer_paths,
            }),
        }
    }
    observer.writing_manifest();
    sink.add_bytes(MANIFEST_FILE, &to_json(&items)?)
        .map_err(SaveError::write(MANIFEST_FILE))?;
    sink.add_bytes(REPOSITORIES_FILE, &to_json(&repositories)?)
        .map_err(SaveError::write(REPOSITORIES_FILE))?;
    Ok(())
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, SaveError> {
    serde_json::to_vec(value).map_err(|e| SaveError::Write {
        what: "archive metadata".to_string(),
        source: io::Error::other(e),
    })
}

/// Write one layer uncompressed, checking that it is the diff id.
fn write_layer(
    engine: &Engine,
    img: &SaveImage,
    layer: &ImageLayer,
    path: &str,
    sink: &mut dyn Sink,
) -> Result<(), SaveError> {
    let store = engine.store();
    let blob_err = |source| SaveError::Blob {
        image: img.label.clone(),
        source,
    };
    let decompress_err = |source| SaveError::Decompress {
        image: img.label.clone(),
        blob: layer.blob.clone(),
        source,
    };
    let file = store.blobs().open(&layer.blob).map_err(blob_err)?;
    let (found, peeked) = compression::detect(io::BufReader::with_capacity(1 << 20, file))
        .map_err(|source| decompress_err(compression::DecompressError::Peek { source }))?;
    // A tar member's size comes before its bytes: an uncompressed blob is its
    // own size; a compressed one's is in the layer record, if any.
    let size = match found {
        Compression::None => Some(store.blobs().size(&layer.blob).map_err(blob_err)?),
        _ => store
            .layers()
            .get(&layer.chain_id)
            .ok()
            .flatten()
            .map(|rec| rec.size),
    };
    let tar = compression::decoder(found, peeked).map_err(decompress_err)?;
    let mut hashing = DigestReader::new(tar);
    let Some(size) = size else {
        return write_layer_spooled(engine, img, layer, path, hashing, sink);
    };
    sink.add_file(path, size, &mut hashing)
        .map_err(SaveError::write(path))?;
    check_diff_id(img, layer, hashing.finish().0)
}

/// The uncompressed size is unknown (no layer record): uncompress `tar` into
/// a scratch file first.
fn write_layer_spooled(
    engine: &Engine,
    img: &SaveImage,
    layer: &ImageLayer,
    path: &str,
    mut tar: DigestReader<Box<dyn Read + Send>>,
    sink: &mut dyn Sink,
) -> Result<(), SaveError> {
    let scratch = format!("a scratch copy of layer {}", layer.blob);
    let mut spool =
        tempfile::tempfile_in(engine.store().tmp_dir()).map_err(SaveError::write(&scratch))?;
    let size = io::copy(&mut tar, &mut spool).map_err(SaveError::write(&scratch))?;
    check_diff_id(img, layer, tar.finish().0)?;
    io::Seek::rewind(&mut spool).map_err(SaveError::write(scratch))?;
    sink.add_file(path, size, &mut io::BufReader::new(spool).take(size))
        .map_err(SaveError::write(path))
}

fn check_diff_id(img: &SaveImage, layer: &ImageLayer, actual: Digest) -> Result<(), SaveError> {
    if actual == layer.diff_id {
        return Ok(());
    }
    Err(SaveError::DiffMismatch {
        image: img.label.clone(),
        blob: layer.blob.clone(),
        expected: layer.diff_id.clone(),
        actual,
    })
}

/// The legacy per-layer directories; returns the top one's id. Ids are
/// derived from the chain id, the parent's id and (for the top layer) the
/// image id, so they never collide or loop; Docker assigns its own on load.
fn write_legacy_layers(
    img: &SaveImage,
    written: &mut HashSet<String>,
    sink: &mut dyn Sink,
) -> Result<Option<String>, SaveError> {
    let config: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&img.config).unwrap_or_default();
    let mut parent: Option<String> = None;
    let count = img.record.layers.len();
    for (i, layer) in img.record.layers.iter().enumerate() {
        let top = i + 1 == count;
        let seed = format!(
            "{} {} {}",
            layer.chain_id,
            parent.as_deref().unwrap_or(""),
            if top {
                img.record.id.to_string()
            } else {
                String::new()
            }
        );
        let id = Digest::of(seed.as_bytes()).hex().to_string();
        let mut json = serde_json::Map::new();
        json.insert("id".into(), id.clone().into());
        if let Some(p) = &parent {
            json.insert("parent".into(), p.clone().into());
        }
        if top {
            for key in [
                "architecture",
                "os",
                "created",
                "config",
                "container_config",
            ] {
                if let Some(v) = config.get(key) {
                    json.insert(key.into(), v.clone());
                }
            }
        }
        if written.insert(id.clone()) {
            let layer_link = format!("{id}/layer.tar");
            sink.add_symlink(&layer_link, &format!("../{}.tar", layer.diff_id.hex()))
                .map_err(SaveError::write(layer_link))?;
            let version = format!("{id}/VERSION");
            sink.add_bytes(&version, b"1.0")
                .map_err(SaveError::write(version))?;
            let json_path = format!("{id}/json");
            sink.add_bytes(&json_path, &to_json(&json)?)
                .map_err(SaveError::write(json_path))?;
        }
        parent = Some(id);
    }
    Ok(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_json_must_list_images() {
        let ok = br#"[{"Config":"a.json","RepoTags":null,"Layers":["l.tar"]}]"#;
        let items = parse_manifest(ok).expect("valid");
        assert_eq!(items[0].repo_tags, None);
        assert_eq!(items[0].layers, ["l.tar"]);
        for bad in [
            &b"[]"[..],
            b"{}",
            b"[{\"Layers\":[]}]",
            b"not json",
            b"[{\"Config\":\"\",\"Layers\":[]}]",
        ] {
            let err = parse_manifest(bad).expect_err("malformed");
            assert!(
                err.to_string().starts_with("malformed manifest.json"),
                "{err}"
            );
        }
    }

    #[test]
    fn paths_in_manifest_json_stay_inside_the_archive() {
        let d = tempfile::tempdir().expect("tempdir");
        let manifest = r#"[{"Config":"../../etc/passwd","RepoTags":[],"Layers":[]}]"#;
        std::fs::write(d.path().join(MANIFEST_FILE), manifest).expect("write");
        let err = read(&Members::Dir(d.path().to_owned())).expect_err("escape");
        assert!(
            matches!(
                err,
                LoadError::Member {
                    source: crate::engine::archive::members::MemberError::Escape { .. },
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn tags_follow_docker_naming() {
        assert_eq!(
            tag_to_name("busybox:latest").expect("valid"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            tag_to_name("localhost/bb:1").expect("valid"),
            "localhost/bb:1"
        );
        assert_eq!(
            tag_to_name("quay.io/a/b").expect("valid"),
            "quay.io/a/b:latest"
        );
        assert!(tag_to_name("Bad:tag").is_err());
        let d = Digest::of(b"x");
        assert!(tag_to_name(&format!("quay.io/a/b@{d}")).is_err());
    }
}
