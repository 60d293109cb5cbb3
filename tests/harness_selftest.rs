//! Proves the integration-test harness itself: registries in every auth mode
//! really serve (and really refuse), the token flow really goes through the
//! token server, the fixture images have the structure tests rely on, and
//! the command runner reports what a user would see.

mod common;

use std::io::Read;
use std::time::Duration;

use common::*;

const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json";

fn registry_tools() -> bool {
    Registry::can_start(&Auth::basic("u", "p"))
        && Registry::can_start(&Auth::token("u", "p"))
        && fixture_tools_present()
}

/// `skopeo inspect` of a fixture in `reg`, with optional `--creds`.
fn skopeo_inspect(reg: &Registry, name: &str, creds: Option<&str>) -> Output {
    let mut cmd = skopeo().args(["inspect", "--tls-verify=false"]);
    if let Some(c) = creds {
        cmd = cmd.args(["--creds", c]);
    }
    cmd.arg(format!("docker://{}", reg.reference(name))).run()
}

#[test]
fn open_registry_serves_pushed_fixtures_with_their_digests() {
    if !registry_tools() {
        return;
    }
    let fx = fixtures();
    let reg = Registry::start(Auth::None);
    assert_eq!(reg.get("/v2/", &[]).status, 200);
    fx.push_to(&reg);

    for image in fx.images() {
        let path = format!("/v2/{NAMESPACE}/{}/manifests/{}", image.name, image.tag);
        let resp = reg.get(&path, &[("Accept", MANIFEST_TYPES)]);
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        assert_eq!(
            resp.header("Docker-Content-Digest"),
            Some(image.digest.as_str()),
            "{path}"
        );
        assert_eq!(sha256_digest(&resp.body), image.digest, "{path}");
        assert_eq!(resp.header("Content-Type"), Some(image.media_type.as_str()));
    }

    let busybox = fx.image("busybox");
    let info = reg.inspect("busybox:latest");
    assert_eq!(info["Digest"], busybox.digest.as_str());
    assert_eq!(info["Labels"]["org.skiff.test"], "yes");
    assert_eq!(info["Layers"].as_array().map(Vec::len), Some(2));
    // the index resolves to this host's platform
    let multi = fx.image("multiarch");
    let info = reg.inspect("multiarch:latest");
    let arch = info["Architecture"].as_str().expect("architecture");
    let entry = multi.platform(&format!("linux/{arch}"));
    assert_eq!(info["Digest"], multi.digest.as_str());
    assert_eq!(info["Layers"][1], entry.layers[1].as_str());
}

#[test]
fn basic_auth_registry_refuses_anonymous_and_wrong_credentials() {
    if !registry_tools() {
        return;
    }
    let fx = fixtures();
    let reg = Registry::start(Auth::basic("alice", "s3cret"));
    let raw = http_request(reg.addr(), "GET", "/v2/", &[], b"").expect("GET /v2/");
    assert_eq!(raw.status, 401);
    assert!(raw
        .header("WWW-Authenticate")
        .is_some_and(|h| h.starts_with("Basic ")));
    assert_eq!(reg.get("/v2/", &[]).status, 200, "with credentials");

    fx.push(&reg, "busybox");
    let good = skopeo_inspect(&reg, "busybox:latest", Some("alice:s3cret")).ok();
    assert!(good.contains(&fx.image("busybox").digest));
    skopeo_inspect(&reg, "busybox:latest", None).fails(1);
    skopeo_inspect(&reg, "busybox:latest", Some("alice:wrong")).fails(1);
}

#[test]
fn token_auth_registry_needs_tokens_from_the_token_server() {
    if !registry_tools() {
        return;
    }
    let fx = fixtures();
    let busybox = fx.image("busybox");
    let reg = Registry::start(Auth::token("bob", "hunter2"));
    let tokens = reg.token_server().expect("token auth has a token server");

    // The registry sends clients to the realm.
    let raw = http_request(reg.addr(), "GET", "/v2/", &[], b"").expect("GET /v2/");
    assert_eq!(raw.status, 401);
    let challenge = raw.header("WWW-Authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains(&format!("realm=\"{}\"", tokens.realm()))
            && challenge.contains("service=\"skiff-test-registry\""),
        "{challenge}"
    );

    // A push and an inspect with credentials go through the token server.
    fx.push(&reg, "busybox");
    let pushed = tokens.requests();
    assert!(
        pushed.iter().any(|r| r.status == 200
            && r.account.as_deref() == Some("bob")
            && r.scopes
                .iter()
                .any(|s| s.starts_with("repository:skiff-test/busybox:") && s.contains("push"))),
        "{pushed:?}"
    );
    let out = skopeo_inspect(&reg, "busybox:latest", Some("bob:hunter2")).ok();
    assert!(out.contains(&busybox.digest));

    // Anonymous clients get a token that grants nothing; wrong passwords get
    // no token at all.
    skopeo_inspect(&reg, "busybox:latest", None).fails(1);
    skopeo_inspect(&reg, "busybox:latest", Some("bob:wrong")).fails(1);
    assert!(tokens
        .requests()
        .iter()
        .any(|r| r.status == 401 && r.account.as_deref() == Some("bob")));

    // Only signed tokens from a trusted key count.
    let manifest = "/v2/skiff-test/busybox/manifests/latest";
    let scope = ["repository:skiff-test/busybox:pull"];
    let get = |auth: &str| {
        http_request(
            reg.addr(),
            "GET",
            manifest,
            &[("Accept", MANIFEST_TYPES), ("Authorization", auth)],
            b"",
        )
        .expect("GET manifest")
    };
    let ok = get(&format!("Bearer {}", tokens.issue(&scope)));
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(
        ok.header("Docker-Content-Digest"),
        Some(busybox.digest.as_str())
    );
    assert_eq!(get(&format!("Bearer {}", tokens.issue(&[]))).status, 401);
    assert_eq!(
        get(&format!("Bearer {}", tokens.issue_untrusted(&scope))).status,
        401
    );
    assert_eq!(
        get("Basic Ym9iOmh1bnRlcjI=").status,
        401,
        "basic is not enough"
    );

    // Without the token server, credentials alone get nowhere.
    tokens.set_available(false);
    skopeo_inspect(&reg, "busybox:latest", Some("bob:hunter2")).fails(1);
    tokens.set_available(true);
    skopeo_inspect(&reg, "busybox:latest", Some("bob:hunter2")).ok();
}

#[test]
fn token_server_speaks_the_oauth2_password_and_refresh_grants() {
    if !registry_tools() {
        return;
    }
    let reg = Registry::start(Auth::token("carol", "pw"));
    let tokens = reg.token_server().expect("token server");
    let post = |body: &str| {
        let r = http_request(
            tokens.addr(),
            "POST",
            "/token",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
        .expect("POST /token");
        let json = serde_json::from_slice::<serde_json::Value>(&r.body).unwrap_or_default();
        (r.status, json)
    };
    let (status, json) = post(
        "grant_type=password&username=carol&password=pw&service=skiff-test-registry\
         &client_id=skiff&scope=repository%3Askiff-test%2Fx%3Apull",
    );
    assert_eq!(status, 200);
    let refresh = json["refresh_token"].as_str().expect("a refresh token");
    assert!(json["access_token"]
        .as_str()
        .is_some_and(|t| t.split('.').count() == 3));
    let (status, json) = post(&format!(
        "grant_type=refresh_token&refresh_token={refresh}&service=skiff-test-registry\
         &client_id=skiff&scope=repository%3Askiff-test%2Fx%3Apull"
    ));
    assert_eq!(status, 200);
    assert!(json["access_token"].is_string());
    let (status, _) = post("grant_type=password&username=carol&password=nope&service=x");
    assert_eq!(status, 400, "unknown service");
    let (status, _) =
        post("grant_type=password&username=carol&password=nope&service=skiff-test-registry");
    assert_eq!(status, 401);
}

/// A layer blob, checked against its digest, decompressed and checked
/// against its diff_id.
fn layer_tar(fx: &Fixtures, digest: &str, media_type: &str, diff_id: &str) -> Vec<u8> {
    let blob = std::fs::read(fx.blob(digest)).expect("read layer blob");
    assert_eq!(sha256_digest(&blob), digest);
    let mut tar = Vec::new();
    if media_type.ends_with("+zstd") {
        tar = zstd::decode_all(blob.as_slice()).expect("zstd layer");
    } else {
        flate2::read::GzDecoder::new(blob.as_slice())
            .read_to_end(&mut tar)
            .expect("gzip layer");
    }
    assert_eq!(sha256_digest(&tar), diff_id, "diff_id of {digest}");
    tar
}

#[derive(Debug)]
struct Entry {
    path: String,
    kind: tar::EntryType,
    mode: u32,
    mtime: u64,
    link: Option<String>,
    pax: Vec<(String, String)>,
    data: Vec<u8>,
}

fn entries(tar_bytes: &[u8]) -> Vec<Entry> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut out = Vec::new();
    for e in archive.entries().expect("tar entries") {
        let mut e = e.expect("tar entry");
        let pax = match e.pax_extensions().expect("pax header") {
            Some(exts) => exts
                .filter_map(Result::ok)
                .map(|x| {
                    (
                        x.key().unwrap_or_default().to_owned(),
                        String::from_utf8_lossy(x.value_bytes()).into_owned(),
                    )
                })
                .collect(),
            None => Vec::new(),
        };
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("entry data");
        out.push(Entry {
            path: String::from_utf8_lossy(&e.path_bytes()).into_owned(),
            kind: e.header().entry_type(),
            mode: e.header().mode().expect("mode"),
            mtime: e.header().mtime().expect("mtime"),
            link: e
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned()),
            pax,
            data,
        });
    }
    out
}

fn blob_json(fx: &Fixtures, digest: &str) -> serde_json::Value {
    let bytes = std::fs::read(fx.blob(digest)).expect("read blob");
    assert_eq!(sha256_digest(&bytes), digest);
    serde_json::from_slice(&bytes).expect("JSON blob")
}

/// Entries of layer `index` of a single-platform fixture.
fn layer_entries(fx: &Fixtures, name: &str, index: usize) -> Vec<Entry> {
    let image = fx.image(name);
    let manifest = blob_json(fx, &image.digest);
    let layer = &manifest["layers"][index];
    let media_type = layer["mediaType"].as_str().expect("media type");
    entries(&layer_tar(
        fx,
        &image.layers[index],
        media_type,
        &image.diff_ids[index],
    ))
}

fn find<'a>(entries: &'a [Entry], path: &str) -> &'a Entry {
    entries
        .iter()
        .find(|e| e.path.trim_end_matches('/') == path)
        .unwrap_or_else(|| panic!("no {path} in layer"))
}

#[test]
fn busybox_fixture_has_layers_config_and_special_files() {
    if !fixture_tools_present() {
        return;
    }
    let fx = fixtures();
    let image = fx.image("busybox");
    assert_eq!(image.layers.len(), 2);
    let config = blob_json(fx, image.config.as_deref().expect("config"));
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(config["config"]["Labels"]["org.skiff.test"], "yes");
    assert_eq!(config["config"]["WorkingDir"], "/skiff");
    assert!(config["config"]["ExposedPorts"]["8080/tcp"].is_object());
    assert!(config["config"]["Env"]
        .as_array()
        .is_some_and(|e| e.iter().any(|v| v == "SKIFF_TEST=1")));
    assert_eq!(config["history"].as_array().map(Vec::len), Some(7));
    assert_eq!(
        config["rootfs"]["diff_ids"],
        serde_json::json!(image.diff_ids)
    );

    let base = layer_entries(fx, "busybox", 0);
    assert_eq!(find(&base, "bin/busybox").mode, 0o755);
    assert_eq!(find(&base, "bin/sh").link.as_deref(), Some("/bin/busybox"));
    assert!(find(&base, "etc/passwd").data.starts_with(b"root:x:0:0:"));
    assert_eq!(find(&base, "tmp").mode, 0o1777);
    assert!(base.iter().all(|e| e.mtime <= 1_700_000_000));

    let files = layer_entries(fx, "busybox", 1);
    assert_eq!(find(&files, "skiff/suid").mode, 0o4755);
    assert_eq!(find(&files, "skiff/mtime").mtime, 1_600_000_000);
    assert_eq!(find(&files, "skiff/private").mode, 0o600);
    assert_eq!(find(&files, "skiff/dir0750").mode, 0o750);
    let hard = find(&files, "skiff/hardlink-b");
    assert_eq!(hard.kind, tar::EntryType::Link);
    assert_eq!(hard.link.as_deref(), Some("skiff/hardlink-a"));
    assert_eq!(
        find(&files, "skiff/link").link.as_deref(),
        Some("hello.txt")
    );
    let xattr = find(&files, "skiff/xattr");
    assert!(
        xattr
            .pax
            .contains(&("SCHILY.xattr.user.skiff".to_owned(), "yes".to_owned())),
        "{:?}",
        xattr.pax
    );
}

#[test]
fn whiteout_zstd_and_escape_fixtures_carry_their_special_entries() {
    if !fixture_tools_present() {
        return;
    }
    let fx = fixtures();
    let lower = layer_entries(fx, "whiteout", 1);
    for p in ["data/a", "data/b", "opq/old", "opq/sub/deep"] {
        find(&lower, p);
    }
    let upper: Vec<String> = layer_entries(fx, "whiteout", 2)
        .into_iter()
        .map(|e| e.path.trim_end_matches('/').to_owned())
        .collect();
    assert_eq!(
        upper,
        ["data", "data/.wh.a", "opq", "opq/.wh..wh..opq", "opq/new"]
    );

    if require_tool("zstd") {
        let zstd = fx.image("zstd");
        let manifest = blob_json(fx, &zstd.digest);
        assert_eq!(
            manifest["layers"][0]["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
        let layer = layer_entries(fx, "zstd", 0);
        assert_eq!(find(&layer, "zstd").data, b"zstd\n");
        find(&layer, "bin/busybox");
    }

    let escape = layer_entries(fx, "escape", 1);
    assert_eq!(escape.len(), 2);
    assert_eq!(escape[0].path, "evil");
    assert_eq!(escape[0].kind, tar::EntryType::Symlink);
    assert_eq!(escape[0].link.as_deref(), Some("/tmp"));
    assert_eq!(escape[1].path, "evil/skiff-escape-marker");
    assert_eq!(escape[1].kind, tar::EntryType::Regular);

    let first = layer_entries(fx, "escape-layers", 1);
    let second = layer_entries(fx, "escape-layers", 2);
    assert_eq!(first[0].link.as_deref(), Some("/tmp"));
    assert_eq!(second[0].path, "evil/skiff-escape-layers-marker");

    let dotdot = layer_entries(fx, "escape-dotdot", 1);
    assert!(dotdot[0].path.starts_with("../../"), "{}", dotdot[0].path);
    assert!(dotdot[0].path.ends_with("/tmp/skiff-escape-dotdot-marker"));
}

#[test]
fn multiarch_index_and_docker_schema2_fixtures() {
    if !fixture_tools_present() {
        return;
    }
    let fx = fixtures();
    let multi = fx.image("multiarch");
    assert_eq!(multi.media_type, "application/vnd.oci.image.index.v1+json");
    let index = blob_json(fx, &multi.digest);
    let manifests = index["manifests"].as_array().expect("manifests");
    assert_eq!(manifests.len(), 3);
    let platforms: Vec<String> = manifests
        .iter()
        .map(|m| {
            let p = &m["platform"];
            let mut s = format!(
                "{}/{}",
                p["os"].as_str().unwrap_or_default(),
                p["architecture"].as_str().unwrap_or_default()
            );
            if let Some(v) = p["variant"].as_str() {
                s = format!("{s}/{v}");
            }
            assert_eq!(m["digest"], multi.platform(&s).digest.as_str());
            s
        })
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
    for p in &multi.platforms {
        let manifest = blob_json(fx, &p.digest);
        let config = blob_json(fx, &p.config);
        let arch_of = |s: &str| s.split('/').nth(1).unwrap_or_default().to_owned();
        assert_eq!(config["architecture"], arch_of(&p.platform).as_str());
        let mt = manifest["layers"][1]["mediaType"]
            .as_str()
            .expect("media type");
        let layer = entries(&layer_tar(fx, &p.layers[1], mt, &p.diff_ids[1]));
        let expect = p.platform.trim_start_matches("linux/");
        assert_eq!(find(&layer, "arch").data, format!("{expect}\n").as_bytes());
    }

    let docker = fx.image("docker-schema2");
    let busybox = fx.image("busybox");
    assert_eq!(
        docker.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_ne!(docker.digest, busybox.digest);
    assert_eq!(docker.layers, busybox.layers);
    assert_eq!(docker.diff_ids, busybox.diff_ids);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fx.dir().join("docker-schema2/manifest.json")).expect("manifest"),
    )
    .expect("JSON manifest");
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.docker.container.image.v1+json"
    );
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
}

#[test]
fn fixtures_build_reproducibly() {
    if !fixture_tools_present() {
        return;
    }
    let fx = fixtures();
    let again = scratch_dir("fixtures-again");
    Cmd::new("bash")
        .arg(build_script())
        .arg(again.path())
        .env("SKIFF_FIXTURES_BIG", "0")
        .timeout(Duration::from_secs(600))
        .run()
        .ok();
    let summary = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(dir.join("digests.env"))
            .expect("digests.env")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("BIG_"))
            .map(|l| l.replace(",big", ""))
            .collect()
    };
    assert_eq!(summary(again.path()), summary(fx.dir()));
}

#[test]
fn skiff_runner_isolates_each_installation() {
    if !require_tool("sh") {
        return;
    }
    let skiff = Skiff::new();
    let env = skiff
        .program("sh")
        .args([
            "-c",
            "echo $HOME $XDG_RUNTIME_DIR $REGISTRY_AUTH_FILE $CONTAINERS_REGISTRIES_CONF $TMPDIR",
        ])
        .run()
        .ok();
    let dir = skiff.dir().display().to_string();
    let fields: Vec<&str> = env.split_whitespace().collect();
    assert_eq!(fields.len(), 5, "{env}");
    assert!(fields.iter().all(|f| f.starts_with(&dir)), "{env}");
    let cmd = skiff.cmd(["images"]);
    assert!(cmd
        .display()
        .contains(&format!("--root {dir}/root --runroot {dir}/runroot images")));
    assert!(Skiff::bin().exists(), "{}", Skiff::bin().display());

    let other = Skiff::new();
    assert_ne!(other.dir(), skiff.dir());
    let kept = skiff.dir().to_owned();
    drop(skiff);
    assert!(!kept.exists(), "{} removed on drop", kept.display());
}

#[test]
fn registries_conf_resolves_the_test_namespace_to_local_registries() {
    if !Registry::can_start(&Auth::basic("u", "p")) {
        return;
    }
    let open = Registry::start(Auth::None);
    let private = Registry::start(Auth::basic("u", "p"));
    let skiff = Skiff::with_registry(&open);
    skiff.use_registry(&private);
    skiff.store_credentials(&private);
    let conf = std::fs::read_to_string(skiff.registries_conf()).expect("registries.conf");
    assert!(conf.contains(&format!(
        "unqualified-search-registries = [\"{}\", \"{}\"]",
        open.addr(),
        private.addr()
    )));
    assert_eq!(conf.matches("insecure = true").count(), 2);
    let auth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(skiff.auth_file()).expect("auth.json"))
            .expect("JSON");
    assert_eq!(auth["auths"][private.addr()]["auth"], "dTpw");
    assert!(auth["auths"].get(open.addr()).is_none());
}

#[test]
fn command_output_reports_codes_streams_and_timeouts() {
    if !require_tools(&["sh", "sleep"]) {
        return;
    }
    let skiff = Skiff::new();
    let err = skiff
        .program("sh")
        .args(["-c", "cat; echo oops >&2; exit 3"])
        .stdin("in")
        .run();
    assert_eq!(err.stdout(), "in");
    assert_eq!(err.fails(3), "oops\n");
    let out = skiff.program("sh").args(["-c", "echo fine"]).run().ok();
    assert_eq!(out, "fine\n");
    let slow = skiff
        .program("sleep")
        .arg("30")
        .timeout(Duration::from_millis(200))
        .try_run();
    assert!(matches!(slow, Err(RunError::TimedOut(_))));
    assert!(matches!(
        Cmd::new("/nonexistent/skiff-test-tool").try_run(),
        Err(RunError::Spawn(..))
    ));
}

/// Run by `missing_tools_skip_outside_ci_and_fail_in_ci` in a child process;
/// does nothing otherwise.
#[test]
fn probe_missing_tool() {
    if std::env::var_os("SKIFF_TEST_PROBE").is_some() {
        assert!(!require_tool("skiff-test-no-such-tool"));
        println!("probe returned");
    }
}

#[test]
fn missing_tools_skip_outside_ci_and_fail_in_ci() {
    assert!(find_tool("sh").is_some());
    let dir = scratch_dir("probe");
    let log = dir.path().join("skips");
    let probe = |ci: &str| {
        let exe = std::env::current_exe().expect("test binary path");
        Cmd::new(exe)
            .args([
                "--exact",
                "probe_missing_tool",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("SKIFF_TEST_PROBE", "1")
            .env("SKIFF_TEST_SKIP_LOG", &log)
            .env("CI", ci)
            .run()
    };
    let outside = probe("false");
    assert!(outside.stdout().contains("probe returned"), "{outside}");
    outside.ok();
    let logged = std::fs::read_to_string(&log).expect("skip log");
    assert_eq!(
        logged.trim(),
        "SKIP harness_selftest::probe_missing_tool: skiff-test-no-such-tool is not installed"
    );
    let inside = probe("true");
    assert!(
        !inside.success(),
        "CI must fail on a missing tool:\n{inside}"
    );
    assert!(inside.stderr().contains("CI must not skip"), "{inside}");
}

#[test]
fn zombies_do_not_count_as_alive() {
    if !require_tool("sh") {
        return;
    }
    assert!(process_alive(std::process::id()));
    let mut child = std::process::Command::new("sh")
        .args(["-c", "exit 0"])
        .spawn()
        .expect("spawn sh");
    // Not reaped yet: a zombie once it exits.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while process_alive(child.id()) {
        assert!(std::time::Instant::now() < deadline, "sh did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait().expect("reap sh");
}
