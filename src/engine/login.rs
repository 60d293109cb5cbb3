//! `login` and `logout`: check credentials against a registry, then keep them
//! in (or drop them from) the auth file, as podman-login(1) and
//! podman-logout(1) do.
//!
//! Credentials are stored under a key: `host[:port]` for the whole registry,
//! or `host[:port]/namespace[/repo]` for part of it (containers-auth.json(5));
//! pulls use the most specific key that matches.

use std::io;
use std::path::{Path, PathBuf};

use crate::config::registries::api_host;
use crate::engine::remote::{TlsVerify, USER_AGENT};
use crate::engine::{Engine, EngineError};
use crate::image::auth::{AuthFile, AuthFileError, AuthLookupError, AuthPaths, Credentials};
use crate::image::reference::{is_valid_domain, ImageName, ReferenceError, DOCKER_HUB};
use crate::image::registry::{Endpoint, RegistryClient, RegistryError};

/// Other names of Docker Hub; credentials for them are stored as `docker.io`.
const DOCKER_HUB_ALIASES: &[&str] = &["index.docker.io", "registry-1.docker.io"];

/// What `login` and `logout` act on: the key credentials are stored under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginTarget {
    key: String,
    /// Length of the `host[:port]` part of `key`.
    host_len: usize,
}

/// A `login`/`logout` argument that names no registry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginTargetError {
    #[error("invalid registry {arg:?}: the registry name is empty")]
    Empty { arg: String },
    #[error("invalid registry {arg:?}: {host:?} is not a valid host[:port]")]
    Host { arg: String, host: String },
    #[error("invalid registry {arg:?}: {host:?} is not a registry host (a namespace needs a host with a '.', a port, or localhost)")]
    NotARegistry { arg: String, host: String },
    #[error("invalid registry {arg:?}")]
    Path {
        arg: String,
        #[source]
        source: ReferenceError,
    },
    #[error("reference {arg:?} contains a tag or digest")]
    TagOrDigest { arg: String },
}

impl LoginTarget {
    /// Parse `host[:port]` or `host[:port]/namespace[/repo]`. A URL
    /// (`https://host[:port]/anything`) stands for its `host[:port]` alone,
    /// as docker writes keys. Docker Hub's other names become `docker.io`.
    pub fn parse(arg: &str) -> Result<Self, LoginTargetError> {
        let stripped = strip_url(arg);
        let (host, path) = match stripped.split_once('/') {
            Some((host, path)) => (host, Some(path)),
            None => (stripped, None),
        };
        if host.is_empty() {
            return Err(LoginTargetError::Empty {
                arg: arg.to_string(),
            });
        }
        if !is_valid_domain(host) {
            return Err(LoginTargetError::Host {
                arg: arg.to_string(),
                host: host.to_string(),
            });
        }
        let host = if DOCKER_HUB_ALIASES.contains(&host) {
            DOCKER_HUB
        } else {
            host
        };
        let Some(path) = path else {
            return Ok(LoginTarget {
                key: host.to_string(),
                host_len: host.len(),
            });
        };
        let key = format!("{host}/{path}");
        // Validation only: the key keeps the namespace as written (the
        // parsed name would turn `docker.io/ns` into `docker.io/library/ns`).
        let name = ImageName::parse(&key).map_err(|source| LoginTargetError::Path {
            arg: arg.to_string(),
            source,
        })?;
        if name.tag().is_some() || name.digest().is_some() {
            return Err(LoginTargetError::TagOrDigest {
                arg: arg.to_string(),
            });
        }
        if name.domain().is_none() {
            return Err(LoginTargetError::NotARegistry {
                arg: arg.to_string(),
                host: host.to_string(),
            });
        }
        Ok(LoginTarget {
            key,
            host_len: host.len(),
        })
    }

    /// `host[:port][/namespace]`, as stored in the auth file.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `host[:port]`: the registry checked at login.
    pub fn registry(&self) -> &str {
        &self.key[..self.host_len]
    }

    /// The path after the registry; empty for a whole-registry key.
    pub fn namespace(&self) -> &str {
        self.key.get(self.host_len + 1..).unwrap_or("")
    }
}

impl std::fmt::Display for LoginTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key)
    }
}

/// `https://user@host:port/path?q` -> `host:port`; anything else unchanged.
fn strip_url(arg: &str) -> &str {
    let Some(rest) = arg
        .strip_prefix("https://")
        .or_else(|| arg.strip_prefix("http://"))
    else {
        return arg;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

/// Options of `login` and `logout`.
#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    pub tls_verify: TlsVerify,
    /// `--authfile` (or `REGISTRY_AUTH_FILE`): this file alone is read and
    /// written. Otherwise the default files (see
    /// [`AuthPaths::from_env`](crate::image::auth::AuthPaths::from_env)).
    pub authfile: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Target(#[from] LoginTargetError),
    #[error("no registries found in registries.conf, a registry must be provided")]
    NoDefaultRegistry,
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Lookup(#[from] AuthLookupError),
    /// The registry (or its token server) refused the credentials.
    #[error("logging into {key:?}: invalid username/password")]
    InvalidCredentials { key: String },
    /// The registry could not be asked: unreachable, TLS, unexpected answer.
    #[error("checking credentials for {key:?}")]
    Check {
        key: String,
        #[source]
        source: RegistryError,
    },
    #[error(transparent)]
    Store(#[from] AuthFileError),
}

#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    #[error("credential file is not accessible: {path}")]
    AuthFileMissing {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("not logged into {key}")]
    NotLoggedIn { key: String },
    #[error(transparent)]
    Remove(#[from] AuthFileError),
}

/// What `logout` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutOutcome {
    /// The key was removed from this file.
    Removed { path: PathBuf },
    /// Not in the file skiff writes, but valid credentials for the key are
    /// in this file, written by another tool (`docker login`): left alone.
    OtherTool { path: PathBuf },
}

impl Engine {
    /// The registry `login`/`logout` use when none is given: the first
    /// unqualified-search registry.
    pub fn default_login_target(&self) -> Result<LoginTarget, LoginError> {
        let first = self
            .registries()?
            .unqualified_search_registries()
            .first()
            .ok_or(LoginError::NoDefaultRegistry)?;
        Ok(LoginTarget::parse(first)?)
    }

    /// The credentials a pull from `target` would use, from every file read
    /// (or `authfile` alone).
    pub fn stored_login(
        &self,
        target: &LoginTarget,
        authfile: Option<&Path>,
    ) -> Result<Option<Credentials>, LoginError> {
        let opened;
        let files = match authfile {
            Some(path) => {
                opened = AuthFile::open(path).map_err(EngineError::from)?;
                &opened
            }
            None => self.auth_file()?,
        };
        Ok(files.try_lookup(target.registry(), target.namespace())?)
    }

    /// Ask the registry of `target` whether it accepts `creds` (`GET /v2/`,
    /// with a token exchange when it wants one). Docker Hub is asked at its
    /// API host.
    pub fn check_login(
        &self,
        target: &LoginTarget,
        creds: &Credentials,
        tls: TlsVerify,
    ) -> Result<(), LoginError> {
        let registry = target.registry();
        // registries.conf is read only when the flag leaves it to it.
        let insecure = match tls {
            TlsVerify::Default => self.registries()?.is_insecure(registry),
            given => given.insecure(false),
        };
        let endpoint = Endpoint {
            host: api_host(registry).to_string(),
            insecure,
        };
        let client = RegistryClient::new(endpoint, String::new(), Some(creds.clone()), USER_AGENT);
        client.check_login().map_err(|source| match source {
            RegistryError::Auth { .. } => {
                tracing::debug!("login to {target}: {source}");
                LoginError::InvalidCredentials {
                    key: target.key().to_string(),
                }
            }
            source => LoginError::Check {
                key: target.key().to_string(),
                source,
            },
        })
    }

    /// Check `creds` against the registry, then store them under the key of
    /// `target`. Returns the file written.
    pub fn login(
        &self,
        target: &LoginTarget,
        creds: &Credentials,
        opts: &LoginOptions,
    ) -> Result<PathBuf, LoginError> {
        self.check_login(target, creds, opts.tls_verify)?;
        let mut file = writable(opts.authfile.as_deref())?;
        file.store(target.key(), creds)?;
        Ok(file.path().to_path_buf())
    }

    /// Remove the credentials stored under the key of `target`. When the
    /// file skiff writes has none but another file read (docker's
    /// config.json) holds valid ones, they are left alone and reported.
    pub fn logout(
        &self,
        target: &LoginTarget,
        authfile: Option<&Path>,
    ) -> Result<LogoutOutcome, LogoutError> {
        if let Some(path) = authfile {
            check_accessible(path)?;
        }
        let mut file = writable(authfile)?;
        if file.remove(target.key())? {
            return Ok(LogoutOutcome::Removed {
                path: file.path().to_path_buf(),
            });
        }
        if authfile.is_none() {
            if let Some(path) = self.valid_elsewhere(target) {
                return Ok(LogoutOutcome::OtherTool { path });
            }
        }
        Err(LogoutError::NotLoggedIn {
            key: target.key().to_string(),
        })
    }

    /// Empty the file skiff writes (`logout --all`). Returns its path.
    pub fn logout_all(&self, authfile: Option<&Path>) -> Result<PathBuf, LogoutError> {
        if let Some(path) = authfile {
            check_accessible(path)?;
        }
        let mut file = writable(authfile)?;
        file.remove_all()?;
        Ok(file.path().to_path_buf())
    }

    /// The read-only file holding credentials for `target` that the
    /// registry accepts, if any.
    fn valid_elsewhere(&self, target: &LoginTarget) -> Option<PathBuf> {
        for path in AuthPaths::detect().fallbacks {
            let creds = match AuthFile::open(&path) {
                Ok(file) => file.lookup(target.registry(), target.namespace()),
                Err(e) => {
                    tracing::debug!("{e}");
                    None
                }
            };
            if let Some(creds) = creds {
                return match self.check_login(target, &creds, TlsVerify::Default) {
                    Ok(()) => Some(path),
                    Err(e) => {
                        tracing::debug!("credentials for {target} in {}: {e}", path.display());
                        None
                    }
                };
            }
        }
        None
    }
}

/// The one file `login` and `logout` write: `authfile`, or the primary
/// default. Other files are not loaded, so a broken docker config.json
/// does not stand in the way.
fn writable(authfile: Option<&Path>) -> Result<AuthFile, AuthFileError> {
    match authfile {
        Some(path) => AuthFile::open(path),
        None => AuthFile::open(&AuthPaths::detect().primary),
    }
}

/// An auth file named explicitly must exist for `logout` (podman-logout(1)).
fn check_accessible(path: &Path) -> Result<(), LogoutError> {
    std::fs::metadata(path)
        .map(drop)
        .map_err(|source| LogoutError::AuthFileMissing {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(arg: &str) -> (String, String, String) {
        let t = LoginTarget::parse(arg).expect(arg);
        (
            t.key().to_string(),
            t.registry().to_string(),
            t.namespace().to_string(),
        )
    }

    fn s(a: &str, b: &str, c: &str) -> (String, String, String) {
        (a.to_string(), b.to_string(), c.to_string())
    }

    #[test]
    fn plain_hosts_are_their_own_key() {
        assert_eq!(parsed("quay.io"), s("quay.io", "quay.io", ""));
        assert_eq!(
            parsed("127.0.0.1:5000"),
            s("127.0.0.1:5000", "127.0.0.1:5000", "")
        );
        assert_eq!(parsed("localhost"), s("localhost", "localhost", ""));
        assert_eq!(parsed("myregistry"), s("myregistry", "myregistry", ""));
        assert_eq!(parsed("[::1]:5000"), s("[::1]:5000", "[::1]:5000", ""));
    }

    #[test]
    fn namespaces_are_kept_as_written() {
        assert_eq!(parsed("quay.io/team"), s("quay.io/team", "quay.io", "team"));
        assert_eq!(
            parsed("localhost:5000/a/b"),
            s("localhost:5000/a/b", "localhost:5000", "a/b")
        );
        // Not docker.io/library/team: the key is what the user wrote.
        assert_eq!(
            parsed("docker.io/team"),
            s("docker.io/team", "docker.io", "team")
        );
    }

    #[test]
    fn urls_stand_for_their_host_and_port() {
        assert_eq!(parsed("https://quay.io"), s("quay.io", "quay.io", ""));
        assert_eq!(
            parsed("http://127.0.0.1:5000/v2/some/repo"),
            s("127.0.0.1:5000", "127.0.0.1:5000", "")
        );
        assert_eq!(
            parsed("https://index.docker.io/v1/"),
            s("docker.io", "docker.io", "")
        );
        assert_eq!(
            parsed("https://user@r.example.com:8443?x=1"),
            s("r.example.com:8443", "r.example.com:8443", "")
        );
    }

    #[test]
    fn docker_hub_aliases_become_docker_io() {
        assert_eq!(parsed("docker.io"), s("docker.io", "docker.io", ""));
        assert_eq!(
            parsed("registry-1.docker.io"),
            s("docker.io", "docker.io", "")
        );
        assert_eq!(
            parsed("index.docker.io/team"),
            s("docker.io/team", "docker.io", "team")
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        let err = |arg: &str| LoginTarget::parse(arg).expect_err(arg);
        assert!(matches!(err(""), LoginTargetError::Empty { .. }));
        assert!(matches!(err("https://"), LoginTargetError::Empty { .. }));
        assert!(matches!(err("/ns"), LoginTargetError::Empty { .. }));
        assert!(matches!(err("bad host"), LoginTargetError::Host { .. }));
        assert!(matches!(err("host:port"), LoginTargetError::Host { .. }));
        assert!(matches!(
            err("quay.io/ns:tag"),
            LoginTargetError::TagOrDigest { .. }
        ));
        let digest = format!("quay.io/ns@sha256:{}", "a".repeat(64));
        assert!(matches!(err(&digest), LoginTargetError::TagOrDigest { .. }));
        assert!(matches!(
            err("quay.io/Upper"),
            LoginTargetError::Path { .. }
        ));
        assert!(matches!(err("quay.io/ns/"), LoginTargetError::Path { .. }));
        assert!(matches!(err("quay.io//ns"), LoginTargetError::Path { .. }));
        assert!(matches!(
            err("myhost/ns"),
            LoginTargetError::NotARegistry { .. }
        ));
    }

    #[test]
    fn tag_error_names_the_argument() {
        let e = LoginTarget::parse("localhost:5999/ns:tag").expect_err("tag");
        assert_eq!(
            e.to_string(),
            "reference \"localhost:5999/ns:tag\" contains a tag or digest"
        );
    }

    #[test]
    fn display_is_the_key() {
        let t = LoginTarget::parse("https://quay.io/v1/").expect("url");
        assert_eq!(t.to_string(), "quay.io");
    }
}
