//! Image references: `[registry/]path[:tag][@digest]`, short names and their
//! normalisation.
//!
//! The grammar follows the distribution reference spec that podman and
//! containers/image use:
//!
//! ```text
//! reference        := name [":" tag] ["@" digest]
//! name             := [domain "/"] path
//! domain           := host [":" port]          ; host: DNS name or [IPv6]
//! path             := component ("/" component)*
//! component        := alnum (separator alnum)*
//! alnum            := [a-z0-9]+
//! separator        := "." | "_" | "__" | "-"+
//! tag              := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! ```
//!
//! The first path element is a domain only when it contains `.` or `:` or is
//! `localhost`; otherwise the whole name is a *short name* that
//! registries.conf resolves (see `crate::config::registries`). Docker Hub
//! names are normalised as docker does: `index.docker.io` becomes
//! `docker.io`, and a single-component path on it gains `library/`.

use std::fmt;
use std::str::FromStr;

use crate::image::digest::{Digest, DigestParseError};

/// The registry that docker's familiar names (`alpine`) live on.
pub const DOCKER_HUB: &str = "docker.io";
/// The legacy name of Docker Hub, normalised to [`DOCKER_HUB`].
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
/// The namespace of Docker Hub's official images.
const DOCKER_HUB_LIBRARY: &str = "library/";
/// The tag used when a reference names neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";
/// Longest accepted name (domain and path, without tag or digest).
const NAME_MAX: usize = 255;
/// Longest accepted tag.
const TAG_MAX: usize = 128;

/// Why a string is not a valid image reference. Every variant carries the
/// input as the user typed it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid image reference: empty name")]
    Empty,
    #[error(
        "invalid image reference {input:?}: name is {len} characters long, at most 255 are allowed"
    )]
    TooLong { input: String, len: usize },
    #[error("invalid image reference {input:?}: repository name {repository:?} must be lowercase")]
    Uppercase { input: String, repository: String },
    #[error("invalid image reference {input:?}: invalid registry {domain:?}")]
    Domain { input: String, domain: String },
    #[error("invalid image reference {input:?}: invalid repository path component {component:?}")]
    Path { input: String, component: String },
    #[error("invalid image reference {input:?}: invalid tag {tag:?} (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')")]
    Tag { input: String, tag: String },
    #[error("invalid image reference {input:?}: invalid digest")]
    Digest {
        input: String,
        #[source]
        source: DigestParseError,
    },
    #[error("invalid image reference {input:?}: a 64-character hexadecimal string is an image ID, not a repository name")]
    Identifier { input: String },
    /// For callers that name an image and cannot take a digest (`skiff tag`).
    #[error("invalid image name {input:?}: a digest is not allowed here")]
    DigestNotAllowed { input: String },
    #[error("image reference {input:?} is not fully qualified: it needs a registry, e.g. docker.io/{input}")]
    NotQualified { input: String },
}

/// An image name as a user wrote it: possibly short (no registry), with an
/// optional tag and digest. Construct it with [`ImageName::parse`]; the
/// parts are validated and Docker Hub names are normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName {
    domain: Option<String>,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageName {
    /// Parse `[domain/]path[:tag][@digest]`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if input.len() == 64 && is_lower_hex(input) {
            return Err(ReferenceError::Identifier {
                input: input.to_string(),
            });
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                let digest = digest.parse().map_err(|source| ReferenceError::Digest {
                    input: input.to_string(),
                    source,
                })?;
                (rest, Some(digest))
            }
            None => (input, None),
        };
        // A ':' starts the tag only when no '/' follows it: in
        // `host:5000/repo` it separates the port.
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if name.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if name.len() > NAME_MAX {
            return Err(ReferenceError::TooLong {
                input: input.to_string(),
                len: name.len(),
            });
        }
        if let Some(tag) = tag {
            if !is_valid_tag(tag) {
                return Err(ReferenceError::Tag {
                    input: input.to_string(),
                    tag: tag.to_string(),
                });
            }
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, rest)) if looks_like_domain(first) => (Some(first), rest),
            _ => (None, name),
        };
        if let Some(domain) = domain {
            if !is_valid_domain(domain) {
                return Err(ReferenceError::Domain {
                    input: input.to_string(),
                    domain: domain.to_string(),
                });
            }
        }
        validate_path(input, path)?;

        let domain = domain.map(|d| {
            if d == DOCKER_HUB_LEGACY {
                DOCKER_HUB
            } else {
                d
            }
        });
        let path = match domain {
            Some(DOCKER_HUB) => docker_hub_path(path),
            _ => path.to_string(),
        };
        // Counted again after normalisation, as docker does: `library/`
        // may push a name over the limit, and it must parse once printed.
        let len = domain.map_or(0, |d| d.len() + 1) + path.len();
        if len > NAME_MAX {
            return Err(ReferenceError::TooLong {
                input: input.to_string(),
                len,
            });
        }
        Ok(Self {
            domain: domain.map(str::to_string),
            path,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// True when the name has no registry and must be resolved through
    /// registries.conf (aliases or unqualified-search-registries).
    pub fn is_short(&self) -> bool {
        self.domain.is_none()
    }

    /// The registry, if the name has one (`docker.io` for `index.docker.io`).
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// The repository path: `library/alpine` for `docker.io/alpine`, but
    /// `alpine` for the short name `alpine` (Docker Hub's `library/` is only
    /// added when the name is qualified with docker.io).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The reference this name denotes on `registry`. A name that already
    /// has a registry keeps its own and ignores `registry`. On Docker Hub a
    /// single-component path gains `library/`.
    pub fn qualify(&self, registry: &str) -> Reference {
        let (registry, repository) = match &self.domain {
            Some(domain) => (domain.clone(), self.path.clone()),
            None => {
                let registry = if registry == DOCKER_HUB_LEGACY {
                    DOCKER_HUB
                } else {
                    registry
                };
                let repository = if registry == DOCKER_HUB {
                    docker_hub_path(&self.path)
                } else {
                    self.path.clone()
                };
                (registry.to_string(), repository)
            }
        };
        Reference {
            registry,
            repository,
            tag: self.tag.clone(),
            digest: self.digest.clone(),
        }
    }

    /// The reference for a name with a registry; `None` for a short name.
    pub fn to_reference(&self) -> Option<Reference> {
        self.domain.as_deref().map(|d| self.qualify(d))
    }
}

impl FromStr for ImageName {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(domain) = &self.domain {
            write!(f, "{domain}/")?;
        }
        f.write_str(&self.path)?;
        write_tag_digest(f, self.tag.as_deref(), self.digest.as_ref())
    }
}

/// A fully qualified image reference: registry host, repository path, and a
/// tag and/or digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host with optional port, e.g. `docker.io`, `127.0.0.1:5000`.
    pub registry: String,
    /// Repository path, e.g. `library/alpine`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    /// Parse a fully qualified reference, `registry/path[:tag][@digest]`.
    ///
    /// Strict by design: a short name (`alpine`, `library/alpine`) is
    /// rejected with [`ReferenceError::NotQualified`] instead of being
    /// completed with docker.io, because completing short names is
    /// registries.conf's job ([`ImageName::parse`] followed by
    /// `Registries::resolve_short`). Docker Hub normalisation still applies:
    /// `docker.io/alpine` is `docker.io/library/alpine`. No default tag is
    /// added; see [`Reference::with_default_tag`].
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        ImageName::parse(input)?
            .to_reference()
            .ok_or_else(|| ReferenceError::NotQualified {
                input: input.to_string(),
            })
    }

    /// Parse a name an image is given (`skiff tag`, a push destination, a
    /// name in an archive): a short name is on `short_registry`, a missing
    /// tag is `latest`, and a digest is refused with
    /// [`ReferenceError::DigestNotAllowed`].
    pub fn parse_tagged(input: &str, short_registry: &str) -> Result<Self, ReferenceError> {
        let parsed = ImageName::parse(input)?;
        if parsed.digest().is_some() {
            return Err(ReferenceError::DigestNotAllowed {
                input: input.to_string(),
            });
        }
        Ok(parsed.qualify(short_registry).with_default_tag())
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag, or `latest` when there is none.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or(DEFAULT_TAG)
    }

    /// The same reference with tag `latest` when it names neither a tag nor
    /// a digest, as podman does before pulling or pushing.
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// True when the reference pins a digest (a tag, if any, is then only
    /// informative).
    pub fn is_digested(&self) -> bool {
        self.digest.is_some()
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Reference {
    /// The canonical full name, `registry/repository[:tag][@digest]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        write_tag_digest(f, self.tag.as_deref(), self.digest.as_ref())
    }
}

/// True when `s` could be (a prefix of) an image ID: 3 to 64 lowercase hex
/// digits, optionally after `sha256:`. `skiff rmi abc123` tries such a string
/// as an ID before treating it as a name (it is a valid short name too).
pub fn looks_like_image_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    (3..=64).contains(&hex.len()) && is_lower_hex(hex)
}

/// True when `s` is a valid `host[:port]`: DNS labels (letters, digits,
/// inner `-`) separated by `.`, or a bracketed IPv6 address.
pub fn is_valid_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((addr, after)) = rest.split_once(']') else {
            return false;
        };
        if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match s.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    // `host` is empty only after a bracketed IPv6 address.
    (host.is_empty() && s.starts_with('[')) || host.split('.').all(is_domain_label)
}

fn is_domain_label(label: &str) -> bool {
    let b = label.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        }
        _ => false,
    }
}

/// Whether the first element of `a/b` names a registry rather than a
/// namespace on docker.io, as podman decides it.
fn looks_like_domain(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost"
}

fn docker_hub_path(path: &str) -> String {
    if path.contains('/') {
        path.to_string()
    } else {
        format!("{DOCKER_HUB_LIBRARY}{path}")
    }
}

fn validate_path(input: &str, path: &str) -> Result<(), ReferenceError> {
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::Uppercase {
            input: input.to_string(),
            repository: path.to_string(),
        });
    }
    match path.split('/').find(|c| !is_valid_component(c)) {
        Some(component) => Err(ReferenceError::Path {
            input: input.to_string(),
            component: component.to_string(),
        }),
        None => Ok(()),
    }
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or one or more `-`.
fn is_valid_component(c: &str) -> bool {
    let is_alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = c.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && is_alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false; // empty run: empty component, or separator at an edge
        }
        if i == bytes.len() {
            return true;
        }
        let sep_start = i;
        while i < bytes.len() && !is_alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[sep_start..i];
        let valid = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
        if !valid {
            return false;
        }
    }
}

fn is_valid_tag(tag: &str) -> bool {
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let bytes = tag.as_bytes();
    match bytes.split_first() {
        Some((first, rest)) => {
            word(first)
                && tag.len() <= TAG_MAX
                && rest.iter().all(|b| word(b) || *b == b'.' || *b == b'-')
        }
        None => false,
    }
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn write_tag_digest(
    f: &mut fmt::Formatter<'_>,
    tag: Option<&str>,
    digest: Option<&Digest>,
) -> fmt::Result {
    if let Some(tag) = tag {
        write!(f, ":{tag}")?;
    }
    if let Some(digest) = digest {
        write!(f, "@{digest}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
