//! Authentication challenges (`WWW-Authenticate`), Basic credentials, and the
//! bearer tokens a token server hands out, cached per scope.
//!
//! Follows the distribution token specification: the registry answers 401 with
//! `Bearer realm=...,service=...,scope=...`, the client asks the realm for a
//! token (with Basic credentials when it has some) and retries.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use crate::image::auth::Credentials;

/// One challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    /// Lowercased: `basic`, `bearer`, ...
    pub scheme: String,
    /// Parameter names lowercased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_bearer(&self) -> bool {
        self.scheme == "bearer"
    }

    pub fn is_basic(&self) -> bool {
        self.scheme == "basic"
    }
}

/// The challenge to answer among all `WWW-Authenticate` headers of a response:
/// Bearer if offered, else Basic.
pub(super) fn pick_challenge<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    let all: Vec<Challenge> = headers.into_iter().flat_map(parse_challenges).collect();
    let bearer = all.iter().position(Challenge::is_bearer);
    let basic = all.iter().position(Challenge::is_basic);
    bearer.or(basic).map(|i| all[i].clone())
}

/// Parse a `WWW-Authenticate` value (RFC 7235): one or more challenges, each a
/// scheme followed by comma-separated `name=value` or `name="quoted, value"`.
pub(super) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut p = Scanner {
        s: header.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip(|b| b == b',' || b.is_ascii_whitespace());
        if p.eof() {
            break;
        }
        let scheme = p.token();
        if scheme.is_empty() {
            // Not a token character: skip it rather than loop forever.
            p.i += 1;
            continue;
        }
        let mut challenge = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params: Vec::new(),
        };
        loop {
            let save = p.i;
            p.skip(|b| b == b',' || b.is_ascii_whitespace());
            let name = p.token();
            p.skip(|b| b == b' ' || b == b'\t');
            if name.is_empty() || p.peek() != Some(b'=') {
                // The next challenge's scheme (or the end).
                p.i = save;
                break;
            }
            p.i += 1;
            p.skip(|b| b == b' ' || b == b'\t');
            let value = if p.peek() == Some(b'"') {
                p.quoted()
            } else {
                p.take_while(|b| b != b',' && !b.is_ascii_whitespace())
            };
            challenge.params.push((name.to_ascii_lowercase(), value));
        }
        out.push(challenge);
    }
    out
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> String {
        let start = self.i;
        self.skip(f);
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    /// RFC 7230 `token`.
    fn token(&mut self) -> String {
        self.take_while(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    }

    /// A quoted string starting at the opening quote; backslash escapes the
    /// next byte. An unterminated string runs to the end of the header.
    fn quoted(&mut self) -> String {
        self.i += 1;
        let mut value = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(next) = self.peek() {
                        value.push(next);
                        self.i += 1;
                    }
                }
                _ => value.push(b),
            }
        }
        String::from_utf8_lossy(&value).into_owned()
    }
}

/// `Authorization` value for Basic credentials.
pub(super) fn basic(creds: &Credentials) -> String {
    let raw = format!("{}:{}", creds.username, creds.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A bearer token and when to stop using it.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub value: String,
    pub valid_until: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The token spec's default and minimum lifetime.
const MIN_TOKEN_LIFETIME: u64 = 60;
/// Renew this long before expiry so a token does not lapse in flight.
const TOKEN_MARGIN: u64 = 10;

/// Parse a token server's JSON answer: `token`, or OAuth2's `access_token`.
pub(super) fn parse_token(body: &[u8], now: Instant) -> Result<Token, String> {
    let r: TokenResponse =
        serde_json::from_slice(body).map_err(|e| format!("token response is not JSON: {e}"))?;
    let value = r
        .token
        .filter(|t| !t.is_empty())
        .or(r.access_token.filter(|t| !t.is_empty()))
        .ok_or("token response has neither token nor access_token")?;
    let lifetime = r.expires_in.unwrap_or(0).max(MIN_TOKEN_LIFETIME) - TOKEN_MARGIN;
    Ok(Token {
        value,
        valid_until: now + Duration::from_secs(lifetime),
    })
}

/// Tokens by scope set (`repository:a:pull repository:b:pull,push`), shared by
/// every thread using one client.
#[derive(Default)]
pub(super) struct TokenCache {
    tokens: Mutex<HashMap<String, Token>>,
}

impl TokenCache {
    pub fn get(&self, key: &str, now: Instant) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens
            .get(key)
            .filter(|t| t.valid_until > now)
            .map(|t| t.value.clone())
    }

    pub fn put(&self, key: String, token: Token) {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.insert(key, token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn parses_bearer_challenge() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push""#;
        let c = parse_challenges(h);
        assert_eq!(c.len(), 1);
        assert!(c[0].is_bearer());
        assert_eq!(
            params(&c[0]),
            vec![
                ("realm", "https://auth.docker.io/token"),
                ("service", "registry.docker.io"),
                ("scope", "repository:library/alpine:pull,push"),
            ]
        );
    }

    #[test]
    fn parses_basic_unquoted_and_escapes() {
        let c = parse_challenges(r#"basic Realm=Registry , charset="UTF-8""#);
        assert_eq!(c.len(), 1);
        assert!(c[0].is_basic());
        assert_eq!(c[0].param("realm"), Some("Registry"));
        assert_eq!(c[0].param("CHARSET"), Some("UTF-8"));

        let c = parse_challenges(r#"Bearer realm="a \"q\", b\\c""#);
        assert_eq!(c[0].param("realm"), Some(r#"a "q", b\c"#));
    }

    #[test]
    fn parses_several_challenges_in_one_header() {
        let h = r#"Basic realm="r1", Bearer realm="https://t/token",service=s, Negotiate"#;
        let c = parse_challenges(h);
        let schemes: Vec<&str> = c.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["basic", "bearer", "negotiate"]);
        assert_eq!(c[1].param("service"), Some("s"));
        let picked = pick_challenge([h]).expect("a challenge");
        assert!(picked.is_bearer());
        assert_eq!(pick_challenge(["Negotiate"]), None);
        assert!(parse_challenges("").is_empty());
        assert_eq!(
            parse_challenges(r#"Bearer realm="unterminated"#)[0].param("realm"),
            Some("unterminated")
        );
    }

    #[test]
    fn parses_tokens() {
        let now = Instant::now();
        let t = parse_token(br#"{"token":"abc","expires_in":300}"#, now).expect("token");
        assert_eq!(t.value, "abc");
        assert_eq!(t.valid_until, now + Duration::from_secs(290));
        let t = parse_token(br#"{"token":"","access_token":"xyz"}"#, now).expect("token");
        assert_eq!(t.value, "xyz");
        assert_eq!(t.valid_until, now + Duration::from_secs(50));
        assert!(parse_token(br#"{"expires_in":3}"#, now).is_err());
        assert!(parse_token(b"<html>", now).is_err());
    }

    #[test]
    fn caches_until_expiry() {
        let cache = TokenCache::default();
        let now = Instant::now();
        cache.put(
            "s".into(),
            Token {
                value: "v".into(),
                valid_until: now + Duration::from_secs(5),
            },
        );
        assert_eq!(cache.get("s", now).as_deref(), Some("v"));
        assert_eq!(cache.get("s", now + Duration::from_secs(6)), None);
        assert_eq!(cache.get("other", now), None);
    }

    #[test]
    fn encodes_basic() {
        let c = Credentials {
            username: "u".into(),
            password: "p:w".into(),
        };
        assert_eq!(basic(&c), "Basic dTpwOnc=");
    }
}
