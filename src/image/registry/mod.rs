//! The OCI distribution protocol client: manifests and blobs, pulled and pushed,
//! with anonymous, Basic and Bearer token authentication.
//!
//! Follows the OCI distribution specification and the distribution token
//! authentication specification. Blocking I/O on one shared connection pool:
//! a [`RegistryClient`] is `Sync` and meant to be used from several download
//! threads at once.

mod auth;
mod blob;
mod client;
mod error;
mod location;
mod manifest;
mod request;
mod tls;

pub use client::RegistryClient;
pub use error::{Context, Operation, RegistryError};
pub use manifest::{ManifestHead, RawManifest};

/// Where a registry is reached: host (with port), and whether plain HTTP or an
/// unverified TLS certificate is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host with optional port, e.g. `registry-1.docker.io`, `127.0.0.1:5000`.
    pub host: String,
    /// `insecure = true` in registries.conf or `--tls-verify=false`: try HTTPS
    /// without verifying the certificate, then fall back to plain HTTP.
    pub insecure: bool,
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testserver;
