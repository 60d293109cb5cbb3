//! `skiff pull` against a real registry: every fixture kind, platforms,
//! auth, registries.conf rewriting, bad input, crashes and concurrency, and
//! what the store holds afterwards.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

fn layers(s: &Skiff) -> usize {
    count_entries(&s.root().join("layers"))
}

fn blobs(s: &Skiff) -> usize {
    count_entries(&s.root().join("blobs/sha256"))
}

fn image_ids(s: &Skiff) -> Vec<String> {
    let out = s.run(["images", "-q", "--no-trunc"]).ok();
    out.lines().map(str::to_string).collect()
}

/// The driver the store chose (root: overlay; unprivileged: vfs).
fn driver(s: &Skiff) -> String {
    s.run(["info", "--format", "{{.store.graphDriverName}}"])
        .ok()
        .trim()
        .to_string()
}

/// The directory with the files of the image's top layer.
fn top_layer_dir(s: &Skiff, image: &str) -> std::path::PathBuf {
    let out = s
        .run([
            "image",
            "inspect",
            "--format",
            "{{.GraphDriver.Data.UpperDir}}",
            image,
        ])
        .ok();
    std::path::PathBuf::from(out.trim())
}

#[test]
fn pull_by_short_name_stores_the_image_under_its_id() {
    if !registry_tools_present() {
        return;
    }
    let reg = shared_registry();
    let fx = fixtures().image("busybox");
    let s = Skiff::with_registry(reg);
    let out = s.run(["pull", "-q", "skiff-test/busybox"]).ok();
    assert_eq!(out.trim(), fx.id());
    assert_eq!(image_ids(&s), vec![format!("sha256:{}", fx.id())]);
    let name = s
        .run(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok();
    assert_eq!(
        name.trim(),
        format!("{}/skiff-test/busybox:latest", reg.addr())
    );

    let doc: serde_json::Value =
        serde_json::from_str(&s.run(["image", "inspect", "skiff-test/busybox"]).ok())
            .expect("inspect prints JSON");
    let img = &doc[0];
    assert_eq!(img["Id"], fx.id());
    assert_eq!(img["Digest"], fx.digest.as_str());
    assert_eq!(
        img["RepoDigests"][0],
        format!("{}/skiff-test/busybox@{}", reg.addr(), fx.digest)
    );
    assert_eq!(img["Config"]["Cmd"][0], "sh");
    assert_eq!(img["Labels"]["org.skiff.test"], "yes");
    let diff_ids: Vec<&str> = img["RootFS"]["Layers"]
        .as_array()
        .expect("layers")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(diff_ids, fx.diff_ids);
    assert_eq!(layers(&s), fx.layers.len());
    // Layers, config and manifest, each stored once.
    assert_eq!(blobs(&s), fx.layers.len() + 2);

    // The unpacked files are the image's, with their modes.
    let top = top_layer_dir(&s, "skiff-test/busybox");
    assert!(top.is_dir(), "{}", top.display());

    // Pulling again fetches nothing and changes nothing.
    let again = s.run(["pull", "-q", "skiff-test/busybox"]).ok();
    assert_eq!(again.trim(), fx.id());
    assert_eq!(layers(&s), fx.layers.len());
    assert_eq!(count_entries(&s.root().join("tmp")), 0);
}

#[test]
fn unpacked_layers_keep_modes_and_links() {
    if !registry_tools_present() {
        return;
    }
    let s = Skiff::with_registry(shared_registry());
    s.run(["pull", "-q", "skiff-test/busybox"]).ok();
    let mut found_busybox = false;
    let mut found_setuid = false;
    for entry in std::fs::read_dir(s.root().join("layers")).expect("layers dir") {
        let diff = entry.expect("entry").path().join("diff");
        for (path, _) in walk(&diff) {
            use std::os::unix::fs::PermissionsExt;
            let md = std::fs::symlink_metadata(&path).expect("stat");
            if path.ends_with("bin/busybox") {
                found_busybox = md.is_file() && md.permissions().mode() & 0o111 != 0;
            }
            if md.is_file() && md.permissions().mode() & 0o4000 != 0 {
                found_setuid = true;
            }
        }
        // Applet links point at busybox, inside the image.
        if let Ok(target) = std::fs::read_link(diff.join("bin/sh")) {
            assert_eq!(target, Path::new("/bin/busybox"));
        }
    }
    assert!(found_busybox, "bin/busybox is an executable file");
    assert!(found_setuid, "the setuid file kept its bit");
}

fn walk(dir: &Path) -> Vec<(std::path::PathBuf, ())> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            out.push((p.clone(), ()));
            if is_dir {
                out.extend(walk(&p));
            }
        }
    }
    out
}

#[test]
fn whiteouts_become_what_the_driver_needs() {
    if !registry_tools_present() {
        return;
    }
    let s = Skiff::with_registry(shared_registry());
    s.run(["pull", "-q", "skiff-test/whiteout"]).ok();
    let top = top_layer_dir(&s, "skiff-test/whiteout");
    assert!(
        !top.join("data/.wh.a").exists(),
        "whiteout files never appear as such"
    );
    assert!(!top.join("opq/.wh..wh..opq").exists());
    assert!(top.join("opq/new").exists());
    match driver(&s).as_str() {
        "overlay" => {
            use std::os::unix::fs::FileTypeExt;
            let md = std::fs::symlink_metadata(top.join("data/a")).expect("whiteout node");
            assert!(md.file_type().is_char_device(), "data/a is a 0:0 whiteout");
            let opaque = xattr::get(top.join("opq"), "trusted.overlay.opaque")
                .expect("read xattr")
                .or_else(|| {
                    xattr::get(top.join("opq"), "user.overlay.opaque")
                        .ok()
                        .flatten()
                });
            assert_eq!(opaque.as_deref(), Some(&b"y"[..]));
        }
        "vfs" => {
            assert!(!top.join("data/a").exists(), "deleted by the whiteout");
            assert!(top.join("data/b").exists());
            assert!(!top.join("opq/old").exists(), "hidden by the opaque dir");
        }
        other => panic!("unexpected driver {other}"),
    }
}

#[test]
fn zstd_and_docker_schema2_images_pull() {
    if !registry_tools_present() {
        return;
    }
    let s = Skiff::with_registry(shared_registry());
    let z = fixtures().image("zstd");
    assert_eq!(s.run(["pull", "-q", "skiff-test/zstd"]).ok().trim(), z.id());
    let d = fixtures().image("docker-schema2");
    let out = s.run(["pull", "-q", "skiff-test/docker-schema2"]).ok();
    assert_eq!(out.trim(), d.id());
    let mt = s
        .run([
            "image",
            "inspect",
            "--format",
            "{{.ManifestType}}",
            "skiff-test/docker-schema2",
        ])
        .ok();
    assert_eq!(
        mt.trim(),
        "application/vnd.docker.distribution.manifest.v2+json"
    );
}

#[test]
fn multiarch_index_resolves_to_the_requested_platform() {
    if !registry_tools_present() {
        return;
    }
    let s = Skiff::with_registry(shared_registry());
    let fx = fixtures().image("multiarch");
    let host = match std::env::consts::ARCH {
        "aarch64" => "linux/arm64",
        _ => "linux/amd64",
    };
    let out = s.run(["pull", "-q", "skiff-test/multiarch"]).ok();
    assert_eq!(
        out.trim(),
        fx.platform(host).config.trim_start_matches("sha256:")
    );
    let out = s
        .run([
            "pull",
            "-q",
            "--arch",
            "arm",
            "--variant",
            "v7",
            "skiff-test/multiarch",
        ])
        .ok();
    assert_eq!(
        out.trim(),
        fx.platform("linux/arm/v7")
            .config
            .trim_start_matches("sha256:")
    );
    let out = s
        .run([
            "pull",
            "-q",
            "--platform",
            "linux/arm64",
            "skiff-test/multiarch",
        ])
        .ok();
    let arm64 = fx
        .platform("linux/arm64")
        .config
        .trim_start_matches("sha256:")
        .to_string();
    assert_eq!(out.trim(), arm64);
    let arch = s
        .run(["image", "inspect", "--format", "{{.Architecture}}", &arm64])
        .ok();
    assert_eq!(arch.trim(), "arm64");
    // The index digest finds the image too.
    let by_digest = format!("skiff-test/multiarch@{}", fx.digest);
    s.run(["image", "exists", &by_digest]).ok();

    let err = s
        .run(["pull", "--platform", "linux/s390x", "skiff-test/multiarch"])
        .fails(125);
    assert!(
        err.contains("linux/s390x") && err.contains("linux/arm64"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn pull_by_digest_records_a_digest_name() {
    if !registry_tools_present() {
        return;
    }
    let reg = shared_registry();
    let s = Skiff::with_registry(reg);
    let fx = fixtures().image("busybox");
    let name = format!("{}/skiff-test/busybox@{}", reg.addr(), fx.digest);
    s.run(["pull", "-q", "--tls-verify=false", &name]).ok();
    let out = s
        .run(["images", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}"])
        .ok();
    assert_eq!(
        out.trim(),
        format!("{}/skiff-test/busybox <none> {}", reg.addr(), fx.digest)
    );
}

#[test]
fn escaping_layers_are_refused_and_leave_nothing() {
    if !registry_tools_present() {
        return;
    }
    let s = Skiff::with_registry(shared_registry());
    for name in ["escape", "escape-dotdot"] {
        let err = s
            .run(["pull", "-q", &format!("skiff-test/{name}")])
            .fails(125);
        assert!(err.starts_with("Error: "), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(image_ids(&s).is_empty());
    // The symlink and the path through it in different layers: overlay
    // keeps each layer's files apart (the upper directory hides the lower
    // link), vfs refuses; either way nothing lands outside the store.
    let out = s.run(["pull", "-q", "skiff-test/escape-layers"]);
    if out.success() {
        assert_eq!(driver(&s), "overlay");
        s.run(["rmi", "-a"]).ok();
    } else {
        assert_eq!(out.code(), Some(125), "{out}");
    }
    for marker in [
        "skiff-escape-marker",
        "skiff-escape-layers-marker",
        "skiff-escape-dotdot-marker",
    ] {
        assert!(!Path::new("/tmp").join(marker).exists(), "{marker} escaped");
    }
    assert!(image_ids(&s).is_empty());
    assert_eq!(count_entries(&s.root().join("tmp")), 0);
    assert_eq!(count_entries(&s.root().join("images")), 0);
}

#[test]
fn unknown_images_and_registries_fail_cleanly() {
    if !registry_tools_present() {
        return;
    }
    let reg = shared_registry();
    let s = Skiff::with_registry(reg);
    let err = s.run(["pull", "skiff-test/busybox:nope"]).fails(125);
    assert!(
        err.contains("manifest unknown") || err.contains("not known"),
        "{err}"
    );
    let err = s.run(["pull", "skiff-test/nothing-here"]).fails(125);
    assert_eq!(err.lines().count(), 1, "{err}");
    // A registry nobody listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let err = s
        .run([
            "pull",
            "--tls-verify=false",
            &format!("127.0.0.1:{dead}/a/b"),
        ])
        .fails(125);
    assert!(err.contains(&format!("127.0.0.1:{dead}")), "{err}");
    // Bad references.
    s.run(["pull", "UPPER/case"]).fails(125);
    s.run(["pull", "a@sha256:123"]).fails(125);
    // A short name with no search registries says what to do.
    let bare = Skiff::new();
    let err = bare.run(["pull", "busybox"]).fails(125);
    assert!(err.contains("unqualified-search"), "{err}");
    assert!(image_ids(&s).is_empty());
}

#[test]
fn corrupt_blobs_in_the_registry_are_detected() {
    if !registry_tools_present() {
        return;
    }
    // A private registry: this test damages its storage.
    let reg = Registry::start(Auth::None);
    fixtures().push(&reg, "busybox");
    let fx = fixtures().image("busybox");
    let hex = fx.layers[1].trim_start_matches("sha256:");
    let data = reg.storage_dir().join(format!(
        "docker/registry/v2/blobs/sha256/{}/{hex}/data",
        &hex[..2]
    ));
    let mut bytes = std::fs::read(&data).expect("blob in registry storage");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&data, &bytes).expect("corrupt blob");
    let s = Skiff::with_registry(&reg);
    let err = s.run(["pull", "skiff-test/busybox"]).fails(125);
    assert!(
        err.contains("digest") || err.contains("corrupt") || err.contains("unpack"),
        "{err}"
    );
    assert!(image_ids(&s).is_empty());
    assert_eq!(count_entries(&s.root().join("tmp")), 0);
    // Truncated: the registry serves fewer bytes than the manifest says.
    bytes[mid] ^= 0xff;
    bytes.truncate(mid);
    std::fs::write(&data, &bytes).expect("truncate blob");
    let err = s.run(["pull", "skiff-test/busybox"]).fails(125);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(image_ids(&s).is_empty());
}

#[test]
fn auth_registries_need_credentials() {
    if !registry_tools_present() || !require_tools(&["htpasswd", "openssl"]) {
        return;
    }
    for auth in [
        Auth::basic("alice", "s3cret"),
        Auth::token("bob", "hunter2"),
    ] {
        let reg = Registry::start(auth);
        fixtures().push(&reg, "busybox");
        let anon = Skiff::new();
        anon.use_registry(&reg);
        let err = anon.run(["pull", "skiff-test/busybox"]).fails(125);
        assert!(
            err.contains("denied") || err.contains("unauthorized"),
            "{err}"
        );
        let (u, p) = reg.auth().credentials().expect("creds");
        let out = anon
            .run([
                "pull",
                "-q",
                "--creds",
                &format!("{u}:{p}"),
                "skiff-test/busybox",
            ])
            .ok();
        assert_eq!(out.trim(), fixtures().image("busybox").id());
        let wrong = anon
            .run([
                "pull",
                "--creds",
                &format!("{u}:wrong"),
                "skiff-test/busybox:other",
            ])
            .fails(125);
        assert!(!wrong.contains("wrong"), "never print passwords: {wrong}");
        // Credentials from the auth file.
        let logged = Skiff::with_registry(&reg);
        logged.run(["pull", "-q", "skiff-test/busybox"]).ok();
    }
}

#[test]
fn registries_conf_prefix_location_rewrites() {
    if !registry_tools_present() {
        return;
    }
    let reg = shared_registry();
    let s = Skiff::new();
    s.write_registries_conf(&format!(
        "[[registry]]\nprefix = \"quay.io/libpod\"\nlocation = \"{}/skiff-test\"\ninsecure = true\n",
        reg.addr()
    ));
    let out = s.run(["pull", "-q", "quay.io/libpod/busybox"]).ok();
    assert_eq!(out.trim(), fixtures().image("busybox").id());
    let name = s
        .run(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok();
    assert_eq!(name.trim(), "quay.io/libpod/busybox:latest");
    // Aliases resolve short names to one place only.
    s.write_registries_conf(&format!(
        "[[registry]]\nlocation = \"{addr}\"\ninsecure = true\n[aliases]\n\"bb\" = \"{addr}/skiff-test/busybox\"\n",
        addr = reg.addr()
    ));
    s.run(["pull", "-q", "bb"]).ok();
    s.run([
        "image",
        "exists",
        &format!("{}/skiff-test/busybox:latest", reg.addr()),
    ])
    .ok();
}

#[test]
fn kill_during_pull_leaves_no_half_image() {
    if !registry_tools_present() {
        return;
    }
    let s = Skiff::with_registry(shared_registry());
    let fx = fixtures().image("whiteout");
    for delay_ms in [5u64, 20, 40, 80, 160] {
        let mut child = s
            .cmd(["pull", "-q", "skiff-test/whiteout"])
            .spawn()
            .expect("start pull");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever was interrupted, what is listed is whole.
        for id in image_ids(&s) {
            let out = s.run(["image", "inspect", &id]).ok();
            assert!(out.contains(fx.id()), "{out}");
            let top = top_layer_dir(&s, &id);
            assert!(top.join("opq/new").exists(), "listed image is complete");
        }
        s.run(["rmi", "-a", "-f"]).ok();
    }
    let out = s.run(["pull", "-q", "skiff-test/whiteout"]).ok();
    assert_eq!(out.trim(), fx.id());
    assert_eq!(layers(&s), fx.layers.len());
    // Collection after removal clears what the killed pulls left in tmp/.
    s.run(["rmi", "-a"]).ok();
    assert_eq!(count_entries(&s.root().join("tmp")), 0);
    assert_eq!(layers(&s), 0);
}

#[test]
fn concurrent_pulls_of_one_image_store_one_copy() {
    if !registry_tools_present() {
        return;
    }
    let s = Skiff::with_registry(shared_registry());
    let fx = fixtures().image("busybox");
    let children: Vec<_> = (0..4)
        .map(|_| {
            s.cmd(["pull", "-q", "skiff-test/busybox"])
                .spawn()
                .expect("start pull")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), fx.id());
    }
    assert_eq!(image_ids(&s).len(), 1);
    assert_eq!(layers(&s), fx.layers.len());
    assert_eq!(blobs(&s), fx.layers.len() + 2);
}

#[test]
fn concurrent_rmi_and_pull_never_corrupt_the_store() {
    if !registry_tools_present() {
        return;
    }
    let s = Skiff::with_registry(shared_registry());
    let fx = fixtures().image("busybox");
    for _ in 0..4 {
        let pull = s
            .cmd(["pull", "-q", "skiff-test/busybox"])
            .spawn()
            .expect("pull");
        let rmi = s.cmd(["rmi", "-a", "-f"]).spawn().expect("rmi");
        let _ = pull.wait_with_output();
        let _ = rmi.wait_with_output();
        for id in image_ids(&s) {
            let top = top_layer_dir(&s, &id);
            assert!(top.is_dir(), "image {id} has its layers");
        }
    }
    let out = s.run(["pull", "-q", "skiff-test/busybox"]).ok();
    assert_eq!(out.trim(), fx.id());
    let top = top_layer_dir(&s, fx.id());
    assert!(top.is_dir());
}
