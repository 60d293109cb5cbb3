//! Unit tests of the merged registries configuration: short names, prefix
//! rewrites, mirrors, blocking and loading files in order.

use std::fs;

use super::*;

const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn conf(text: &str) -> Registries {
    Registries::from_toml_str(text).expect("valid registries.conf in test")
}

fn name(s: &str) -> ImageName {
    ImageName::parse(s).expect("valid name in test")
}

fn reference(s: &str) -> Reference {
    Reference::parse(s).expect("valid reference in test")
}

fn strings(refs: &[Reference]) -> Vec<String> {
    refs.iter().map(ToString::to_string).collect()
}

/// (host, insecure, reference) of each source, compactly.
fn summary(sources: &[RemoteImage]) -> Vec<(String, bool, String)> {
    sources
        .iter()
        .map(|s| {
            (
                s.endpoint.host.clone(),
                s.endpoint.insecure,
                s.reference.to_string(),
            )
        })
        .collect()
}

fn row(host: &str, insecure: bool, reference: &str) -> (String, bool, String) {
    (host.to_string(), insecure, reference.to_string())
}

#[test]
fn search_registries_in_order() {
    let r = conf(r#"unqualified-search-registries = ["quay.io", "docker.io"]"#);
    assert_eq!(
        strings(&r.resolve_short(&name("alpine"))),
        vec!["quay.io/alpine:latest", "docker.io/library/alpine:latest"]
    );
    assert_eq!(
        strings(&r.resolve_short(&name("user/app:v1"))),
        vec!["quay.io/user/app:v1", "docker.io/user/app:v1"]
    );
    assert_eq!(
        strings(&r.resolve_short(&name(&format!("alpine@sha256:{HEX}")))),
        vec![
            format!("quay.io/alpine@sha256:{HEX}"),
            format!("docker.io/library/alpine@sha256:{HEX}")
        ]
    );
    assert_eq!(r.search_origin(), Some(Path::new("registries.conf")));
}

#[test]
fn nothing_configured_resolves_to_nothing() {
    let r = Registries::default();
    assert_eq!(r.resolve_short(&name("alpine")), Vec::<Reference>::new());
    assert_eq!(r.short_name_mode(), ShortNameMode::Permissive);
    // A qualified name needs no configuration.
    assert_eq!(
        strings(&r.resolve_short(&name("docker.io/alpine"))),
        vec!["docker.io/library/alpine:latest"]
    );
}

#[test]
fn alias_wins_alone_and_keeps_tag() {
    let r = conf(
        r#"
        unqualified-search-registries = ["docker.io"]
        [aliases]
        "fedora" = "registry.fedoraproject.org/fedora"
        "#,
    );
    assert_eq!(
        strings(&r.resolve_short(&name("fedora:39"))),
        vec!["registry.fedoraproject.org/fedora:39"]
    );
    assert_eq!(
        strings(&r.resolve_short(&name("fedora"))),
        vec!["registry.fedoraproject.org/fedora:latest"]
    );
    assert_eq!(
        strings(&r.resolve_short(&name(&format!("fedora@sha256:{HEX}")))),
        vec![format!("registry.fedoraproject.org/fedora@sha256:{HEX}")]
    );
    // Only the exact short name is aliased.
    assert_eq!(
        strings(&r.resolve_short(&name("fedora/x"))),
        vec!["docker.io/fedora/x:latest"]
    );
    let alias = r.alias("fedora").expect("alias present");
    assert_eq!(alias.origin, PathBuf::from("registries.conf"));
}

#[test]
fn prefix_rewrite() {
    let r = conf(
        r#"
        [[registry]]
        prefix = "quay.io/libpod"
        location = "127.0.0.1:5000/libpod"
        insecure = true
        "#,
    );
    let sources = r
        .pull_sources(&reference("quay.io/libpod/testimage:x"))
        .expect("sources");
    assert_eq!(
        sources,
        vec![RemoteImage {
            endpoint: Endpoint {
                host: "127.0.0.1:5000".to_string(),
                insecure: true
            },
            repository: "libpod/testimage".to_string(),
            reference: reference("127.0.0.1:5000/libpod/testimage:x"),
        }]
    );
    // Outside the prefix nothing changes.
    assert_eq!(
        summary(
            &r.pull_sources(&reference("quay.io/libpodx/t"))
                .expect("sources")
        ),
        vec![row("quay.io", false, "quay.io/libpodx/t:latest")]
    );
    let push = r
        .endpoint_for_push(&reference("quay.io/libpod/testimage"))
        .expect("push");
    assert_eq!(push.endpoint.host, "127.0.0.1:5000");
    assert_eq!(push.repository, "libpod/testimage");
    assert_eq!(
        push.reference.to_string(),
        "127.0.0.1:5000/libpod/testimage:latest"
    );
}

#[test]
fn longest_prefix_wins() {
    let r = conf(
        r#"
        [[registry]]
        location = "example.com"
        insecure = true
        [[registry]]
        prefix = "example.com/foo"
        location = "internal.example.com/bar"
        [[registry]]
        prefix = "example.com/foo/special"
        location = "special.example.com"
        "#,
    );
    let found = |s: &str| r.find(s).map(|e| e.prefix.as_str());
    assert_eq!(
        found("example.com/foo/special:1"),
        Some("example.com/foo/special")
    );
    assert_eq!(found("example.com/foo/x:1"), Some("example.com/foo"));
    assert_eq!(found("example.com/other:1"), Some("example.com"));
    assert_eq!(found("example.org/x:1"), None);
    assert_eq!(
        summary(
            &r.pull_sources(&reference("example.com/foo/img:1"))
                .expect("sources")
        ),
        vec![row(
            "internal.example.com",
            false,
            "internal.example.com/bar/img:1"
        )]
    );
    assert!(r.is_insecure("example.com"));
    assert!(!r.is_insecure("internal.example.com"));
    assert!(!r.is_insecure("example.com:5000"));
}

#[test]
fn wildcard_prefix() {
    let r = conf(
        r#"
        [[registry]]
        prefix = "*.example.com"
        insecure = true
        [[registry]]
        prefix = "*.mirrored.io"
        location = "central.io"
        "#,
    );
    assert!(r.is_insecure("a.example.com"));
    assert!(r.is_insecure("a.b.example.com:5000"));
    assert!(!r.is_insecure("example.com"));
    assert_eq!(
        summary(
            &r.pull_sources(&reference("a.example.com/x/y:1"))
                .expect("sources")
        ),
        vec![row("a.example.com", true, "a.example.com/x/y:1")]
    );
    assert_eq!(
        summary(
            &r.pull_sources(&reference("eu.mirrored.io/x:1"))
                .expect("sources")
        ),
        vec![row("central.io", false, "central.io/x:1")]
    );
}

#[test]
fn plain_prefix_beats_wildcard_of_same_length() {
    let r = conf(
        r#"
        [[registry]]
        prefix = "*.a.com"
        location = "wild.io"
        [[registry]]
        prefix = "x.a.com"
        location = "plain.io"
        "#,
    );
    assert_eq!(
        r.find("x.a.com/r").map(|e| e.location.as_str()),
        Some("plain.io")
    );
    assert_eq!(
        r.find("y.a.com/r").map(|e| e.location.as_str()),
        Some("wild.io")
    );
}

const MIRRORS: &str = r#"
    [[registry]]
    prefix = "example.com/foo"
    location = "internal.example.com/bar"

    [[registry.mirror]]
    location = "mirror-0.local/mirror-for-foo"

    [[registry.mirror]]
    location = "mirror-1.local/mirrors/foo"
    insecure = true

    [[registry.mirror]]
    location = "digests.local/foo"
    pull-from-mirror = "digest-only"

    [[registry.mirror]]
    location = "tags.local/foo"
    pull-from-mirror = "tag-only"
"#;

#[test]
fn mirrors_first_then_primary() {
    let r = conf(MIRRORS);
    assert_eq!(
        summary(
            &r.pull_sources(&reference("example.com/foo/image:latest"))
                .expect("sources")
        ),
        vec![
            row(
                "mirror-0.local",
                false,
                "mirror-0.local/mirror-for-foo/image:latest"
            ),
            row(
                "mirror-1.local",
                true,
                "mirror-1.local/mirrors/foo/image:latest"
            ),
            row("tags.local", false, "tags.local/foo/image:latest"),
            row(
                "internal.example.com",
                false,
                "internal.example.com/bar/image:latest"
            ),
        ]
    );
    let by_digest = reference(&format!("example.com/foo/image@sha256:{HEX}"));
    assert_eq!(
        summary(&r.pull_sources(&by_digest).expect("sources")),
        vec![
            row(
                "mirror-0.local",
                false,
                &format!("mirror-0.local/mirror-for-foo/image@sha256:{HEX}")
            ),
            row(
                "mirror-1.local",
                true,
                &format!("mirror-1.local/mirrors/foo/image@sha256:{HEX}")
            ),
            row(
                "digests.local",
                false,
                &format!("digests.local/foo/image@sha256:{HEX}")
            ),
            row(
                "internal.example.com",
                false,
                &format!("internal.example.com/bar/image@sha256:{HEX}")
            ),
        ]
    );
    // Pushes never go to mirrors.
    let push = r
        .endpoint_for_push(&reference("example.com/foo/image:1"))
        .expect("push");
    assert_eq!(
        push.reference.to_string(),
        "internal.example.com/bar/image:1"
    );
}

#[test]
fn mirror_by_digest_only() {
    let r = conf(
        r#"
        [[registry]]
        location = "registry.io"
        mirror-by-digest-only = true
        [[registry.mirror]]
        location = "mirror.io"
        "#,
    );
    assert_eq!(
        r.pull_sources(&reference("registry.io/a:1"))
            .expect("sources")
            .len(),
        1
    );
    let digested = reference(&format!("registry.io/a@sha256:{HEX}"));
    assert_eq!(
        summary(&r.pull_sources(&digested).expect("sources"))
            .into_iter()
            .map(|(host, _, _)| host)
            .collect::<Vec<_>>(),
        vec!["mirror.io", "registry.io"]
    );
}

#[test]
fn blocked_registries() {
    let r = conf(
        r#"
        [[registry]]
        location = "blocked.io"
        blocked = true
        [[registry]]
        prefix = "blocked.io/allowed"
        location = "blocked.io/allowed"
        [[registry]]
        location = "src.io"
        [[registry.mirror]]
        location = "blocked.io/mirror"
        [[registry.mirror]]
        location = "ok-mirror.io"
        [[registry]]
        prefix = "redirect.io"
        location = "blocked.io/elsewhere"
        "#,
    );
    let err = r
        .pull_sources(&reference("blocked.io/x/y"))
        .expect_err("blocked");
    assert_eq!(
        err.to_string(),
        "registry blocked.io is blocked in registries.conf: refusing to access blocked.io/x/y:latest"
    );
    assert!(matches!(
        r.endpoint_for_push(&reference("blocked.io/x")),
        Err(RegistriesError::Blocked { .. })
    ));
    // A longer, unblocked prefix inside a blocked registry is allowed.
    assert_eq!(
        r.pull_sources(&reference("blocked.io/allowed/x"))
            .expect("allowed")
            .len(),
        1
    );
    // A mirror on a blocked registry is skipped.
    assert_eq!(
        summary(&r.pull_sources(&reference("src.io/a")).expect("sources")),
        vec![
            row("ok-mirror.io", false, "ok-mirror.io/a:latest"),
            row("src.io", false, "src.io/a:latest")
        ]
    );
    // A location that lands on a blocked registry is refused.
    match r.pull_sources(&reference("redirect.io/a")) {
        Err(RegistriesError::Blocked { reference, prefix }) => {
            assert_eq!(reference, "blocked.io/elsewhere/a:latest");
            assert_eq!(prefix, "blocked.io");
        }
        other => panic!("expected Blocked, got {other:?}"),
    }
}

#[test]
fn docker_hub_api_host() {
    let r = Registries::default();
    let sources = r
        .pull_sources(&reference("docker.io/alpine"))
        .expect("sources");
    assert_eq!(
        sources,
        vec![RemoteImage {
            endpoint: Endpoint {
                host: "registry-1.docker.io".to_string(),
                insecure: false
            },
            repository: "library/alpine".to_string(),
            reference: reference("docker.io/library/alpine:latest"),
        }]
    );
    assert_eq!(api_host("docker.io"), "registry-1.docker.io");
    assert_eq!(api_host("quay.io"), "quay.io");
    assert_eq!(api_host("registry-1.docker.io"), "registry-1.docker.io");
    // Mirroring docker.io's library needs the library/ prefix spelled out.
    let r = conf(
        r#"
        [[registry]]
        prefix = "docker.io/library"
        location = "docker.io/library"
        [[registry.mirror]]
        location = "hub-mirror.local"
        "#,
    );
    assert_eq!(
        summary(
            &r.pull_sources(&reference("docker.io/alpine:3"))
                .expect("sources")
        ),
        vec![
            row("hub-mirror.local", false, "hub-mirror.local/alpine:3"),
            row("registry-1.docker.io", false, "docker.io/library/alpine:3"),
        ]
    );
}

#[test]
fn invalid_rewrite_is_reported() {
    let r = conf(
        r#"
        [[registry]]
        prefix = "a.io"
        location = "B.io/UPPER"
        "#,
    );
    match r.pull_sources(&reference("a.io/x")) {
        Err(RegistriesError::Rewrite {
            reference,
            location,
            ..
        }) => {
            assert_eq!(reference, "a.io/x:latest");
            assert_eq!(location, "B.io/UPPER");
        }
        other => panic!("expected Rewrite, got {other:?}"),
    }
}

#[test]
fn errors_name_the_file() {
    let err = Registries::from_toml_str("short-name-mode = \"nope\"").expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "invalid registries configuration registries.conf"
    );
    assert!(matches!(
        err,
        RegistriesError::Invalid {
            source: InvalidConfig::ShortNameMode(_),
            ..
        }
    ));
    assert!(matches!(
        Registries::from_toml_str("[[registry]\n"),
        Err(RegistriesError::Parse { .. })
    ));
}

#[test]
fn load_merges_drop_ins_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = dir.path().join("registries.conf");
    let d1 = dir.path().join("registries.conf.d");
    let d2 = dir.path().join("skiff.d");
    let cache = dir.path().join("short-name-aliases.conf");
    fs::create_dir(&d1).expect("mkdir");
    fs::create_dir(&d2).expect("mkdir");
    fs::write(
        &main,
        r#"
        unqualified-search-registries = ["docker.io"]
        short-name-mode = "enforcing"
        [[registry]]
        location = "a.io"
        insecure = true
        [aliases]
        "one" = "quay.io/one"
        "two" = "quay.io/two"
        "#,
    )
    .expect("write");
    fs::write(
        d1.join("000-shortnames.conf"),
        "[aliases]\n\"three\" = \"quay.io/three\"\n\"two\" = \"\"\n",
    )
    .expect("write");
    fs::write(
        d1.join("50-search.conf"),
        "unqualified-search-registries = [\"quay.io\", \"docker.io\"]\n[[registry]]\nlocation = \"a.io\"\n",
    )
    .expect("write");
    fs::write(d2.join("10-mode.conf"), "short-name-mode = \"disabled\"\n").expect("write");
    fs::write(&cache, "[aliases]\n\"one\" = \"cache.io/one\"\n").expect("write");

    let sources = ConfigSources {
        main: MainFile::Optional(main.clone()),
        drop_in_dirs: vec![d1.clone(), d2.clone()],
        alias_cache: Some(cache.clone()),
    };
    let r = Registries::load_from(&sources).expect("load");
    assert_eq!(r.unqualified_search_registries(), ["quay.io", "docker.io"]);
    assert_eq!(r.search_origin(), Some(d1.join("50-search.conf").as_path()));
    assert_eq!(r.short_name_mode(), ShortNameMode::Disabled);
    // The drop-in's table for the same prefix replaced the main file's.
    assert!(!r.is_insecure("a.io"));
    assert_eq!(
        r.alias("one").map(|a| a.target.to_string()),
        Some("cache.io/one".to_string())
    );
    assert_eq!(r.alias("two"), None);
    assert_eq!(
        r.alias("three"),
        Some(&Alias {
            target: reference("quay.io/three"),
            origin: d1.join("000-shortnames.conf"),
        })
    );
    assert_eq!(
        r.loaded_files(),
        [
            main,
            d1.join("000-shortnames.conf"),
            d1.join("50-search.conf"),
            d2.join("10-mode.conf"),
            cache
        ]
    );
}

#[test]
fn load_missing_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.conf");
    let optional = ConfigSources {
        main: MainFile::Optional(missing.clone()),
        drop_in_dirs: vec![dir.path().join("nope.d")],
        alias_cache: Some(dir.path().join("nope-cache.conf")),
    };
    assert_eq!(
        Registries::load_from(&optional).expect("empty config"),
        Registries::default()
    );
    let required = ConfigSources {
        main: MainFile::Required(missing.clone()),
        drop_in_dirs: vec![],
        alias_cache: None,
    };
    match Registries::load_from(&required) {
        Err(RegistriesError::Read { path, .. }) => assert_eq!(path, missing),
        other => panic!("expected Read error, got {other:?}"),
    }
}

#[test]
fn drop_ins_must_be_v2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().join("d");
    fs::create_dir(&d).expect("mkdir");
    fs::write(
        d.join("old.conf"),
        "[registries.search]\nregistries = [\"a.io\"]\n",
    )
    .expect("write");
    let sources = ConfigSources {
        main: MainFile::Optional(dir.path().join("none")),
        drop_in_dirs: vec![d.clone()],
        alias_cache: None,
    };
    match Registries::load_from(&sources) {
        Err(RegistriesError::Invalid { path, source }) => {
            assert_eq!(path, d.join("old.conf"));
            assert_eq!(source, InvalidConfig::V1InDropIn);
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}
