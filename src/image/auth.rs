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
                    crate::config::paths::host_uid()
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
mod tests;
