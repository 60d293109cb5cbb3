//! Reaching a registry for a pull, push or login: `--tls-verify` applied over
//! what registries.conf says, credentials from `--creds` or the auth file,
//! and the retries a failed transfer gets.

use std::fmt::Display;

use crate::config::registries::RemoteImage;
use crate::engine::{Engine, EngineError};
use crate::image::auth::Credentials;
use crate::image::registry::{Endpoint, RegistryClient};

/// Sent to registries with every request.
pub const USER_AGENT: &str = concat!("skiff/", env!("CARGO_PKG_VERSION"));

/// Attempts a transfer gets when it fails in a way worth retrying.
const ATTEMPTS: usize = 3;

/// How `--tls-verify` was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVerify {
    /// Not given: registries.conf decides.
    #[default]
    Default,
    Verify,
    Skip,
}

impl TlsVerify {
    /// Whether plain HTTP and unverified certificates are allowed, given
    /// what registries.conf says (`configured`).
    pub fn insecure(self, configured: bool) -> bool {
        match self {
            TlsVerify::Default => configured,
            TlsVerify::Verify => false,
            TlsVerify::Skip => true,
        }
    }
}

impl Engine {
    /// A client for the repository of `remote`. `credentials` (`--creds`)
    /// win; otherwise the auth file's entry for the repository is used.
    pub(crate) fn registry_client(
        &self,
        remote: &RemoteImage,
        tls_verify: TlsVerify,
        credentials: Option<&Credentials>,
    ) -> Result<RegistryClient, EngineError> {
        let endpoint = Endpoint {
            insecure: tls_verify.insecure(remote.endpoint.insecure),
            ..remote.endpoint.clone()
        };
        let creds = match credentials {
            Some(c) => Some(c.clone()),
            None => self
                .auth_file()?
                .lookup(&remote.reference.registry, &remote.repository),
        };
        Ok(RegistryClient::new(
            endpoint,
            remote.repository.clone(),
            creds,
            USER_AGENT,
        ))
    }
}

/// Run `transfer` until it succeeds, fails for good, or has had its
/// attempts; `retryable` tells a failure worth another try (a network
/// error, not a digest mismatch). Each try must start from scratch.
pub(crate) fn with_retries<T, E: Display>(
    retryable: impl Fn(&E) -> bool,
    mut transfer: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut attempt = 1;
    loop {
        match transfer() {
            Err(e) if attempt < ATTEMPTS && retryable(&e) => {
                tracing::warn!("{e}; retrying");
                attempt += 1;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_verify_overrides_the_configuration() {
        for configured in [false, true] {
            assert_eq!(TlsVerify::Default.insecure(configured), configured);
            assert!(!TlsVerify::Verify.insecure(configured));
            assert!(TlsVerify::Skip.insecure(configured));
        }
    }

    #[test]
    fn retries_only_what_is_retryable_and_only_so_often() {
        let mut calls = 0;
        let r: Result<(), &str> = with_retries(
            |e| *e == "flaky",
            || {
                calls += 1;
                Err("flaky")
            },
        );
        assert_eq!((r, calls), (Err("flaky"), ATTEMPTS));

        let mut calls = 0;
        let r: Result<(), &str> = with_retries(
            |e| *e == "flaky",
            || {
                calls += 1;
                Err("fatal")
            },
        );
        assert_eq!((r, calls), (Err("fatal"), 1));

        let mut calls = 0;
        let r = with_retries(
            |e: &&str| *e == "flaky",
            || {
                calls += 1;
                if calls < 2 {
                    Err("flaky")
                } else {
                    Ok(calls)
                }
            },
        );
        assert_eq!(r, Ok(2));
    }
}
