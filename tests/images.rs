//! Local image operations (`images`, `tag`, `untag`, `rmi`, `image prune`,
//! `image exists`, `inspect`, `history`, `--filter`, `--format`), and pulls of
//! content a registry serves but skiff must refuse: malformed configs,
//! unsupported media types, a full disk.

mod common;

use common::*;

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

/// A store holding busybox and whiteout.
fn two_images() -> Skiff {
    let s = Skiff::with_registry(shared_registry());
    s.run(["pull", "-q", "skiff-test/busybox", "skiff-test/whiteout"])
        .ok();
    s
}

#[test]
fn images_lists_with_formats_and_filters() {
    if !registry_tools_present() {
        return;
    }
    let s = two_images();
    let addr = shared_registry().addr();
    let bb = fixtures().image("busybox");
    let wo = fixtures().image("whiteout");

    let table = s.run(["images"]).ok();
    let rows = lines(&table);
    assert_eq!(rows.len(), 3, "{table}");
    assert!(rows[0].starts_with("REPOSITORY"), "{table}");
    for h in ["TAG", "IMAGE ID", "CREATED", "SIZE"] {
        assert!(rows[0].contains(h), "{table}");
    }
    assert!(table.contains(&bb.id()[..12]));

    let names = s
        .run(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok();
    let mut names = lines(&names);
    names.sort();
    assert_eq!(
        names,
        vec![
            format!("{addr}/skiff-test/busybox:latest"),
            format!("{addr}/skiff-test/whiteout:latest")
        ]
    );

    let quiet = s.run(["images", "-q"]).ok();
    assert_eq!(lines(&quiet).len(), 2);
    assert!(lines(&quiet).iter().all(|l| l.len() == 12));

    let filtered = s
        .run(["images", "-q", "--no-trunc", "--filter", "reference=*busy*"])
        .ok();
    assert_eq!(filtered.trim(), format!("sha256:{}", bb.id()));
    let by_arg = s.run(["images", "-q", "skiff-test/whiteout"]).ok();
    assert_eq!(by_arg.trim(), &wo.id()[..12]);
    let labelled = s
        .run(["images", "-q", "--filter", "label=org.skiff.test=yes"])
        .ok();
    assert_eq!(labelled.trim(), &bb.id()[..12]);
    let none = s.run(["images", "-q", "--filter", "dangling=true"]).ok();
    assert_eq!(none.trim(), "");
    s.run(["images", "--filter", "color=blue"]).fails(125);

    let digests = s.run(["images", "--digests"]).ok();
    assert!(lines(&digests)[0].contains("DIGEST"));
    assert!(digests.contains(&bb.digest));

    let json: serde_json::Value =
        serde_json::from_str(&s.run(["images", "--format", "json"]).ok()).expect("json");
    let arr = json.as_array().expect("array");
    assert_eq!(arr.len(), 2);
    assert!(arr.iter().any(|i| i["Id"] == bb.id()));

    let table = s
        .run(["images", "--format", "table {{.ID}}\t{{.Size}}"])
        .ok();
    assert!(lines(&table)[0].starts_with("IMAGE ID"), "{table}");
    let noheading = s.run(["images", "--noheading"]).ok();
    assert_eq!(lines(&noheading).len(), 2);
    s.run(["images", "--format", "{{.Nope"]).fails(125);
}

#[test]
fn tag_untag_and_remove_by_name_or_id() {
    if !registry_tools_present() {
        return;
    }
    let s = two_images();
    let bb = fixtures().image("busybox");
    s.run(["tag", "skiff-test/busybox", "mine", "quay.io/me/bb:v1"])
        .ok();
    let names = s
        .run([
            "image",
            "inspect",
            "--format",
            "{{json .RepoTags}}",
            bb.id(),
        ])
        .ok();
    assert!(names.contains("localhost/mine:latest"), "{names}");
    assert!(names.contains("quay.io/me/bb:v1"), "{names}");
    s.run(["image", "exists", "mine"]).ok();
    s.run(["image", "exists", "quay.io/me/bb:v1"]).ok();
    s.run(["image", "exists", "quay.io/me/bb:v2"]).fails(1);

    // Removing by one of several names removes only that name.
    let out = s.run(["rmi", "mine"]).ok();
    assert_eq!(out.trim(), "Untagged: localhost/mine:latest");
    s.run(["image", "exists", bb.id()]).ok();
    // By id, an image with several names needs --force.
    let err = s.run(["rmi", &bb.id()[..12]]).fails(125);
    assert!(err.contains("--force"), "{err}");

    // Untag all names: the image stays, dangling.
    s.run(["untag", bb.id()]).ok();
    let dangling = s.run(["images", "-q", "--filter", "dangling=true"]).ok();
    assert_eq!(dangling.trim(), &bb.id()[..12]);
    let row = s
        .run([
            "images",
            "--format",
            "{{.Repository}} {{.Tag}}",
            "--filter",
            "dangling=true",
        ])
        .ok();
    assert_eq!(row.trim(), "<none> <none>");
    s.run(["untag", "nothing-like-it"]).fails(125);

    // Prune removes the dangling image and frees its layers, but keeps the
    // base layer whiteout still uses.
    let pruned = s.run(["image", "prune", "-f"]).ok();
    assert_eq!(pruned.trim(), bb.id());
    s.run(["image", "exists", bb.id()]).fails(1);
    s.run(["image", "exists", "skiff-test/whiteout"]).ok();
    let wo = fixtures().image("whiteout");
    let layers = std::fs::read_dir(s.root().join("layers"))
        .expect("layers")
        .count();
    assert_eq!(layers, wo.layers.len());

    // rmi: unknown is exit 1 (-i ignores it), the last image frees everything.
    s.run(["rmi", "nothing-like-it"]).fails(1);
    s.run(["rmi", "-i", "nothing-like-it"]).ok();
    let out = s.run(["rmi", "skiff-test/whiteout"]).ok();
    assert!(out.contains(&format!("Deleted: {}", wo.id())), "{out}");
    for dir in ["layers", "blobs/sha256", "images", "tmp"] {
        let n = std::fs::read_dir(s.root().join(dir)).expect("dir").count();
        assert_eq!(n, 0, "{dir} is empty after the last rmi");
    }
    s.run(["rmi"]).fails(125);
    s.run(["rmi", "-a", "x"]).fails(125);
}

#[test]
fn inspect_and_history_show_the_image() {
    if !registry_tools_present() {
        return;
    }
    let s = two_images();
    let bb = fixtures().image("busybox");
    let doc: serde_json::Value =
        serde_json::from_str(&s.run(["inspect", "skiff-test/busybox"]).ok()).expect("json");
    assert_eq!(doc[0]["Config"]["WorkingDir"], "/skiff");
    assert_eq!(doc[0]["Os"], "linux");
    assert!(doc[0]["Size"].as_u64().expect("size") > 1_000_000);
    let f = s
        .run([
            "image",
            "inspect",
            "--format",
            "{{.Id}} {{index .Labels \"org.skiff.test\"}}",
            "skiff-test/busybox",
        ])
        .ok();
    assert_eq!(f.trim(), format!("{} yes", bb.id()));
    // One missing image: the others are printed, the exit code says so.
    let out = s.run(["image", "inspect", "skiff-test/busybox", "nope"]);
    assert_eq!(out.code(), Some(125));
    assert!(out.stdout().contains(bb.id()));
    assert!(out.stderr().contains("nope"), "{}", out.stderr());

    let hist = s.run(["history", "skiff-test/busybox"]).ok();
    let rows = lines(&hist);
    assert!(
        rows[0].starts_with("ID") && rows[0].contains("CREATED BY"),
        "{hist}"
    );
    assert_eq!(rows.len(), 1 + 7, "{hist}");
    assert!(rows[1].starts_with(&bb.id()[..12]));
    assert!(rows[2].starts_with("<missing>"));
    let ids = s.run(["image", "history", "-q", "skiff-test/busybox"]).ok();
    assert_eq!(lines(&ids).len(), 7);
}

/// Upload a blob to `repo` on `reg` (POST for an upload, then one PUT).
fn put_blob(reg: &Registry, repo: &str, data: &[u8]) -> String {
    let d = sha256_digest(data);
    let start = http_request(
        reg.addr(),
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        &[],
        b"",
    )
    .expect("start upload");
    assert_eq!(start.status, 202, "{}", start.text());
    let location = start
        .header("Location")
        .expect("upload location")
        .to_string();
    let path = match location.find("/v2/") {
        Some(i) => location[i..].to_string(),
        None => location,
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    let resp = http_request(
        reg.addr(),
        "PUT",
        &format!("{path}{sep}digest={d}"),
        &[("Content-Type", "application/octet-stream")],
        data,
    )
    .expect("upload blob");
    assert_eq!(resp.status, 201, "{}", resp.text());
    d
}

fn put_manifest(reg: &Registry, repo: &str, tag: &str, media_type: &str, doc: &serde_json::Value) {
    let body = serde_json::to_vec(doc).expect("json");
    let resp = http_request(
        reg.addr(),
        "PUT",
        &format!("/v2/{repo}/manifests/{tag}"),
        &[("Content-Type", media_type)],
        &body,
    )
    .expect("put manifest");
    assert_eq!(resp.status, 201, "{}", resp.text());
}

#[test]
fn malformed_registry_content_is_refused_cleanly() {
    if !registry_tools_present() {
        return;
    }
    let reg = Registry::start(Auth::None);
    let repo = "skiff-test/broken";
    let layer = std::fs::read(fixtures().blob(&fixtures().image("busybox").layers[0]))
        .expect("fixture layer");
    let layer_d = put_blob(&reg, repo, &layer);
    let manifest = |config_d: &str, config_len: usize, layer_type: &str| {
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_d, "size": config_len},
            "layers": [{"mediaType": layer_type, "digest": layer_d, "size": layer.len()}],
        })
    };
    let oci = "application/vnd.oci.image.manifest.v1+json";
    let gz = "application/vnd.oci.image.layer.v1.tar+gzip";
    // A config that is not JSON.
    let bad = b"this is not json";
    let bad_d = put_blob(&reg, repo, bad);
    put_manifest(&reg, repo, "notjson", oci, &manifest(&bad_d, bad.len(), gz));
    // A config whose layer list does not match the manifest.
    let two = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(b"a"), sha256_digest(b"b")]},
    }))
    .expect("json");
    let two_d = put_blob(&reg, repo, &two);
    put_manifest(
        &reg,
        repo,
        "mismatch",
        oci,
        &manifest(&two_d, two.len(), gz),
    );
    // A config with the right count but a wrong diff id.
    let wrong = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(b"not the layer")]},
    }))
    .expect("json");
    let wrong_d = put_blob(&reg, repo, &wrong);
    put_manifest(
        &reg,
        repo,
        "wrongdiff",
        oci,
        &manifest(&wrong_d, wrong.len(), gz),
    );
    // A layer media type nobody knows.
    let good = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [fixtures().image("busybox").diff_ids[0]]},
    }))
    .expect("json");
    let good_d = put_blob(&reg, repo, &good);
    put_manifest(
        &reg,
        repo,
        "weirdlayer",
        oci,
        &manifest(&good_d, good.len(), "application/x-weird"),
    );

    let s = Skiff::with_registry(&reg);
    for (tag, needle) in [
        ("notjson", "config"),
        ("mismatch", "diff ids"),
        ("wrongdiff", "sha256:"),
        ("weirdlayer", "application/x-weird"),
    ] {
        let err = s.run(["pull", "-q", &format!("{repo}:{tag}")]).fails(125);
        assert!(
            err.starts_with("Error: ") && err.contains(needle),
            "{tag}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{tag}: {err}");
    }
    let ids = s.run(["images", "-q"]).ok();
    assert_eq!(ids.trim(), "", "no image from broken content");
    for dir in ["images", "layers", "tmp"] {
        let n = std::fs::read_dir(s.root().join(dir)).expect("dir").count();
        assert_eq!(n, 0, "{dir} holds nothing from broken content");
    }
    // The good content next to it still pulls.
    put_manifest(&reg, repo, "good", oci, &manifest(&good_d, good.len(), gz));
    s.run(["pull", "-q", &format!("{repo}:good")]).ok();
}

#[test]
fn a_full_disk_fails_cleanly() {
    if !registry_tools_present() || !require_root() {
        return;
    }
    let s = Skiff::with_registry(shared_registry());
    let small = s.dir().join("small");
    std::fs::create_dir_all(&small).expect("mkdir");
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&small)
        .status()
        .expect("run mount");
    assert!(mounted.success(), "mount a 1 MiB tmpfs");
    let root = small.join("root");
    let out = s
        .program(Skiff::bin())
        .arg("--root")
        .arg(&root)
        .args(["pull", "-q", "skiff-test/busybox"])
        .run();
    let listed = s
        .program(Skiff::bin())
        .arg("--root")
        .arg(&root)
        .args(["images", "-q"])
        .run();
    let tmp_left = count_entries(&root.join("tmp"));
    let _ = std::process::Command::new("umount").arg(&small).status();
    assert_eq!(out.code(), Some(125), "{out}");
    assert!(out.stderr().contains("No space left"), "{out}");
    assert_eq!(out.stderr().lines().count(), 1, "{out}");
    assert_eq!(listed.stdout().trim(), "");
    assert_eq!(tmp_left, 0, "staging cleaned up");
}
