//! Sending one request: scheme choice, answering the auth challenge and
//! retrying once, following redirects without leaking the Authorization
//! header to another origin, and turning failed responses into errors.

use std::io::{self, Read};
use std::sync::PoisonError;
use std::time::Instant;

use serde::Deserialize;

use super::auth::{self, Challenge};
use super::client::{Access, RegistryClient};
use super::error::{Context, RegistryError};
use super::location;

const MAX_REDIRECTS: usize = 10;
/// Error bodies and token responses are small; never buffer more than this.
const SMALL_BODY_LIMIT: u64 = 1 << 20;

/// A request body. Only `Empty` and `Bytes` can be sent twice (after a 401 or
/// along a redirect).
pub(super) enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    Reader(&'a mut dyn Read),
}

/// Whether a cached bearer token may be used, or a fresh one is needed (the
/// registry just refused the request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tokens {
    Cached,
    Fresh,
}

pub(super) struct Call<'a> {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body<'a>,
}

impl<'a> Call<'a> {
    pub fn new(method: &'static str, url: String) -> Self {
        Self {
            method,
            url,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Body<'a>) -> Self {
        self.body = body;
        self
    }
}

impl RegistryClient {
    /// `scheme://host`. Insecure registries are probed once with `GET /v2/`:
    /// HTTPS (unverified) if it answers, else plain HTTP.
    pub(super) fn base_url(&self, context: &Context) -> Result<String, RegistryError> {
        let host = &self.endpoint.host;
        if !self.endpoint.insecure {
            return Ok(format!("https://{host}"));
        }
        let mut scheme = self.scheme.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = *scheme {
            return Ok(format!("{s}://{host}"));
        }
        let (chosen, resp) = match probe(&self.agent, &format!("https://{host}/v2/")) {
            Ok(resp) => ("https", resp),
            Err(tls_error) => match probe(&self.agent, &format!("http://{host}/v2/")) {
                // A TLS server answers plain HTTP with 400: that is no
                // evidence the registry speaks HTTP.
                Ok(resp) if resp.status() != 400 => ("http", resp),
                _ => {
                    return Err(RegistryError::Transport {
                        context: Box::new(context.clone()),
                        source: tls_error,
                    })
                }
            },
        };
        // The probe's challenge spares the first real request its 401.
        if resp.status() == 401 {
            if let Some(challenge) = auth::pick_challenge(resp.all("www-authenticate")) {
                *self
                    .challenge
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(challenge);
            }
        }
        drain(resp);
        tracing::debug!(host, scheme = chosen, "insecure registry probed");
        *scheme = Some(chosen);
        Ok(format!("{chosen}://{host}"))
    }

    /// Send `call` with the credentials `access` needs. On a 401 the
    /// challenge is answered and the call repeated once (unless its body was
    /// a stream, already consumed). Returns the final response whatever its
    /// status; callers map statuses to errors.
    pub(super) fn send(
        &self,
        context: &Context,
        access: Access<'_>,
        mut call: Call<'_>,
    ) -> Result<ureq::Response, RegistryError> {
        let scopes = self.scopes(access);
        // Credentials go to the registry only, not to upload or download
        // URLs on other hosts (object stores reject foreign headers anyway).
        let registry = location::origin(&self.base_url(context)?);
        let first_auth = self.authorization(context, &scopes, Tokens::Cached)?;
        let resp = self.exchange(context, &mut call, pair(&first_auth, &registry))?;
        if resp.status() != 401 || matches!(call.body, Body::Reader(_)) {
            return Ok(resp);
        }
        let Some(challenge) = auth::pick_challenge(resp.all("www-authenticate")) else {
            return Ok(resp);
        };
        *self
            .challenge
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(challenge);
        let auth = self.authorization(context, &scopes, Tokens::Fresh)?;
        if auth.is_none() || auth == first_auth {
            // Nothing new to offer (Basic without credentials, or the same
            // credentials again): the 401 stands.
            return Ok(resp);
        }
        drain(resp);
        self.exchange(context, &mut call, pair(&auth, &registry))
    }

    /// The Authorization header for `scopes` under the last challenge seen.
    fn authorization(
        &self,
        context: &Context,
        scopes: &[String],
        tokens: Tokens,
    ) -> Result<Option<String>, RegistryError> {
        let challenge = self
            .challenge
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(challenge) = challenge else {
            return Ok(None);
        };
        if challenge.is_basic() {
            return Ok(self.creds.as_ref().map(auth::basic));
        }
        if !challenge.is_bearer() {
            return Ok(None);
        }
        let key = scopes.join(" ");
        if tokens == Tokens::Cached {
            if let Some(token) = self.tokens.get(&key, Instant::now()) {
                return Ok(Some(format!("Bearer {token}")));
            }
        }
        let token = self.fetch_token(context, &challenge, scopes)?;
        let header = format!("Bearer {}", token.value);
        self.tokens.put(key, token);
        Ok(Some(header))
    }

    /// Ask the challenge's realm for a token: `GET realm?service=&scope=`,
    /// with Basic credentials and `account=` when logged in.
    fn fetch_token(
        &self,
        context: &Context,
        challenge: &Challenge,
        scopes: &[String],
    ) -> Result<auth::Token, RegistryError> {
        let protocol = |detail: &str| RegistryError::Protocol {
            context: Box::new(context.clone()),
            detail: detail.to_string(),
        };
        let realm = challenge
            .param("realm")
            .filter(|r| location::origin(r).is_some())
            .ok_or_else(|| protocol("bearer challenge without an absolute realm URL"))?;
        let mut query: Vec<(&str, &str)> = Vec::new();
        if let Some(service) = challenge.param("service") {
            query.push(("service", service));
        }
        for scope in scopes {
            query.push(("scope", scope));
        }
        if let Some(creds) = &self.creds {
            query.push(("account", &creds.username));
        }
        let mut call = Call::new("GET", location::with_query(realm, &query));
        let basic = self.creds.as_ref().map(auth::basic);
        let realm_origin = location::origin(realm);
        let auth = basic.as_deref().zip(realm_origin.as_deref());
        let resp = self.exchange(context, &mut call, auth)?;
        match resp.status() {
            200..=299 => {
                let body = read_small(context, resp)?;
                auth::parse_token(&body, Instant::now()).map_err(|e| protocol(&e))
            }
            401 | 403 => Err(RegistryError::Auth {
                context: Box::new(context.clone()),
                detail: if self.creds.is_some() {
                    "invalid username/password".to_string()
                } else {
                    "the token server refused anonymous access".to_string()
                },
            }),
            status => {
                let message = format!("token server {realm}: {}", status_message(resp));
                Err(RegistryError::Status {
                    context: Box::new(context.clone()),
                    status,
                    message,
                })
            }
        }
    }

    /// One request and its redirects (GET and HEAD only). `auth` is an
    /// Authorization header and the only origin it may be sent to; a redirect
    /// to another host (a CDN) goes without it.
    fn exchange(
        &self,
        context: &Context,
        call: &mut Call<'_>,
        auth: Option<(&str, &str)>,
    ) -> Result<ureq::Response, RegistryError> {
        let follow = matches!(call.method, "GET" | "HEAD") && matches!(call.body, Body::Empty);
        let mut url = call.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let mut req = self.agent.request(call.method, &url);
            for (name, value) in &call.headers {
                req = req.set(name, value);
            }
            if let Some((header, origin)) = auth {
                if location::origin(&url).as_deref() == Some(origin) {
                    req = req.set("Authorization", header);
                }
            }
            let result = match &mut call.body {
                Body::Empty => req.call(),
                Body::Bytes(bytes) => req.send_bytes(bytes),
                Body::Reader(reader) => req.send(&mut **reader),
            };
            let resp = match result {
                Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
                Err(ureq::Error::Transport(source)) => {
                    return Err(RegistryError::Transport {
                        context: Box::new(context.clone()),
                        source: Box::new(source),
                    })
                }
            };
            if !follow || !matches!(resp.status(), 301 | 302 | 303 | 307 | 308) {
                return Ok(resp);
            }
            let Some(next) = resp
                .header("location")
                .and_then(|l| location::resolve(&url, l))
            else {
                return Ok(resp);
            };
            tracing::debug!(from = %url, to = %next, status = resp.status(), "redirect");
            drain(resp);
            url = next;
        }
        Err(RegistryError::Protocol {
            context: Box::new(context.clone()),
            detail: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    /// The error for an unexpected response: access denied for 401/403,
    /// otherwise the status with the registry's error text.
    pub(super) fn failure(&self, context: &Context, resp: ureq::Response) -> RegistryError {
        let status = resp.status();
        let context = Box::new(context.clone());
        match status {
            401 | 403 => {
                let fallback = if status == 401 {
                    "authentication required"
                } else {
                    "requested access to the resource is denied"
                };
                let basic = self
                    .challenge
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                    .is_some_and(Challenge::is_basic);
                let detail = if status == 401 && basic && self.creds.is_some() {
                    // Basic credentials were sent with the request and refused.
                    drain(resp);
                    "invalid username/password".to_string()
                } else {
                    read_small_lossy(resp)
                        .and_then(|b| parse_error_body(&b))
                        .unwrap_or_else(|| fallback.to_string())
                };
                RegistryError::Auth { context, detail }
            }
            _ => RegistryError::Status {
                context,
                status,
                message: status_message(resp),
            },
        }
    }
}

/// `GET` without credentials: any HTTP answer, or why there was none.
fn probe(agent: &ureq::Agent, url: &str) -> Result<ureq::Response, Box<ureq::Transport>> {
    match agent.get(url).call() {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => Ok(resp),
        Err(ureq::Error::Transport(t)) => Err(Box::new(t)),
    }
}

/// An Authorization header with the origin it is for, if both are known.
fn pair<'a>(auth: &'a Option<String>, origin: &'a Option<String>) -> Option<(&'a str, &'a str)> {
    auth.as_deref().zip(origin.as_deref())
}

/// The registry's error text, else the HTTP reason phrase.
fn status_message(resp: ureq::Response) -> String {
    let reason = resp.status_text().to_string();
    read_small_lossy(resp)
        .and_then(|b| parse_error_body(&b))
        .unwrap_or(if reason.is_empty() {
            "unexpected HTTP status".to_string()
        } else {
            reason
        })
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"..."}]}` as
/// `manifest unknown: ...`, entries joined with `; `. `None` when the body is
/// not such a document.
pub(super) fn parse_error_body(body: &[u8]) -> Option<String> {
    let parsed: ErrorBody = serde_json::from_slice(body).ok()?;
    let parts: Vec<String> = parsed
        .errors
        .iter()
        .filter_map(|e| {
            let code = e.code.replace('_', " ").to_lowercase();
            let message = e.message.trim();
            match (code.is_empty(), message.is_empty()) {
                (true, true) => None,
                (false, true) => Some(code),
                (true, false) => Some(message.to_string()),
                _ if message.eq_ignore_ascii_case(&code) => Some(message.to_string()),
                _ => Some(format!("{code}: {message}")),
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Read a small body completely (token responses).
fn read_small(context: &Context, resp: ureq::Response) -> Result<Vec<u8>, RegistryError> {
    let mut body = Vec::new();
    resp.into_reader()
        .take(SMALL_BODY_LIMIT)
        .read_to_end(&mut body)
        .map_err(|source| RegistryError::Body {
            context: Box::new(context.clone()),
            source,
        })?;
    Ok(body)
}

fn read_small_lossy(resp: ureq::Response) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    resp.into_reader()
        .take(SMALL_BODY_LIMIT)
        .read_to_end(&mut body)
        .ok()?;
    Some(body)
}

/// Read what is left of a small body so the connection can be reused.
pub(super) fn drain(resp: ureq::Response) {
    let _ = io::copy(
        &mut resp.into_reader().take(SMALL_BODY_LIMIT),
        &mut io::sink(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_error_bodies() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        assert_eq!(parse_error_body(body).as_deref(), Some("manifest unknown"));
        let body = br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"},{"code":"DENIED","message":""}]}"#;
        assert_eq!(
            parse_error_body(body).as_deref(),
            Some("unauthorized: authentication required; denied")
        );
        assert_eq!(
            parse_error_body(br#"{"errors":[{"message":"boom"}]}"#).as_deref(),
            Some("boom")
        );
        assert_eq!(parse_error_body(br#"{"errors":[]}"#), None);
        assert_eq!(parse_error_body(b"<html>502</html>"), None);
        assert_eq!(parse_error_body(b""), None);
    }
}
