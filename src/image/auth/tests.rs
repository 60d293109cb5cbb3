//! Tests of `auth`.
use super::*;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;

fn creds(user: &str, pass: &str) -> Credentials {
    Credentials {
        username: user.to_string(),
        password: pass.to_string(),
    }
}

fn auth(user_pass: &str) -> String {
    BASE64.encode(user_pass)
}

/// An AuthFile whose primary file holds `primary` and whose single
/// fallback holds `fallback` (each written only when given).
fn files(dir: &Path, primary: Option<&str>, fallback: Option<&str>) -> AuthFile {
    let paths = AuthPaths {
        primary: dir.join("run/containers/auth.json"),
        fallbacks: vec![dir.join("docker/config.json")],
    };
    for (path, text) in [(&paths.primary, primary), (&paths.fallbacks[0], fallback)] {
        if let Some(text) = text {
            fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
            fs::write(path, text).expect("write");
        }
    }
    AuthFile::load_from(&paths).expect("load")
}

#[test]
fn most_specific_key_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = serde_json::json!({"auths": {
        "quay.io": {"auth": auth("host:h")},
        "quay.io/ns": {"auth": auth("ns:n")},
        "quay.io/ns/repo": {"auth": auth("repo:r")},
        "quay.io/other/repo": {},
    }})
    .to_string();
    let a = files(dir.path(), Some(&text), None);
    assert_eq!(a.lookup("quay.io", "ns/repo"), Some(creds("repo", "r")));
    assert_eq!(a.lookup("quay.io", "ns/repo2"), Some(creds("ns", "n")));
    assert_eq!(a.lookup("quay.io", "ns"), Some(creds("ns", "n")));
    assert_eq!(a.lookup("quay.io", "nsx/repo"), Some(creds("host", "h")));
    // A helper marker `{}` falls through to the less specific key.
    assert_eq!(a.lookup("quay.io", "other/repo"), Some(creds("host", "h")));
    assert_eq!(a.lookup("quay.io", ""), Some(creds("host", "h")));
    assert_eq!(a.lookup("quay.iox", "ns/repo"), None);
    assert_eq!(a.lookup("docker.io", "library/alpine"), None);
}

#[test]
fn docker_hub_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let docker = serde_json::json!({
        "auths": {"https://index.docker.io/v1/": {"auth": auth("hub:pw")}},
        "credsStore": "desktop",
        "credHelpers": {"gcr.io": "gcloud"},
    })
    .to_string();
    let a = files(dir.path(), None, Some(&docker));
    assert_eq!(
        a.lookup("docker.io", "library/alpine"),
        Some(creds("hub", "pw"))
    );
    assert_eq!(
        a.lookup("registry-1.docker.io", "library/alpine"),
        Some(creds("hub", "pw"))
    );
    assert_eq!(a.lookup("gcr.io", "p/i"), None);

    let primary = serde_json::json!({"auths": {
        "docker.io": {"auth": auth("mine:1")},
        "https://quay.io": {"auth": auth("q:2")},
    }})
    .to_string();
    let a = files(dir.path(), Some(&primary), Some(&docker));
    // The primary file is searched first.
    assert_eq!(
        a.lookup("index.docker.io", "user/app"),
        Some(creds("mine", "1"))
    );
    assert_eq!(a.lookup("quay.io", "a/b"), Some(creds("q", "2")));
}

#[test]
fn undecodable_entries_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = serde_json::json!({"auths": {
        "bad.io": {"auth": "%%%not base64"},
        "nocolon.io": {"auth": auth("justuser")},
        "number.io": {"auth": 3},
        "latin1.io": {"auth": BASE64.encode([0xff, b':', b'x'])},
        "nul.io": {"auth": auth("u:p\0\0")},
    }})
    .to_string();
    let a = files(dir.path(), Some(&text), None);
    let primary = dir.path().join("run/containers/auth.json");
    match a.try_lookup("bad.io", "x") {
        Err(AuthLookupError::Base64 { path, key, .. }) => {
            assert_eq!(path, primary);
            assert_eq!(key, "bad.io");
        }
        other => panic!("expected a base64 error, got {other:?}"),
    }
    assert_eq!(a.lookup("bad.io", "x"), None);
    assert!(matches!(
        a.try_lookup("nocolon.io", ""),
        Err(AuthLookupError::MissingColon { .. })
    ));
    assert!(matches!(
        a.try_lookup("number.io", ""),
        Err(AuthLookupError::NotAString { .. })
    ));
    assert!(matches!(
        a.try_lookup("latin1.io", ""),
        Err(AuthLookupError::Utf8 { .. })
    ));
    assert_eq!(a.lookup("nul.io", ""), Some(creds("u", "p")));
    let err = a.try_lookup("bad.io", "x").expect_err("bad");
    assert_eq!(
        err.to_string(),
        format!(
            "credentials file {}: the \"auth\" field of \"bad.io\" is not valid base64",
            primary.display()
        )
    );
}

#[test]
fn store_and_remove_keep_other_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = serde_json::json!({
        "auths": {"other.io": {"auth": auth("o:p"), "identitytoken": "tok"}},
        "credHelpers": {"gcr.io": "gcloud"},
        "experimental": true,
    })
    .to_string();
    let mut a = files(dir.path(), Some(&text), None);
    a.store("quay.io/ns", &creds("me", "s3:cret"))
        .expect("store");
    a.store("localhost:5000", &creds("l", "p")).expect("store");
    assert_eq!(a.lookup("quay.io", "ns/x"), Some(creds("me", "s3:cret")));

    let reread = AuthFile::open(a.path()).expect("reopen");
    assert_eq!(
        reread.lookup("quay.io", "ns/x"),
        Some(creds("me", "s3:cret"))
    );
    assert_eq!(reread.lookup("localhost:5000", "x"), Some(creds("l", "p")));
    let doc: Value = serde_json::from_slice(&fs::read(a.path()).expect("read")).expect("json");
    assert_eq!(
        doc,
        serde_json::json!({
            "auths": {
                "other.io": {"auth": auth("o:p"), "identitytoken": "tok"},
                "quay.io/ns": {"auth": auth("me:s3:cret")},
                "localhost:5000": {"auth": auth("l:p")},
            },
            "credHelpers": {"gcr.io": "gcloud"},
            "experimental": true,
        })
    );
    let mode = fs::metadata(a.path()).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    assert!(a.remove("quay.io/ns").expect("remove"));
    assert!(!a.remove("quay.io/ns").expect("remove again"));
    assert_eq!(a.lookup("quay.io", "ns/x"), None);
    let reread = AuthFile::open(a.path()).expect("reopen");
    assert_eq!(reread.lookup("other.io", ""), Some(creds("o", "p")));
    assert_eq!(reread.lookup("quay.io", "ns"), None);

    a.remove_all().expect("remove all");
    let doc: Value = serde_json::from_slice(&fs::read(a.path()).expect("read")).expect("json");
    assert_eq!(
        doc,
        serde_json::json!({"auths": {}, "credHelpers": {"gcr.io": "gcloud"}, "experimental": true})
    );
    // No temporary files are left behind.
    let names: Vec<_> = fs::read_dir(a.path().parent().expect("dir"))
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![OsString::from("auth.json")]);
}

#[test]
fn store_creates_private_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new/containers/auth.json");
    let mut a = AuthFile::open(&path).expect("missing file is empty");
    assert_eq!(a.lookup("quay.io", "x"), None);
    a.store("quay.io", &creds("u", "p")).expect("store");
    let dir_mode = fs::metadata(path.parent().expect("dir"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    assert_eq!(
        fs::read_to_string(&path).expect("read"),
        format!(
            "{{\n  \"auths\": {{\n    \"quay.io\": {{\n      \"auth\": \"{}\"\n    }}\n  }}\n}}\n",
            auth("u:p")
        )
    );
}

#[test]
fn debug_hides_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = serde_json::json!({"auths": {"q.io": {"auth": auth("user:hunter2")}}}).to_string();
    let a = files(dir.path(), Some(&text), None);
    let shown = format!("{a:?} {:?}", a.lookup("q.io", ""));
    assert!(
        !shown.contains("hunter2") && !shown.contains(&auth("user:hunter2")),
        "{shown}"
    );
    assert!(shown.contains("user"), "{shown}");
}

#[test]
fn remove_all_leaves_missing_file_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("auth.json");
    AuthFile::open(&path)
        .expect("open")
        .remove_all()
        .expect("remove all");
    assert!(!path.exists());
}

#[test]
fn invalid_keys_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = AuthFile::open(&dir.path().join("auth.json")).expect("open");
    for key in [
        "",
        "https://quay.io",
        "quay.io/a@sha256:00",
        "quay.io/a:tag",
        "quay.io/",
        "a//b",
    ] {
        assert!(
            matches!(
                a.store(key, &creds("u", "p")),
                Err(AuthFileError::InvalidKey { .. })
            ),
            "{key}"
        );
    }
    assert!(!dir.path().join("auth.json").exists());
}

#[test]
fn malformed_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("auth.json");
    for (text, shape) in [
        ("{", false),
        ("[]", true),
        ("{\"auths\": []}", true),
        ("", false),
    ] {
        fs::write(&path, text).expect("write");
        let result = AuthFile::open(&path);
        match (result, shape) {
            (Err(AuthFileError::Shape { path: p, .. }), true)
            | (Err(AuthFileError::Parse { path: p, .. }), false) => {
                assert_eq!(p, path);
            }
            (other, _) => panic!("{text:?}: unexpected {other:?}"),
        }
    }
}

#[test]
fn paths_from_env() {
    let env = |vars: &[(&str, &str)]| {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        AuthPaths::from_env(|k| vars.get(k).cloned())
    };
    assert_eq!(
        env(&[("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/user/1000")]),
        AuthPaths {
            primary: PathBuf::from("/run/user/1000/containers/auth.json"),
            fallbacks: vec![
                PathBuf::from("/home/u/.config/containers/auth.json"),
                PathBuf::from("/home/u/.docker/config.json"),
            ],
        }
    );
    assert_eq!(
        env(&[
            ("HOME", "/home/u"),
            ("XDG_CONFIG_HOME", "/cfg"),
            ("DOCKER_CONFIG", "/dk")
        ]),
        AuthPaths {
            primary: PathBuf::from("/cfg/containers/auth.json"),
            fallbacks: vec![PathBuf::from("/dk/config.json")],
        }
    );
    let bare = env(&[]);
    assert_eq!(
        bare.primary,
        PathBuf::from(format!(
            "/run/containers/{}/auth.json",
            nix::unistd::getuid()
        ))
    );
    assert_eq!(bare.fallbacks, Vec::<PathBuf>::new());
    assert_eq!(
        env(&[("HOME", "/home/u"), ("REGISTRY_AUTH_FILE", "/tmp/a.json")]),
        AuthPaths {
            primary: PathBuf::from("/tmp/a.json"),
            fallbacks: vec![],
        }
    );
}
