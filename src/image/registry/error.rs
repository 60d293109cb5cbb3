//! Errors from talking to a registry: each names the step, the registry and
//! repository, and what went wrong, in one podman-like line.

use std::fmt;
use std::io;

use crate::image::digest::Digest;

/// What the client was doing when it failed; the first words of every message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// `GET /v2/`: `skiff login`, or finding out whether an insecure registry
    /// speaks HTTPS.
    Ping,
    ReadManifest(String),
    CheckManifest(String),
    WriteManifest(String),
    ReadBlob(Digest),
    CheckBlob(Digest),
    MountBlob(Digest),
    WriteBlob(Digest),
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ping => f.write_str("pinging registry"),
            Self::ReadManifest(r) => write!(f, "reading manifest {r}"),
            Self::CheckManifest(r) => write!(f, "checking manifest {r}"),
            Self::WriteManifest(r) => write!(f, "writing manifest {r}"),
            Self::ReadBlob(d) => write!(f, "reading blob {d}"),
            Self::CheckBlob(d) => write!(f, "checking blob {d}"),
            Self::MountBlob(d) => write!(f, "mounting blob {d}"),
            Self::WriteBlob(d) => write!(f, "writing blob {d}"),
        }
    }
}

/// The step and where it happened: `reading manifest 3.20 in docker.io/library/alpine`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub operation: Operation,
    /// The registry as users name it (`docker.io`, not its API host).
    pub host: String,
    /// Empty for [`Operation::Ping`], which concerns the whole registry.
    pub repository: String,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.repository.is_empty() {
            write!(f, "{} {}", self.operation, self.host)
        } else {
            write!(f, "{} in {}/{}", self.operation, self.host, self.repository)
        }
    }
}

/// Everything a [`RegistryClient`](super::RegistryClient) call can fail with.
///
/// The context is boxed to keep `Result<_, RegistryError>` small.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// DNS, connect, TLS or a connection reset before a response arrived.
    #[error("{context}: request failed")]
    Transport {
        context: Box<Context>,
        #[source]
        source: Box<ureq::Transport>,
    },
    /// The registry or its token server turned the credentials (or their
    /// absence) down.
    #[error("{context}: access denied: {detail}; try `skiff login {}`", context.host)]
    Auth {
        context: Box<Context>,
        detail: String,
    },
    /// 404 on a manifest: the tag or digest does not exist in the repository.
    #[error("{context}: manifest unknown")]
    ManifestNotFound { context: Box<Context> },
    /// 404 on a blob.
    #[error("{context}: blob unknown")]
    BlobNotFound { context: Box<Context> },
    /// Any other unexpected status; `message` is the registry's own error text
    /// when it sent one.
    #[error("{context}: {message} (HTTP {status})")]
    Status {
        context: Box<Context>,
        status: u16,
        message: String,
    },
    /// Reading a response body failed part way (timeout, reset).
    #[error("{context}: reading the response")]
    Body {
        context: Box<Context>,
        #[source]
        source: io::Error,
    },
    /// The connection closed before `Content-Length` bytes arrived.
    #[error("{context}: connection closed after {received} bytes of the body")]
    Truncated {
        context: Box<Context>,
        received: u64,
    },
    /// The body was complete but not the size the descriptor said.
    #[error("{context}: size mismatch: expected {expected} bytes, received {received}")]
    SizeMismatch {
        context: Box<Context>,
        expected: u64,
        received: u64,
    },
    /// The content does not hash to the digest that names it.
    #[error("{context}: digest mismatch: content has digest {actual}, expected {expected}")]
    DigestMismatch {
        context: Box<Context>,
        expected: Box<Digest>,
        actual: Box<Digest>,
    },
    #[error("{context}: manifest is larger than {limit} bytes")]
    ManifestTooLarge { context: Box<Context>, limit: u64 },
    #[error("{context}: unsupported manifest media type {media_type:?}")]
    UnsupportedMediaType {
        context: Box<Context>,
        media_type: String,
    },
    /// The registry broke the protocol: no `Location`, an unparsable token,
    /// too many redirects.
    #[error("{context}: invalid registry response: {detail}")]
    Protocol {
        context: Box<Context>,
        detail: String,
    },
    /// The caller's sink refused the bytes.
    #[error("{context}: writing to local storage")]
    Write {
        context: Box<Context>,
        #[source]
        source: io::Error,
    },
    /// The caller's reader failed or ended early during an upload.
    #[error("{context}: reading local data")]
    LocalRead {
        context: Box<Context>,
        #[source]
        source: io::Error,
    },
}

impl RegistryError {
    pub fn context(&self) -> &Context {
        match self {
            Self::Transport { context, .. }
            | Self::Auth { context, .. }
            | Self::ManifestNotFound { context }
            | Self::BlobNotFound { context }
            | Self::Status { context, .. }
            | Self::Body { context, .. }
            | Self::Truncated { context, .. }
            | Self::SizeMismatch { context, .. }
            | Self::DigestMismatch { context, .. }
            | Self::ManifestTooLarge { context, .. }
            | Self::UnsupportedMediaType { context, .. }
            | Self::Protocol { context, .. }
            | Self::Write { context, .. }
            | Self::LocalRead { context, .. } => context,
        }
    }

    /// Whether trying the same call again may succeed: network failures,
    /// truncated bodies, 5xx, 408 and 429. The client never retries by itself;
    /// a blob download restarts from byte zero, so the caller truncates its
    /// sink before the next attempt.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { source, .. } => !matches!(
                source.kind(),
                ureq::ErrorKind::InvalidUrl
                    | ureq::ErrorKind::UnknownScheme
                    | ureq::ErrorKind::InvalidProxyUrl
                    | ureq::ErrorKind::ProxyUnauthorized
            ),
            Self::Body { .. } | Self::Truncated { .. } => true,
            Self::Status { status, .. } => matches!(status, 408 | 429 | 500..=599),
            _ => false,
        }
    }

    /// The manifest or blob does not exist (the engine's "image not known").
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::ManifestNotFound { .. } | Self::BlobNotFound { .. }
        )
    }
}
