//! Registry credentials: auth.json (skiff login/logout), read also from
//! docker's config.json.
//!
//! The format is containers-auth.json(5):
//! `{"auths": {"host[/namespace[/repo]]": {"auth": base64("user:password")}}}`.
//! skiff writes only the primary file and keeps every key it does not
//! understand; it reads docker's file but never runs credential helpers
//! (`credsStore`, `credHelpers`), whose entries are skipped.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{Map, Value};

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Reading or writing an auth file failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthFileError {
    #[error("reading credentials file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("parsing credentials file {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("credentials file {path}: {what} is not a JSON object")]
    Shape { path: PathBuf, what: &'static str },
    #[error("cannot store credentials under {key:?} in {path}: {reason}")]
    InvalidKey {
        path: PathBuf,
        key: String,
        reason: &'static str,
    },
    #[error("creating directory {path} for the credentials file")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("writing credentials file {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// An entry matching a lookup exists but cannot be decoded.
#[derive(Debug, thiserror::Error)]
pub enum AuthLookupError {
    #[error("credentials file {path}: the \"auth\" field of {key:?} is not valid base64")]
    Base64 {
        path: PathBuf,
        key: String,
        #[source]
        source: base64::DecodeError,
    },
    #[error("credentials file {path}: the \"auth\" field of {key:?} is not valid UTF-8")]
    Utf8 { path: PathBuf, key: String },
    #[error("credentials file {path}: the \"auth\" field of {key:?} is not \"user:password\"")]
    MissingColon { path: PathBuf, key: String },
    #[error("credentials file {path}: the \"auth\" field of {key:?} is not a string")]
    NotAString { path: PathBuf, key: String },
}

/// Where credentials are read and written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPaths {
    /// Read first, and the only file written.
    pub primary: PathBuf,
    /// Read, in order, when the primary file has no matching entry.
    pub fallbacks: Vec<PathBuf>,
}

impl AuthPaths {
    /// The paths for this process's environment.
    pub fn detect() -> Self {
        Self::from_env(|name| std::env::var_os(name))
    }

    /// The paths given environment variables read through `env`:
    ///
    /// - `REGISTRY_AUTH_FILE`: that file alone;
    /// - otherwise `$XDG_RUNTIME_DIR/containers/auth.json`, as podman on
    ///   Linux (when `XDG_RUNTIME_DIR` is unset, the persistent
    ///   `$XDG_CONFIG_HOME/containers/auth.json` instead, and
    ///   `/run/containers/UID/auth.json` without HOME), then, read only,
    ///   `$XDG_CONFIG_HOME/containers/auth.json` (default `~/.config`) and
    ///   docker's `$DOCKER_CONFIG/config.json` (default
    ///   `~/.docker/config.json`).
    pub fn from_env(env: impl Fn(&str) -> Option<OsString>) -> Self {
        let path = |name: &str| env(name).map(PathBuf::from).filter(|p| p.is_absolute());
        if let Some(file) = env("REGISTRY_AUTH_FILE").filter(|v| !v.is_empty()) {
            return AuthPaths {
                primary: PathBuf::from(file),
                fallbacks: Vec::new(),
            };
        }
        let home = path("HOME");
        let config_home =
            path("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config")));
        let config_auth = config_home.map(|c| c.join("containers/auth.json"));
        let docker = path("DOCKER_CONFIG")
            .or_else(|| home.as_ref().map(|h| h.join(".docker")))
            .map(|d| d.join("config.json"));
        let primary = path("XDG_RUNTIME_DIR")
            .map(|r| r.join("containers/auth.json"))
            .or_else(|| config_auth.clone())
            // Without HOME either: podman's per-user path under /run.
            .unwrap_or_else(|| {
                PathBuf::from(format!(
                    "/run/containers/{}/auth.json",
                    nix::unistd::getuid()
                ))
            });
        let mut fallbacks: Vec<PathBuf> = Vec::new();
        for p in [config_auth, docker].into_iter().flatten() {
            if p != primary && !fallbacks.contains(&p) {
                fallbacks.push(p);
            }
        }
        AuthPaths { primary, fallbacks }
    }
}

/// The credentials files: the primary auth.json (read and written) and the
/// read-only fallbacks.
#[derive(Clone)]
pub struct AuthFile {
    primary: Loaded,
    fallbacks: Vec<Loaded>,
}

/// Only the paths: the documents hold secrets.
impl std::fmt::Debug for AuthFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFile")
            .field("primary", &self.primary.path)
            .field(
                "fallbacks",
                &self.fallbacks.iter().map(|l| &l.path).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// One file's JSON document; `{}` when the file does not exist.
#[derive(Clone)]
struct Loaded {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl AuthFile {
    /// Load the files for this process (see [`AuthPaths::from_env`]).
    pub fn load() -> Result<Self, AuthFileError> {
        Self::load_from(&AuthPaths::detect())
    }

    /// Load `paths`; missing files are empty.
    pub fn load_from(paths: &AuthPaths) -> Result<Self, AuthFileError> {
        Ok(AuthFile {
            primary: Loaded::read(&paths.primary)?,
            fallbacks: paths
                .fallbacks
                .iter()
                .map(|p| Loaded::read(p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Only `path` (`--authfile`), read and written.
    pub fn open(path: &Path) -> Result<Self, AuthFileError> {
        Self::load_from(&AuthPaths {
            primary: path.to_path_buf(),
            fallbacks: Vec::new(),
        })
    }

    /// The file [`store`](Self::store) and [`remove`](Self::remove) write.
    pub fn path(&self) -> &Path {
        &self.primary.path
    }

    /// The credentials for `repository` on `registry_host`, or `None`. An
    /// entry that cannot be decoded is logged and treated as absent (the
    /// pull goes on anonymously); use [`try_lookup`](Self::try_lookup) to
    /// report it instead.
    pub fn lookup(&self, registry_host: &str, repository: &str) -> Option<Credentials> {
        self.try_lookup(registry_host, repository)
            .unwrap_or_else(|e| {
                tracing::warn!("{e}");
                None
            })
    }

    /// The credentials for `repository` on `registry_host`. Each file is
    /// searched in turn; within one, the most specific key wins
    /// (`host/ns/repo`, then `host/ns`, then `host`), then keys written as
    /// URLs (`https://host/v1/`) and Docker Hub's other names
    /// (`index.docker.io`, `registry-1.docker.io`) match the host.
    pub fn try_lookup(
        &self,
        registry_host: &str,
        repository: &str,
    ) -> Result<Option<Credentials>, AuthLookupError> {
        let host = normalize_host(registry_host);
        for file in std::iter::once(&self.primary).chain(&self.fallbacks) {
            if let Some(found) = file.find(host, repository)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Store `credentials` under `key` (`host[:port][/path]`) in the primary
    /// file, keeping every other entry and field. The file is re-read first
    /// so that concurrent changes to other keys survive, then replaced
    /// atomically (mode 0600, in a directory created 0700).
    pub fn store(&mut self, key: &str, credentials: &Credentials) -> Result<(), AuthFileError> {
        let path = self.primary.path.clone();
        check_key(&path, key)?;
        let mut fresh = Loaded::read(&path)?;
        let encoded = BASE64.encode(format!("{}:{}", credentials.username, credentials.password));
        let mut entry = Map::new();
        entry.insert("auth".to_string(), Value::String(encoded));
        fresh
            .auths_mut()?
            .insert(key.to_string(), Value::Object(entry));
        fresh.write()?;
        self.primary = fresh;
        Ok(())
    }

    /// Remove `key` from the primary file. `false` when it was not there
    /// (nothing is written then).
    pub fn remove(&mut self, key: &str) -> Result<bool, AuthFileError> {
        let mut fresh = Loaded::read(&self.primary.path)?;
        if fresh.auths_mut()?.remove(key).is_none() {
            self.primary = fresh;
            return Ok(false);
        }
        fresh.write()?;
        self.primary = fresh;
        Ok(true)
    }

    /// Remove every entry of the primary file (`logout --all`), keeping its
    /// other fields. A missing file stays missing.
    pub fn remove_all(&mut self) -> Result<(), AuthFileError> {
        let mut fresh = Loaded::read(&self.primary.path)?;
        if fresh.doc.is_empty() && !fresh.path.exists() {
            return Ok(());
        }
        fresh
            .doc
            .insert("auths".to_string(), Value::Object(Map::new()));
        fresh.write()?;
        self.primary = fresh;
        Ok(())
    }
}

impl Loaded {
    fn read(path: &Path) -> Result<Self, AuthFileError> {
        let text = match fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Loaded {
                    path: path.to_path_buf(),
                    doc: Map::new(),
                })
            }
            Err(source) => {
                return Err(AuthFileError::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let value: Value =
            serde_json::from_slice(&text).map_err(|source| AuthFileError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        let Value::Object(doc) = value else {
            return Err(AuthFileError::Shape {
                path: path.to_path_buf(),
                what: "the file",
            });
        };
        if doc.get("auths").is_some_and(|a| !a.is_object()) {
            return Err(AuthFileError::Shape {
                path: path.to_path_buf(),
                what: "\"auths\"",
            });
        }
        Ok(Loaded {
            path: path.to_path_buf(),
            doc,
        })
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        self.doc.get("auths").and_then(Value::as_object)
    }

    fn auths_mut(&mut self) -> Result<&mut Map<String, Value>, AuthFileError> {
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        auths.as_object_mut().ok_or_else(|| AuthFileError::Shape {
            path: self.path.clone(),
            what: "\"auths\"",
        })
    }

    fn find(&self, host: &str, repository: &str) -> Result<Option<Credentials>, AuthLookupError> {
        let Some(auths) = self.auths() else {
            return Ok(None);
        };
        let mut key = if repository.is_empty() {
            host.to_string()
        } else {
            format!("{host}/{repository}")
        };
        loop {
            if let Some(entry) = auths.get(&key) {
                if let Some(found) = self.decode(&key, entry)? {
                    return Ok(Some(found));
                }
            }
            if key.len() <= host.len() {
                break;
            }
            match key.rfind('/') {
                Some(i) => key.truncate(i),
                None => break,
            }
        }
        for (key, entry) in auths {
            if key != host && normalize_key(key) == host {
                if let Some(found) = self.decode(key, entry)? {
                    return Ok(Some(found));
                }
            }
        }
        Ok(None)
    }

    /// `None` for entries without `auth` (credential-helper markers such as
    /// docker's `{}`).
    fn decode(&self, key: &str, entry: &Value) -> Result<Option<Credentials>, AuthLookupError> {
        let err_path = || self.path.clone();
        let auth = match entry.get("auth") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if s.is_empty() => return Ok(None),
            Some(Value::String(s)) => s,
            Some(_) => {
                return Err(AuthLookupError::NotAString {
                    path: err_path(),
                    key: key.to_string(),
                })
            }
        };
        let bytes = BASE64
            .decode(auth.trim())
            .map_err(|source| AuthLookupError::Base64 {
                path: err_path(),
                key: key.to_string(),
                source,
            })?;
        let text = String::from_utf8(bytes).map_err(|_| AuthLookupError::Utf8 {
            path: err_path(),
            key: key.to_string(),
        })?;
        let Some((username, password)) = text.split_once(':') else {
            return Err(AuthLookupError::MissingColon {
                path: err_path(),
                key: key.to_string(),
            });
        };
        Ok(Some(Credentials {
            username: username.to_string(),
            // Some writers pad the password with NULs.
            password: password.trim_matches('\0').to_string(),
        }))
    }

    /// Replace the file atomically: temporary file in the same directory,
    /// fsync, rename, fsync of the directory.
    fn write(&self) -> Result<(), AuthFileError> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| AuthFileError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        let write_err = |source| AuthFileError::Write {
            path: self.path.clone(),
            source,
        };
        // tempfile creates the file with mode 0600.
        let mut tmp = tempfile::Builder::new()
            .prefix(".auth.json.")
            .tempfile_in(dir)
            .map_err(write_err)?;
        serde_json::to_writer_pretty(&mut tmp, &self.doc).map_err(|e| write_err(e.into()))?;
        tmp.write_all(b"\n").map_err(write_err)?;
        tmp.as_file().sync_all().map_err(write_err)?;
        tmp.persist(&self.path).map_err(|e| write_err(e.error))?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(write_err)
    }
}

/// Docker Hub's API and legacy hosts name the same registry as `docker.io`.
fn normalize_host(host: &str) -> &str {
    match host {
        "registry-1.docker.io" | "index.docker.io" => "docker.io",
        other => other,
    }
}

/// A key as docker writes it: `https://host/v1/` (URL) or a bare host.
fn normalize_key(key: &str) -> &str {
    let stripped = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"));
    let host = match stripped {
        Some(rest) => rest.split('/').next().unwrap_or(rest),
        None => key,
    };
    normalize_host(host)
}

/// Keys are `host[:port][/path]`: no scheme, no tag, no digest.
fn check_key(path: &Path, key: &str) -> Result<(), AuthFileError> {
    let invalid = |reason| AuthFileError::InvalidKey {
        path: path.to_path_buf(),
        key: key.to_string(),
        reason,
    };
    if key.is_empty() {
        return Err(invalid("the key is empty"));
    }
    if key.starts_with("http://") || key.starts_with("https://") {
        return Err(invalid(
            "give host[:port][/path], without http:// or https://",
        ));
    }
    if key.contains('@') {
        return Err(invalid("a digest is not allowed"));
    }
    if key
        .split_once('/')
        .is_some_and(|(_, path)| path.contains(':'))
    {
        return Err(invalid("a tag is not allowed"));
    }
    if key.ends_with('/') || key.contains("//") {
        return Err(invalid("empty path component"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
        assert_eq!(fs::read_to_string(&path).expect("read"), format!("{{\n  \"auths\": {{\n    \"quay.io\": {{\n      \"auth\": \"{}\"\n    }}\n  }}\n}}\n", auth("u:p")));
    }

    #[test]
    fn debug_hides_secrets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text =
            serde_json::json!({"auths": {"q.io": {"auth": auth("user:hunter2")}}}).to_string();
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
}
