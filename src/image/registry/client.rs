//! The registry client: one repository on one registry, shared by the threads
//! of a pull or push (one connection pool, one token cache).

use std::sync::Mutex;
use std::time::Duration;

use super::auth::{Challenge, TokenCache};
use super::error::{Context, Operation, RegistryError};
use super::{tls, Endpoint};
use crate::image::auth::Credentials;

const DOCKER_HUB_API: &str = "registry-1.docker.io";
const DOCKER_HUB: &str = "docker.io";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a single socket read or write may stall. There is no limit on a
/// whole body (layers can be gigabytes), but a dead peer must not hang a pull
/// forever; the resulting error is retryable.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// A distribution-protocol client for one repository (`library/alpine`) on one
/// registry. `Sync`: share it by reference between download threads.
pub struct RegistryClient {
    pub(super) endpoint: Endpoint,
    pub(super) repository: String,
    pub(super) creds: Option<Credentials>,
    pub(super) agent: ureq::Agent,
    /// `https` or `http`, once known (insecure registries are probed once).
    pub(super) scheme: Mutex<Option<&'static str>>,
    /// The last challenge the registry sent; answered up front afterwards.
    pub(super) challenge: Mutex<Option<Challenge>>,
    pub(super) tokens: TokenCache,
}

/// What a request needs to be allowed to do, hence which token scopes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Access<'a> {
    /// `GET /v2/`: no repository scope.
    Registry,
    Pull,
    Push,
    /// Push here and pull from another repository on the same registry.
    Mount {
        from: &'a str,
    },
}

impl RegistryClient {
    /// A client for `repository` on `endpoint`. Without credentials requests
    /// are anonymous (anonymous bearer tokens included). `user_agent` is sent
    /// with every request.
    pub fn new(
        endpoint: Endpoint,
        repository: String,
        creds: Option<Credentials>,
        user_agent: &str,
    ) -> Self {
        let agent = ureq::AgentBuilder::new()
            .tls_config(tls::client_config(&endpoint))
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(IDLE_TIMEOUT)
            .timeout_write(IDLE_TIMEOUT)
            // Followed by hand: the Authorization header must stay on the
            // registry's own origin (port included).
            .redirects(0)
            .user_agent(user_agent)
            .build();
        Self {
            endpoint,
            repository,
            creds,
            agent,
            scheme: Mutex::new(None),
            challenge: Mutex::new(None),
            tokens: TokenCache::default(),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `GET /v2/`, answering any challenge: Ok if the registry is reachable
    /// and accepts the credentials (or needs none). This is `skiff login`'s
    /// check; rejected credentials give [`RegistryError::Auth`].
    pub fn check_login(&self) -> Result<(), RegistryError> {
        let context = Context {
            operation: Operation::Ping,
            host: self.display_host().to_string(),
            repository: String::new(),
        };
        let url = format!("{}/v2/", self.base_url(&context)?);
        let resp = self.send(
            &context,
            Access::Registry,
            super::request::Call::new("GET", url),
        )?;
        match resp.status() {
            200..=299 => Ok(()),
            _ => Err(self.failure(&context, resp)),
        }
    }

    /// The context of an operation on this client's repository.
    pub(super) fn context(&self, operation: Operation) -> Context {
        Context {
            operation,
            host: self.display_host().to_string(),
            repository: self.repository.clone(),
        }
    }

    /// The registry as users name it in messages and in `skiff login`:
    /// Docker Hub's API host is `docker.io` to them.
    fn display_host(&self) -> &str {
        match self.endpoint.host.as_str() {
            DOCKER_HUB_API => DOCKER_HUB,
            host => host,
        }
    }

    /// Token scopes for `access`, as the token spec names them.
    pub(super) fn scopes(&self, access: Access<'_>) -> Vec<String> {
        let repo = &self.repository;
        match access {
            Access::Registry => Vec::new(),
            Access::Pull => vec![format!("repository:{repo}:pull")],
            Access::Push => vec![format!("repository:{repo}:pull,push")],
            Access::Mount { from } => vec![
                format!("repository:{repo}:pull,push"),
                format!("repository:{from}:pull"),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RegistryClient>();
    }

    #[test]
    fn docker_hub_is_named_docker_io() {
        let c = RegistryClient::new(
            Endpoint {
                host: "registry-1.docker.io".into(),
                insecure: false,
            },
            "library/alpine".into(),
            None,
            "skiff-test",
        );
        let context = c.context(Operation::ReadManifest("3.20".into()));
        assert_eq!(
            context.to_string(),
            "reading manifest 3.20 in docker.io/library/alpine"
        );
    }

    #[test]
    fn scopes_follow_the_token_spec() {
        let c = RegistryClient::new(
            Endpoint {
                host: "r.example".into(),
                insecure: false,
            },
            "lib/a".into(),
            None,
            "skiff-test",
        );
        assert!(c.scopes(Access::Registry).is_empty());
        assert_eq!(c.scopes(Access::Pull), ["repository:lib/a:pull"]);
        assert_eq!(c.scopes(Access::Push), ["repository:lib/a:pull,push"]);
        assert_eq!(
            c.scopes(Access::Mount { from: "lib/b" }),
            ["repository:lib/a:pull,push", "repository:lib/b:pull"]
        );
    }
}
