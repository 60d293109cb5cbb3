//! `skiff push`, `save` and `load` end to end: images saved in every format
//! come back with the same id, pushed images keep their digests and are
//! readable by skopeo, credentials are used, and a bad archive changes
//! nothing in the store.

mod common;

use std::io::Write;
use std::path::Path;

use common::*;

fn tools() -> bool {
    require_tools(&["docker-registry", "htpasswd"]) && fixture_tools_present()
}

/// An installation that has pulled busybox from a fresh registry.
fn with_busybox() -> (Registry, Skiff) {
    let reg = Registry::start(Auth::None);
    push_to(&reg);
    let skiff = Skiff::with_registry(&reg);
    skiff.run(["pull", "-q", "skiff-test/busybox"]).ok();
    (reg, skiff)
}

fn inspect(skiff: &Skiff, image: &str, field: &str) -> String {
    let format = format!("{{{{.{field}}}}}");
    skiff
        .run(["image", "inspect", "--format", &format, image])
        .ok()
        .trim()
        .to_owned()
}

/// `images` as one sorted line per name, to compare states of the store.
fn image_list(skiff: &Skiff) -> Vec<String> {
    let out = skiff
        .run([
            "images",
            "--no-trunc",
            "--format",
            "{{.ID}} {{.Repository}}:{{.Tag}}",
        ])
        .ok();
    let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn blob_files(skiff: &Skiff) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(skiff.root().join("blobs/sha256"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Stdout of a successful command, as bytes (an archive).
#[track_caller]
fn ok_bytes(out: Output) -> Vec<u8> {
    assert!(out.success(), "expected success:\n{out}");
    out.stdout_bytes
}

fn tar_names(path: &Path) -> Vec<String> {
    let file = std::fs::File::open(path).expect("open archive");
    let mut archive = tar::Archive::new(file);
    archive
        .entries()
        .expect("entries")
        .map(|e| {
            let e = e.expect("entry");
            e.path().expect("path").to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn docker_and_oci_archives_round_trip_with_the_same_id() {
    if !tools() {
        return;
    }
    let fx = fixtures();
    let busybox = fx.image("busybox");
    let (reg, skiff) = with_busybox();
    let name = busybox.reference(&reg);
    let dir = skiff.dir().to_owned();

    let docker = dir.join("busybox-docker.tar");
    skiff
        .cmd(["save", "-q", "-o"])
        .arg(&docker)
        .arg(&name)
        .run()
        .ok();
    let names = tar_names(&docker);
    for diff_id in &busybox.diff_ids {
        let layer = format!("{}.tar", diff_id.trim_start_matches("sha256:"));
        assert!(names.contains(&layer), "{layer} in {names:?}");
    }
    assert!(names.contains(&format!("{}.json", busybox.id())));
    assert!(names.iter().any(|n| n == "manifest.json"));
    assert!(names.iter().any(|n| n == "repositories"));
    let info = skopeo()
        .arg("inspect")
        .arg(format!("docker-archive:{}", docker.display()))
        .run()
        .ok();
    let info: serde_json::Value = serde_json::from_str(&info).expect("JSON");
    assert_eq!(info["Labels"]["org.skiff.test"], "yes");

    let oci = dir.join("busybox-oci.tar");
    skiff
        .cmd(["save", "-q", "--format", "oci-archive", "-o"])
        .arg(&oci)
        .arg(&name)
        .run()
        .ok();
    let info = skopeo()
        .arg("inspect")
        .arg(format!("oci-archive:{}", oci.display()))
        .run()
        .ok();
    let info: serde_json::Value = serde_json::from_str(&info).expect("JSON");
    assert_eq!(
        info["Digest"],
        busybox.digest.as_str(),
        "manifest unchanged"
    );

    let layout = dir.join("busybox-layout");
    skiff
        .cmd(["save", "-q", "--format", "oci-dir", "-o"])
        .arg(&layout)
        .arg(&name)
        .run()
        .ok();
    assert!(layout.join("oci-layout").is_file());

    for (archive, digest_kept) in [(&docker, false), (&oci, true), (&layout, true)] {
        skiff.run(["rmi", "-a"]).ok();
        assert!(image_list(&skiff).is_empty());
        let out = skiff.cmd(["load", "-i"]).arg(archive).run().ok();
        assert_eq!(
            out,
            format!("Loaded image: {name}\n"),
            "{}",
            archive.display()
        );
        assert_eq!(inspect(&skiff, &name, "Id"), busybox.id());
        if digest_kept {
            assert_eq!(inspect(&skiff, &name, "Digest"), busybox.digest);
        }
        let listed = image_list(&skiff);
        assert_eq!(listed, [format!("sha256:{} {name}", busybox.id())]);
    }
}

#[test]
fn load_reads_compressed_archives_from_stdin_and_multi_image_archives() {
    if !tools() {
        return;
    }
    let fx = fixtures();
    let (reg, skiff) = with_busybox();
    skiff.run(["pull", "-q", "skiff-test/whiteout"]).ok();
    let busybox = fx.image("busybox").reference(&reg);
    let whiteout = fx.image("whiteout").reference(&reg);
    let archive = ok_bytes(skiff.run(["save", "-q", "-m", &busybox, &whiteout]));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&archive).expect("compress");
    let gz = gz.finish().expect("compress");

    skiff.run(["rmi", "-a"]).ok();
    let out = skiff.cmd(["load", "-q"]).stdin(gz).run().ok();
    assert_eq!(
        out,
        format!("Loaded image: {busybox}\nLoaded image: {whiteout}\n")
    );
    assert_eq!(inspect(&skiff, &whiteout, "Id"), fx.image("whiteout").id());
    // The layers were unpacked: the image has a size.
    assert_ne!(inspect(&skiff, &busybox, "Size"), "0");

    // Without -m, more names are tags of the first image.
    let tagged = ok_bytes(skiff.run(["save", "-q", &busybox, "extra:v2"]));
    skiff.run(["rmi", "-a"]).ok();
    let out = skiff.cmd(["load"]).stdin(tagged).run().ok();
    assert_eq!(
        out,
        format!("Loaded image: {busybox}\nLoaded image: localhost/extra:v2\n")
    );
}

#[test]
fn push_to_another_repository_mounts_blobs_and_keeps_the_digest() {
    if !tools() {
        return;
    }
    let fx = fixtures();
    let busybox = fx.image("busybox");
    let (reg, skiff) = with_busybox();
    let copy = reg.reference("copy:v1");
    let digestfile = skiff.dir().join("digest");
    skiff
        .cmd(["push", "-q", "--digestfile"])
        .arg(&digestfile)
        .arg("skiff-test/busybox")
        .arg(format!("docker://{copy}"))
        .run()
        .ok();
    let pushed = std::fs::read_to_string(&digestfile).expect("digest file");
    assert_eq!(pushed, busybox.digest, "the stored manifest went unchanged");
    let log = reg.log();
    assert!(
        log.contains("/v2/skiff-test/copy/blobs/uploads/?mount="),
        "layers are mounted from skiff-test/busybox"
    );

    let info = reg.inspect("copy:v1");
    assert_eq!(info["Digest"], busybox.digest.as_str());
    assert_eq!(info["Labels"]["org.skiff.test"], "yes");

    let other = Skiff::with_registry(&reg);
    other.run(["pull", "-q", "skiff-test/copy:v1"]).ok();
    assert_eq!(
        inspect(&other, "skiff-test/copy:v1", "Digest"),
        busybox.digest
    );
    assert_eq!(inspect(&other, "skiff-test/copy:v1", "Id"), busybox.id());

    // Pushing again finds everything there; the default destination is the
    // image's own name.
    let out = skiff.run(["push", "skiff-test/busybox"]);
    let err = out.stderr();
    assert!(out.success(), "{out}");
    assert!(err.contains("skipped: already exists"), "{err}");

    skiff
        .run(["push", "skiff-test/nothere"])
        .fails_with(125, "Error: skiff-test/nothere: image not known");
}

#[test]
fn loaded_archives_push_with_credentials() {
    if !tools() {
        return;
    }
    let fx = fixtures();
    let busybox = fx.image("busybox");
    let (reg, skiff) = with_busybox();
    let archive = skiff.dir().join("bb.tar");
    skiff
        .cmd(["save", "-q", "-o"])
        .arg(&archive)
        .arg("skiff-test/busybox")
        .run()
        .ok();
    drop(reg);

    let private = Registry::start(Auth::basic("alice", "s3cret"));
    let fresh = Skiff::new();
    fresh.use_registry(&private);
    fresh.cmd(["load", "-q", "-i"]).arg(&archive).run().ok();
    let dest = private.reference("mine:1");
    fresh
        .run(["push", "-q", "skiff-test/busybox", &dest])
        .fails(125);
    fresh
        .run([
            "push",
            "-q",
            "--creds",
            "alice:wrong",
            "skiff-test/busybox",
            &dest,
        ])
        .fails(125);
    fresh
        .run([
            "push",
            "-q",
            "--creds",
            "alice:s3cret",
            "skiff-test/busybox",
            &dest,
        ])
        .ok();
    let info = private.inspect("mine:1");
    assert_eq!(
        info["Layers"].as_array().map(Vec::len),
        Some(busybox.layers.len())
    );

    // The docker-archive layers were stored uncompressed and pushed so.
    let back = Skiff::new();
    back.use_registry(&private);
    back.store_credentials(&private);
    back.run(["pull", "-q", "skiff-test/mine:1"]).ok();
    assert_eq!(inspect(&back, "skiff-test/mine:1", "Id"), busybox.id());
}

/// A docker-archive whose second layer is not what the config says.
fn bad_layer_archive(path: &Path) {
    let fx = fixtures();
    let busybox = fx.image("busybox");
    let config =
        std::fs::read(fx.blob(busybox.config.as_deref().expect("config"))).expect("config");
    let mut first = Vec::new();
    std::io::copy(
        &mut flate2::read::GzDecoder::new(
            std::fs::File::open(fx.blob(&busybox.layers[0])).expect("layer"),
        ),
        &mut first,
    )
    .expect("gunzip");
    let manifest = serde_json::json!([{
        "Config": "config.json",
        "RepoTags": ["bad:1"],
        "Layers": ["one.tar", "two.tar"],
    }]);
    let mut b = tar::Builder::new(std::fs::File::create(path).expect("create"));
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).expect("append");
    };
    add("config.json", &config);
    add("one.tar", &first);
    add("two.tar", &first);
    add("manifest.json", manifest.to_string().as_bytes());
    b.finish().expect("finish");
}

#[test]
fn malformed_archives_fail_and_leave_the_store_unchanged() {
    if !tools() {
        return;
    }
    let (_reg, skiff) = with_busybox();
    let dir = skiff.dir().to_owned();
    let good = dir.join("good.tar");
    skiff
        .cmd(["save", "-q", "--format", "oci-archive", "-o"])
        .arg(&good)
        .arg("skiff-test/busybox")
        .run()
        .ok();
    let images = image_list(&skiff);
    let blobs = blob_files(&skiff);

    let bytes = std::fs::read(&good).expect("archive");
    let truncated = dir.join("truncated.tar");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let garbage = dir.join("garbage.tar");
    std::fs::write(&garbage, b"this is not an archive at all").expect("write");
    let bad_layer = dir.join("bad-layer.tar");
    bad_layer_archive(&bad_layer);

    for (archive, message) in [
        (&truncated, "Error: "),
        (
            &garbage,
            "payload does not match any of the supported image formats",
        ),
        (&bad_layer, "failed verification"),
    ] {
        let err = skiff
            .cmd(["load", "-q", "-i"])
            .arg(archive)
            .run()
            .fails_with(125, message);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert_eq!(image_list(&skiff), images, "{}", archive.display());
        assert_eq!(blob_files(&skiff), blobs, "{}", archive.display());
    }
    skiff
        .run(["load", "-q"])
        .fails_with(125, "payload does not match");

    // A fresh store gets nothing from a bad archive either.
    let fresh = Skiff::new();
    fresh
        .cmd(["load", "-q", "-i"])
        .arg(&bad_layer)
        .run()
        .fails_with(125, "failed verification");
    assert!(image_list(&fresh).is_empty());
    assert!(blob_files(&fresh).is_empty());

    skiff
        .run(["save", "-q", "-o", "x.tar", "nothere"])
        .fails_with(125, "Error: nothere: image not known");
    assert!(!dir.join("x.tar").exists());
}
