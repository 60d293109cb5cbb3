//! How images look in command output: the rows of `images`, and the
//! podman-shaped documents of `image inspect`.

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::{json, Value};

use crate::cli::human;
use crate::engine::lookup::split_name;
use crate::engine::Engine;
use crate::image::config::ImageConfig;
use crate::storage::images::ImageRecord;

/// The parsed config of an image.
pub fn config_of(engine: &Engine, rec: &ImageRecord) -> anyhow::Result<ImageConfig> {
    let context = || format!("image {}", &rec.id.hex()[..12]);
    let bytes = engine.store().blobs().read(&rec.id).with_context(context)?;
    ImageConfig::parse(&bytes, rec.layers.len()).with_context(context)
}

/// The creation time the image config states, else when it was stored.
pub fn created(cfg: &ImageConfig, rec: &ImageRecord) -> chrono::DateTime<chrono::Utc> {
    cfg.created
        .as_deref()
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or(rec.added)
}

/// `repo@digest` for each repository the image is named in.
pub fn repo_digests(rec: &ImageRecord) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in &rec.names {
        let repo = split_name(n).0;
        for d in &rec.digests {
            let s = format!("{repo}@{d}");
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Row fields for one image under one of its names.
pub struct RowOptions {
    pub no_trunc: bool,
}

/// One row per name (one `<none>` row for a dangling image), with the
/// field names podman's templates use.
pub fn summary_rows(rec: &ImageRecord, cfg: &ImageConfig, opts: &RowOptions) -> Vec<Value> {
    let created = created(cfg, rec);
    let id = if opts.no_trunc {
        rec.id.to_string()
    } else {
        rec.id.hex()[..12].to_string()
    };
    let labels = cfg.labels();
    let digest = rec
        .digests
        .first()
        .map(|d| d.to_string())
        .unwrap_or_default();
    let names: Vec<(String, String)> = if rec.names.is_empty() {
        vec![("<none>".into(), "<none>".into())]
    } else {
        rec.names
            .iter()
            .map(|n| {
                let (repo, tag) = split_name(n);
                (repo.to_string(), tag.unwrap_or("<none>").to_string())
            })
            .collect()
    };
    names
        .into_iter()
        .map(|(repo, tag)| {
            json!({
                "ID": id,
                "Id": rec.id.hex(),
                "Repository": repo,
                "Tag": tag,
                "Digest": digest,
                "Digests": rec.digests.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                "Created": human::ago(created),
                "CreatedSince": human::ago(created),
                "CreatedAt": created.format("%Y-%m-%d %H:%M:%S %z UTC").to_string(),
                "CreatedTime": created.to_rfc3339(),
                "Size": human::size(rec.size),
                "VirtualSize": human::size(rec.size),
                "SharedSize": human::size(0),
                "Labels": labels,
                "Names": rec.names,
                "RepoTags": rec.names,
                "RepoDigests": repo_digests(rec),
                "Dangling": rec.is_dangling(),
                "Containers": 0,
                "ReadOnly": false,
                "IsReadOnly": false,
            })
        })
        .collect()
}

/// The `--format json` entry of `images` (podman's shape).
pub fn summary_json(rec: &ImageRecord, cfg: &ImageConfig) -> Value {
    let created = created(cfg, rec);
    json!({
        "Id": rec.id.hex(),
        "ParentId": "",
        "RepoTags": if rec.names.is_empty() { Value::Null } else { json!(rec.names) },
        "RepoDigests": repo_digests(rec),
        "Size": rec.size,
        "SharedSize": 0,
        "VirtualSize": rec.size,
        "Labels": cfg.labels(),
        "Containers": 0,
        "Names": rec.names,
        "Digest": rec.digests.first().map(|d| d.to_string()).unwrap_or_default(),
        "History": rec.names,
        "Created": created.timestamp(),
        "CreatedAt": created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "Dangling": rec.is_dangling(),
    })
}

/// The `image inspect` document.
pub fn inspect_doc(engine: &Engine, rec: &ImageRecord, cfg: &ImageConfig) -> Value {
    let created = created(cfg, rec);
    let run = cfg.config.clone().unwrap_or_default();
    let layers = engine.store().layers();
    let diffs: Vec<String> = rec
        .layers
        .iter()
        .rev()
        .map(|l| layers.diff_dir(&l.chain_id).display().to_string())
        .collect();
    let mut graph = BTreeMap::new();
    if let Some((upper, lower)) = diffs.split_first() {
        graph.insert("UpperDir".to_string(), upper.clone());
        if !lower.is_empty() {
            graph.insert("LowerDir".to_string(), lower.join(":"));
        }
    }
    let mut config = serde_json::to_value(&run).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut config {
        m.remove("Labels");
        if !run.labels.as_ref().is_none_or(|l| l.is_empty()) {
            m.insert("Labels".into(), json!(run.labels));
        }
    }
    let history: Vec<Value> = cfg
        .history
        .iter()
        .map(|h| serde_json::to_value(h).unwrap_or(Value::Null))
        .collect();
    json!({
        "Id": rec.id.hex(),
        "Digest": rec.digests.first().map(|d| d.to_string()).unwrap_or_default(),
        "RepoTags": rec.names,
        "RepoDigests": repo_digests(rec),
        "Parent": "",
        "Comment": cfg.history.last().and_then(|h| h.comment.clone()).unwrap_or_default(),
        "Created": created.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        "Config": config,
        "Version": "",
        "Author": cfg.author.clone().unwrap_or_default(),
        "Architecture": cfg.architecture,
        "Os": cfg.os,
        "Variant": cfg.variant.clone().unwrap_or_default(),
        "Size": rec.size,
        "VirtualSize": rec.size,
        "GraphDriver": {"Name": engine.store().driver().to_string(), "Data": graph},
        "RootFS": {"Type": "layers", "Layers": cfg.rootfs.diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
        "Labels": cfg.labels(),
        "Annotations": {},
        "ManifestType": rec.manifest_media_type,
        "User": run.user.clone().unwrap_or_default(),
        "History": history,
        "NamesHistory": rec.names,
    })
}
