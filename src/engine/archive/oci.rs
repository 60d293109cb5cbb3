//! OCI image layouts (image-spec `image-layout.md`): `oci-layout`,
//! `index.json` naming each image with `org.opencontainers.image.ref.name`,
//! and `blobs/sha256/<hex>`; as a directory (oci-dir) or a tar of one
//! (oci-archive). Images are written with their stored blobs and manifest
//! unchanged, so a saved image keeps its digest. Also reads the `dir`
//! layout (podman's docker-dir: `manifest.json` and blobs named by hex).

use std::collections::{BTreeMap, HashSet};

use crate::engine::archive::import::{Candidate, LayerInput};
use crate::engine::archive::members::{MemberError, Members};
use crate::engine::archive::save::SaveImage;
use crate::engine::archive::sink::Sink;
use crate::engine::archive::{LoadError, SaveError};
use crate::engine::copy::{BlobCopy, CopyObserver};
use crate::engine::images::normalize_new_name;
use crate::engine::Engine;
use crate::image::config::ImageConfig;
use crate::image::digest::Digest;
use crate::image::manifest::{self, Descriptor, ImageIndex, ImageManifest, Manifest};
use crate::image::platform::Platform;

pub const LAYOUT_FILE: &str = "oci-layout";
pub const INDEX_FILE: &str = "index.json";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
const LAYOUT_VERSION: &[u8] = br#"{"imageLayoutVersion": "1.0.0"}"#;

/// Where a layout keeps blob `d`.
pub fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

/// Where podman's `dir` layout keeps blob `d`.
fn dir_blob_path(d: &Digest) -> String {
    d.hex().to_string()
}

/// Read a small blob and check its digest (and size, when stated).
fn read_blob(
    members: &Members,
    path: &str,
    image: &str,
    what: &str,
    desc: (&Digest, Option<u64>),
) -> Result<Vec<u8>, LoadError> {
    let bytes = members
        .read_document(path, manifest::MAX_DOCUMENT_SIZE)
        .map_err(LoadError::member(members.describe()))?;
    let actual = Digest::of(&bytes);
    if &actual != desc.0 || desc.1.is_some_and(|s| s != bytes.len() as u64) {
        return Err(LoadError::DigestMismatch {
            image: image.to_string(),
            what: what.to_string(),
            expected: desc.0.clone(),
            actual,
        });
    }
    Ok(bytes)
}

/// The images of an OCI layout.
pub fn read(members: &Members) -> Result<Vec<Candidate>, LoadError> {
    let kind = members.describe();
    let bytes = members
        .read_document(INDEX_FILE, manifest::MAX_DOCUMENT_SIZE)
        .map_err(LoadError::member(kind))?;
    let index = match Manifest::parse(&bytes, Some(manifest::OCI_INDEX)) {
        Ok(Manifest::Index(i)) => i,
        Ok(Manifest::Image(_)) => return Err(LoadError::malformed(INDEX_FILE, "not an index")),
        Err(e) => return Err(LoadError::malformed(INDEX_FILE, e)),
    };
    let mut out = Vec::new();
    for desc in &index.manifests {
        let ref_name = desc.annotations.as_ref().and_then(|a| a.get(REF_NAME));
        let label = ref_name.cloned().unwrap_or_else(|| desc.digest.to_string());
        let names = match ref_name {
            Some(n) => vec![normalize_new_name(n).map_err(|source| LoadError::Name {
                image: label.clone(),
                name: n.clone(),
                source,
            })?],
            None => Vec::new(),
        };
        let doc = read_blob(
            members,
            &blob_path(&desc.digest),
            &label,
            "manifest",
            (&desc.digest, Some(desc.size)),
        )?;
        let c = match parse_manifest(&doc, &desc.media_type, &label)? {
            Manifest::Image(m) => {
                let digests = vec![desc.digest.clone()];
                let parts = (doc, desc.media_type.clone(), digests, Vec::new());
                image_candidate(members, blob_path, label, names, *m, parts)?
            }
            Manifest::Index(idx) => {
                let chosen =
                    idx.select(&Platform::host())
                        .map_err(|source| LoadError::Manifest {
                            image: label.clone(),
                            source,
                        })?;
                let inner = read_blob(
                    members,
                    &blob_path(&chosen.digest),
                    &label,
                    "manifest",
                    (&chosen.digest, Some(chosen.size)),
                )?;
                let Manifest::Image(m) = parse_manifest(&inner, &chosen.media_type, &label)? else {
                    return Err(LoadError::malformed(
                        INDEX_FILE,
                        format!("{label}: an index entry points at another index"),
                    ));
                };
                let digests = vec![chosen.digest.clone(), desc.digest.clone()];
                let parts = (inner, chosen.media_type.clone(), digests, vec![doc]);
                image_candidate(members, blob_path, label, names, *m, parts)?
            }
        };
        out.push(c);
    }
    Ok(out)
}

/// The image of a `dir` layout (it has no name).
pub fn read_dir_layout(members: &Members) -> Result<Vec<Candidate>, LoadError> {
    let doc = members
        .read_document("manifest.json", manifest::MAX_DOCUMENT_SIZE)
        .map_err(LoadError::member(members.describe()))?;
    let digest = Digest::of(&doc);
    let label = digest.to_string();
    let (m, media_type) = match Manifest::parse(&doc, None) {
        Ok(Manifest::Image(m)) => {
            let m = *m;
            let mt = m
                .media_type
                .clone()
                .unwrap_or_else(|| manifest::OCI_MANIFEST.to_string());
            (m, mt)
        }
        Ok(Manifest::Index(_)) => {
            return Err(LoadError::malformed(
                "manifest.json",
                "a manifest list; only single images can be loaded from a directory",
            ))
        }
        Err(e) => return Err(LoadError::malformed("manifest.json", e)),
    };
    let parts = (doc, media_type, vec![digest], Vec::new());
    Ok(vec![image_candidate(
        members,
        dir_blob_path,
        label,
        Vec::new(),
        m,
        parts,
    )?])
}

fn parse_manifest(doc: &[u8], media_type: &str, label: &str) -> Result<Manifest, LoadError> {
    Manifest::parse(doc, Some(media_type)).map_err(|source| LoadError::Manifest {
        image: label.to_string(),
        source,
    })
}

/// Manifest bytes, media type, digests (own first), extra blobs.
type ManifestParts = (Vec<u8>, String, Vec<Digest>, Vec<Vec<u8>>);

fn image_candidate(
    members: &Members,
    path_of: fn(&Digest) -> String,
    label: String,
    names: Vec<String>,
    m: ImageManifest,
    (manifest, manifest_media_type, digests, extra_blobs): ManifestParts,
) -> Result<Candidate, LoadError> {
    let config = read_blob(
        members,
        &path_of(&m.config.digest),
        &label,
        "config",
        (&m.config.digest, Some(m.config.size)),
    )?;
    let parsed =
        ImageConfig::parse(&config, m.layers.len()).map_err(|source| LoadError::Config {
            image: label.clone(),
            source,
        })?;
    let mut layers = Vec::with_capacity(m.layers.len());
    for desc in &m.layers {
        let member = path_of(&desc.digest);
        // Every blob must be there before anything is stored.
        let (_, size) = members
            .open(&member)
            .map_err(LoadError::member(members.describe()))?;
        if size != desc.size {
            return Err(LoadError::Member {
                kind: members.describe(),
                source: MemberError::Truncated {
                    name: member,
                    size: desc.size,
                },
            });
        }
        layers.push(LayerInput {
            member,
            desc: desc.clone(),
        });
    }
    Ok(Candidate {
        label,
        names,
        config_digest: m.config.digest.clone(),
        config,
        diff_ids: parsed.rootfs.diff_ids,
        manifest,
        manifest_media_type,
        digests,
        extra_blobs,
        layers,
    })
}

/// The manifest to put in a layout: the stored one when it is OCI, else
/// the same content with OCI media types (blobs are unchanged).
fn oci_manifest(img: &SaveImage) -> Result<(Vec<u8>, Digest), SaveError> {
    if img.record.manifest_media_type == manifest::OCI_MANIFEST {
        return Ok((img.manifest_bytes.clone(), img.record.manifest.clone()));
    }
    let mut m = img.manifest.clone();
    m.media_type = Some(manifest::OCI_MANIFEST.to_string());
    if m.config.media_type == manifest::DOCKER_CONFIG {
        m.config.media_type = manifest::OCI_CONFIG.to_string();
    }
    for l in &mut m.layers {
        l.media_type = match l.media_type.as_str() {
            manifest::DOCKER_LAYER_GZIP => manifest::OCI_LAYER_GZIP.to_string(),
            manifest::DOCKER_LAYER_FOREIGN => {
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip".to_string()
            }
            other => other.to_string(),
        };
    }
    let bytes = serde_json::to_vec(&m).map_err(|e| SaveError::Write {
        what: "the image manifest".to_string(),
        source: std::io::Error::other(e),
    })?;
    let digest = Digest::of(&bytes);
    Ok((bytes, digest))
}

/// Write `images` as an OCI layout into `sink`, keeping the entries of
/// `existing` (an oci-dir written to before) that name other images.
pub fn write(
    engine: &Engine,
    images: &[SaveImage],
    sink: &mut dyn Sink,
    existing: Option<ImageIndex>,
    observer: &dyn CopyObserver,
) -> Result<(), SaveError> {
    sink.add_bytes(LAYOUT_FILE, LAYOUT_VERSION)
        .map_err(SaveError::write(LAYOUT_FILE))?;
    sink.add_dir("blobs").map_err(SaveError::write("blobs"))?;
    sink.add_dir("blobs/sha256")
        .map_err(SaveError::write("blobs"))?;
    let mut entries: Vec<Descriptor> = Vec::new();
    let mut written = HashSet::new();
    for img in images {
        for l in &img.manifest.layers {
            let mut report = |w| observer.blob(&l.digest, w);
            copy_blob(engine, img, &l.digest, sink, &mut written, &mut report)?;
        }
        observer.config(&img.record.id);
        copy_blob(engine, img, &img.record.id, sink, &mut written, &mut |_| {})?;
        let (bytes, digest) = oci_manifest(img)?;
        let path = blob_path(&digest);
        if !sink.has(&path) && written.insert(path.clone()) {
            sink.add_bytes(&path, &bytes)
                .map_err(SaveError::write(&path))?;
        }
        let desc = |name: Option<&String>| Descriptor {
            media_type: manifest::OCI_MANIFEST.to_string(),
            digest: digest.clone(),
            size: bytes.len() as u64,
            platform: None,
            annotations: name.map(|n| BTreeMap::from([(REF_NAME.to_string(), n.clone())])),
            urls: None,
        };
        // One entry per image, named by its first tag, as podman writes:
        // readers that take "the" image of a layout refuse several entries.
        let mut tags = img.tags.iter().filter(|t| !t.contains('@'));
        entries.push(desc(tags.next()));
        let dropped: Vec<&String> = tags.collect();
        if !dropped.is_empty() {
            tracing::warn!(
                "an OCI layout names each image once: not recording {}",
                dropped
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    observer.writing_manifest();
    let ours = |d: &Descriptor| {
        entries.iter().any(|e| match (ref_name(e), ref_name(d)) {
            (Some(a), Some(b)) => a == b,
            (None, None) => e.digest == d.digest,
            _ => false,
        })
    };
    let mut manifests: Vec<Descriptor> = existing
        .map(|i| i.manifests)
        .unwrap_or_default()
        .into_iter()
        .filter(|d| !ours(d))
        .collect();
    manifests.extend(entries.iter().cloned());
    let index = ImageIndex {
        schema_version: 2,
        media_type: Some(manifest::OCI_INDEX.to_string()),
        manifests,
        annotations: None,
    };
    let bytes = serde_json::to_vec(&index).map_err(|e| SaveError::Write {
        what: INDEX_FILE.to_string(),
        source: std::io::Error::other(e),
    })?;
    sink.add_bytes(INDEX_FILE, &bytes)
        .map_err(SaveError::write(INDEX_FILE))
}

fn ref_name(d: &Descriptor) -> Option<&String> {
    d.annotations.as_ref().and_then(|a| a.get(REF_NAME))
}

/// Copy a stored blob into the layout unless it is there already.
fn copy_blob(
    engine: &Engine,
    img: &SaveImage,
    digest: &Digest,
    sink: &mut dyn Sink,
    written: &mut HashSet<String>,
    report: &mut dyn FnMut(BlobCopy),
) -> Result<(), SaveError> {
    let path = blob_path(digest);
    if sink.has(&path) || !written.insert(path.clone()) {
        report(BlobCopy::Exists);
        return Ok(());
    }
    report(BlobCopy::Copying);
    let blobs = engine.store().blobs();
    let blob_err = |source| SaveError::Blob {
        image: img.label.clone(),
        source,
    };
    let size = blobs.size(digest).map_err(blob_err)?;
    let file = blobs.open(digest).map_err(blob_err)?;
    sink.add_file(
        &path,
        size,
        &mut std::io::BufReader::with_capacity(1 << 20, file),
    )
    .map_err(SaveError::write(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OCI layout directory with one image of one layer; `skip` names a
    /// blob left out.
    fn layout(skip: Option<&str>) -> (tempfile::TempDir, Digest) {
        let d = tempfile::tempdir().expect("tempdir");
        let layer = b"not really a tar".to_vec();
        let layer_digest = Digest::of(&layer);
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer_digest}"]}}}}"#
        );
        let desc = |mt: &str, bytes: &[u8]| serde_json::json!({"mediaType": mt, "digest": Digest::of(bytes).to_string(), "size": bytes.len()});
        let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": manifest::OCI_MANIFEST,
            "config": desc(manifest::OCI_CONFIG, config.as_bytes()),
            "layers": [desc(manifest::OCI_LAYER, &layer)]})
        .to_string();
        let mut entry = desc(manifest::OCI_MANIFEST, manifest.as_bytes());
        entry["annotations"] = serde_json::json!({REF_NAME: "example:1"});
        let index = serde_json::json!({"schemaVersion": 2, "manifests": [entry]}).to_string();
        std::fs::create_dir_all(d.path().join("blobs/sha256")).expect("mkdir");
        let files = [
            ("layer", blob_path(&layer_digest), layer.clone()),
            (
                "config",
                blob_path(&Digest::of(config.as_bytes())),
                config.into_bytes(),
            ),
            (
                "manifest",
                blob_path(&Digest::of(manifest.as_bytes())),
                manifest.into_bytes(),
            ),
            ("index", INDEX_FILE.to_string(), index.into_bytes()),
        ];
        for (what, path, bytes) in files {
            if skip != Some(what) {
                std::fs::write(d.path().join(path), bytes).expect("write");
            }
        }
        (d, layer_digest)
    }

    #[test]
    fn reads_a_layout_and_names_its_image() {
        let (d, layer) = layout(None);
        let c = read(&Members::Dir(d.path().to_owned())).expect("valid layout");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].names, ["localhost/example:1"]);
        assert_eq!(c[0].layers[0].desc.digest, layer);
        assert_eq!(c[0].layers[0].member, blob_path(&layer));
    }

    #[test]
    fn a_missing_blob_is_found_before_anything_is_stored() {
        for what in ["layer", "config", "manifest"] {
            let (d, _) = layout(Some(what));
            let err = read(&Members::Dir(d.path().to_owned())).expect_err(what);
            assert!(
                matches!(
                    err,
                    LoadError::Member {
                        source: MemberError::NotFound { .. },
                        ..
                    }
                ),
                "{what}: {err}"
            );
        }
    }

    #[test]
    fn a_blob_with_other_content_is_refused() {
        let (d, _) = layout(None);
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.path().join(INDEX_FILE)).expect("index"))
                .expect("json");
        let digest: Digest = index["manifests"][0]["digest"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("digest");
        std::fs::write(d.path().join(blob_path(&digest)), b"{}").expect("overwrite");
        let err = read(&Members::Dir(d.path().to_owned())).expect_err("tampered");
        assert!(matches!(err, LoadError::DigestMismatch { .. }), "{err}");
    }
}
