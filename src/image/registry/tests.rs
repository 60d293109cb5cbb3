//! The client against an in-process HTTP server: challenges and tokens,
//! Basic auth, missing manifests, corrupt and truncated blobs, redirects,
//! uploads and mounts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::testserver::{Reply, Request, Server};
use super::*;
use crate::image::auth::Credentials;
use crate::image::digest::Digest;
use crate::image::manifest::OCI_MANIFEST;

const REPO: &str = "lib/app";
const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#;

fn creds(username: &str, password: &str) -> Option<Credentials> {
    Some(Credentials {
        username: username.into(),
        password: password.into(),
    })
}

/// `insecure`: the server speaks plain HTTP, so the client must fall back.
fn client(server: &Server, creds: Option<Credentials>) -> RegistryClient {
    let endpoint = Endpoint {
        host: server.host.clone(),
        insecure: true,
    };
    RegistryClient::new(endpoint, REPO.into(), creds, "skiff-test")
}

fn unauthorized(challenge: String) -> Reply {
    Reply::new(401)
        .header("WWW-Authenticate", challenge)
        .header("Content-Type", "application/json")
        .body(r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#)
}

fn manifest_reply() -> Reply {
    Reply::new(200)
        .header("Content-Type", OCI_MANIFEST)
        .header("Docker-Content-Digest", Digest::of(MANIFEST).to_string())
        .body(MANIFEST)
}

/// A registry behind a token server at `/token` that issues `tok` for
/// `user:pass` (Basic), and accepts only `Bearer tok`.
fn bearer_registry() -> Server {
    let basic = "Basic dXNlcjpwYXNz";
    Server::start(move |r: &Request| {
        if r.path() == "/token" {
            return if r.header("authorization") == Some(basic) {
                Reply::new(200).body(r#"{"token":"tok","expires_in":300}"#)
            } else {
                Reply::new(401)
            };
        }
        if r.header("authorization") != Some("Bearer tok") {
            let challenge = format!(
                r#"Bearer realm="{}/token",service="test registry",scope="repository:{REPO}:pull""#,
                r.base()
            );
            return unauthorized(challenge);
        }
        match r.path() {
            "/v2/" => Reply::new(200),
            "/v2/lib/app/manifests/v1" => manifest_reply(),
            _ => Reply::new(404),
        }
    })
}

#[test]
fn bearer_challenge_then_token_then_retry() {
    let server = bearer_registry();
    let c = client(&server, creds("user", "pass"));
    let m = c.get_manifest("v1").expect("manifest");
    assert_eq!(m.bytes, MANIFEST);
    assert_eq!(m.media_type, OCI_MANIFEST);
    assert_eq!(m.digest, Digest::of(MANIFEST));
    // The token is cached: a second call costs one request, no token fetch.
    let before = server.requests().len();
    c.get_manifest("v1").expect("manifest again");
    let requests = server.requests();
    assert_eq!(requests.len(), before + 1);
    let tokens: Vec<&Request> = requests.iter().filter(|r| r.path() == "/token").collect();
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        tokens[0].target,
        "/token?service=test%20registry&scope=repository%3Alib%2Fapp%3Apull&account=user"
    );
    // The scheme probe met the challenge: no request went out without the token.
    assert!(requests
        .iter()
        .filter(|r| r.path().starts_with("/v2/lib/"))
        .all(|r| r.header("authorization") == Some("Bearer tok")));
    c.check_login().expect("login accepted");
}

#[test]
fn challenge_met_on_a_request_is_answered_and_retried() {
    // `/v2/` is open, so the scheme probe learns no challenge: the first
    // manifest request meets the 401 itself.
    let server = Server::start(|r: &Request| {
        if r.path() == "/token" {
            return Reply::new(200).body(r#"{"token":"tok"}"#);
        }
        match (r.path(), r.header("authorization")) {
            ("/v2/", _) => Reply::new(200),
            (_, Some("Bearer tok")) => manifest_reply(),
            _ => unauthorized(format!(r#"Bearer realm="{}/token""#, r.base())),
        }
    });
    let c = client(&server, None);
    c.get_manifest("v1").expect("manifest");
    let seen: Vec<(String, Option<String>)> = server
        .requests()
        .iter()
        .map(|r| {
            (
                r.target.clone(),
                r.header("authorization").map(str::to_string),
            )
        })
        .collect();
    let manifest = "/v2/lib/app/manifests/v1".to_string();
    assert_eq!(
        seen[seen.len() - 3..],
        [
            (manifest.clone(), None),
            (
                "/token?scope=repository%3Alib%2Fapp%3Apull".to_string(),
                None
            ),
            (manifest, Some("Bearer tok".to_string())),
        ]
    );
}

#[test]
fn rejected_credentials_are_an_auth_error() {
    let server = bearer_registry();
    let c = client(&server, creds("user", "wrong"));
    let err = c.get_manifest("v1").expect_err("bad password");
    assert!(matches!(err, RegistryError::Auth { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(
        err.to_string(),
        format!(
            "reading manifest v1 in {0}/lib/app: access denied: invalid username/password; try `skiff login {0}`",
            server.host
        )
    );
    let err = c.check_login().expect_err("bad password");
    assert!(err
        .to_string()
        .starts_with(&format!("pinging registry {}: access denied", server.host)));
}

#[test]
fn basic_auth_and_login() {
    let server = Server::start(|r: &Request| {
        if r.header("authorization") != Some("Basic dXNlcjpwYXNz") {
            return unauthorized(r#"Basic realm="test""#.into());
        }
        match r.path() {
            "/v2/" => Reply::new(200),
            p if p.starts_with("/v2/lib/app/blobs/") => Reply::new(200).body("layer"),
            _ => Reply::new(404),
        }
    });
    let c = client(&server, creds("user", "pass"));
    c.check_login().expect("login");
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let n = c
        .fetch_blob(&Digest::of(b"layer"), Some(5), &mut out, &mut |n| {
            seen.push(n)
        })
        .expect("blob");
    assert_eq!(
        (n, out.as_slice(), seen.as_slice()),
        (5, &b"layer"[..], &[5][..])
    );

    let anonymous = client(&server, None);
    let err = anonymous.check_login().expect_err("no credentials");
    assert!(
        matches!(err, RegistryError::Auth { ref detail, .. } if detail == "unauthorized: authentication required"),
        "{err:?}"
    );
    let wrong = client(&server, creds("user", "nope"));
    let err = wrong.check_login().expect_err("wrong password");
    assert!(
        matches!(err, RegistryError::Auth { ref detail, .. } if detail == "invalid username/password"),
        "{err:?}"
    );
}

#[test]
fn missing_manifest_is_not_found() {
    let server = Server::start(|r: &Request| match r.path() {
        "/v2/" => Reply::new(200),
        _ => Reply::new(404)
            .header("Content-Type", "application/json")
            .body(r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#),
    });
    let c = client(&server, None);
    let err = c.get_manifest("3.20").expect_err("404");
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        format!(
            "reading manifest 3.20 in {}/lib/app: manifest unknown",
            server.host
        )
    );
    assert_eq!(c.head_manifest("3.20").expect("head"), None);
}

#[test]
fn schema1_manifests_are_refused() {
    let server = Server::start(|_: &Request| {
        Reply::new(200)
            .header(
                "Content-Type",
                "application/vnd.docker.distribution.manifest.v1+prettyjws",
            )
            .body(r#"{"schemaVersion":1}"#)
    });
    let err = client(&server, None)
        .get_manifest("old")
        .expect_err("schema 1");
    assert!(
        matches!(err, RegistryError::UnsupportedMediaType { .. }),
        "{err:?}"
    );
}

#[test]
fn manifest_by_digest_is_verified() {
    let server = Server::start(|_: &Request| manifest_reply());
    let c = client(&server, None);
    let good = Digest::of(MANIFEST);
    assert_eq!(
        c.get_manifest(&good.to_string()).expect("manifest").digest,
        good
    );
    let head = c.head_manifest("v1").expect("head").expect("exists");
    assert_eq!(head.digest, Some(good));
    assert_eq!(head.size, Some(MANIFEST.len() as u64));
    let other = Digest::of(b"other");
    let err = c.get_manifest(&other.to_string()).expect_err("mismatch");
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
}

#[test]
fn corrupt_blob_is_a_digest_mismatch() {
    let server = Server::start(|_: &Request| Reply::new(200).body("evil!"));
    let c = client(&server, None);
    let mut out = Vec::new();
    let err = c
        .fetch_blob(&Digest::of(b"layer"), Some(5), &mut out, &mut |_| {})
        .expect_err("mismatch");
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    // A complete body of the wrong size is a size mismatch.
    let err = c
        .fetch_blob(&Digest::of(b"evil!"), Some(3), &mut Vec::new(), &mut |_| {})
        .expect_err("too long");
    assert!(
        matches!(err, RegistryError::SizeMismatch { expected: 3, .. }),
        "{err:?}"
    );
}

#[test]
fn truncated_blob_is_retryable() {
    let server = Server::start(|_: &Request| Reply::new(200).body(vec![7; 40]).claim_length(100));
    let c = client(&server, None);
    let err = c
        .fetch_blob(
            &Digest::of(&[7; 100]),
            Some(100),
            &mut Vec::new(),
            &mut |_| {},
        )
        .expect_err("truncated");
    assert!(
        matches!(err, RegistryError::Truncated { received: 40, .. }),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[test]
fn redirect_to_another_host_drops_authorization() {
    let cdn = Server::start(|_: &Request| Reply::new(200).body("layer"));
    let cdn_url = cdn.url();
    let layer = Digest::of(b"layer");
    let blob_path = format!("/v2/lib/app/blobs/{layer}");
    let registry = Server::start(move |r: &Request| {
        if r.header("authorization") != Some("Basic dXNlcjpwYXNz") {
            return unauthorized(r#"Basic realm="test""#.into());
        }
        if r.path() == blob_path {
            // Same origin first (keeps the credentials), then the CDN.
            Reply::new(307).header("Location", "/v2/elsewhere")
        } else if r.path() == "/v2/elsewhere" {
            Reply::new(302).header("Location", format!("{cdn_url}/blob?sig=x"))
        } else {
            Reply::new(404)
        }
    });
    let c = client(&registry, creds("user", "pass"));
    let mut out = Vec::new();
    c.fetch_blob(&layer, Some(5), &mut out, &mut |_| {})
        .expect("blob via the CDN");
    assert_eq!(out, b"layer");
    let paths: Vec<String> = registry
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert!(paths.contains(&"/v2/elsewhere".to_string()), "{paths:?}");
    let at_cdn = cdn.requests();
    assert_eq!(at_cdn.len(), 1);
    assert_eq!(at_cdn[0].target, "/blob?sig=x");
    assert_eq!(at_cdn[0].header("authorization"), None);
}

#[test]
fn verified_tls_never_falls_back_to_http() {
    // Plain HTTP on 127.0.0.1 is not implicitly insecure.
    let server = Server::start(|_: &Request| Reply::new(200));
    let endpoint = Endpoint {
        host: server.host.clone(),
        insecure: false,
    };
    let c = RegistryClient::new(endpoint, REPO.into(), None, "skiff-test");
    let err = c.check_login().expect_err("no TLS there");
    assert!(matches!(err, RegistryError::Transport { .. }), "{err:?}");
    assert!(server.requests().is_empty());
}

/// A registry that takes uploads and mounts, behind a token server that
/// hands out one token per scope set and records what was asked.
fn push_registry() -> Server {
    let upload_id = Arc::new(AtomicUsize::new(0));
    Server::start(move |r: &Request| {
        if r.path() == "/token" {
            let scope = r.target.split_once("scope=").map_or("", |(_, s)| s);
            return Reply::new(200).body(format!(r#"{{"access_token":"t-{}"}}"#, scope.len()));
        }
        if !r
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer t-"))
        {
            let challenge = format!(r#"Bearer realm="{}/token",service=reg"#, r.base());
            return unauthorized(challenge);
        }
        match (r.method.as_str(), r.path()) {
            ("POST", "/v2/lib/app/blobs/uploads/") if r.target.contains("from=lib%2Fbase") => {
                Reply::new(201)
            }
            ("POST", "/v2/lib/app/blobs/uploads/") => {
                let id = upload_id.fetch_add(1, Ordering::SeqCst);
                // Relative and absolute Locations, both with state in the query.
                let location = if id == 0 {
                    format!("/v2/lib/app/blobs/uploads/u{id}?_state=s{id}")
                } else {
                    format!("{}/v2/lib/app/blobs/uploads/u{id}?_state=s{id}", r.base())
                };
                Reply::new(202).header("Location", location)
            }
            ("PUT", p) if p.starts_with("/v2/lib/app/blobs/uploads/u") => {
                let digest = r.target.split_once("digest=").map_or("", |(_, d)| d);
                let actual = Digest::of(&r.body).to_string().replace(':', "%3A");
                if digest == actual {
                    Reply::new(201)
                } else {
                    Reply::new(400).body(r#"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}"#)
                }
            }
            ("PUT", "/v2/lib/app/manifests/v1") => {
                Reply::new(201).header("Docker-Content-Digest", Digest::of(&r.body).to_string())
            }
            _ => Reply::new(404),
        }
    })
}

#[test]
fn uploads_mounts_and_manifests() {
    let server = push_registry();
    let c = client(&server, None);
    let blob = b"some layer bytes".to_vec();
    let digest = Digest::of(&blob);
    c.upload_blob(&digest, blob.len() as u64, &mut &blob[..])
        .expect("upload with a relative Location");
    c.upload_blob(&digest, blob.len() as u64, &mut &blob[..])
        .expect("upload with an absolute Location");
    assert!(c.mount_blob("lib/base", &digest).expect("mount"));
    assert!(!c.mount_blob("lib/other", &digest).expect("declined mount"));
    let pushed = c
        .put_manifest("v1", MANIFEST, OCI_MANIFEST)
        .expect("manifest");
    assert_eq!(pushed, Digest::of(MANIFEST));

    let requests = server.requests();
    let puts: Vec<&Request> = requests
        .iter()
        .filter(|r| r.method == "PUT" && r.path().contains("/uploads/"))
        .collect();
    let targets: Vec<&str> = puts.iter().map(|r| r.target.as_str()).collect();
    let d = digest.to_string().replace(':', "%3A");
    assert_eq!(
        targets,
        [
            format!("/v2/lib/app/blobs/uploads/u0?_state=s0&digest={d}"),
            format!("/v2/lib/app/blobs/uploads/u1?_state=s1&digest={d}"),
        ]
    );
    assert!(puts
        .iter()
        .all(|r| r.body == blob && r.header("content-type") == Some("application/octet-stream")));
    let scopes: Vec<&str> = requests
        .iter()
        .filter(|r| r.path() == "/token")
        .map(|r| r.target.as_str())
        .collect();
    assert!(
        scopes.contains(&"/token?service=reg&scope=repository%3Alib%2Fapp%3Apull%2Cpush"),
        "{scopes:?}"
    );
    assert!(scopes.contains(&"/token?service=reg&scope=repository%3Alib%2Fapp%3Apull%2Cpush&scope=repository%3Alib%2Fbase%3Apull"), "{scopes:?}");
    let manifest_put = requests
        .iter()
        .find(|r| r.path() == "/v2/lib/app/manifests/v1")
        .expect("manifest PUT");
    assert_eq!(manifest_put.header("content-type"), Some(OCI_MANIFEST));
}

#[test]
fn upload_errors_name_their_cause() {
    let server = push_registry();
    let c = client(&server, None);
    let blob = b"some layer bytes".to_vec();
    let digest = Digest::of(&blob);
    // The reader ends early.
    let err = c
        .upload_blob(&digest, 100, &mut &blob[..])
        .expect_err("short reader");
    assert!(matches!(err, RegistryError::LocalRead { .. }), "{err:?}");
    // The data does not match its digest.
    let err = c
        .upload_blob(&Digest::of(b"x"), blob.len() as u64, &mut &blob[..])
        .expect_err("wrong digest");
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
    // A manifest pushed by a digest it does not have is refused locally.
    let err = c
        .put_manifest(&Digest::of(b"x").to_string(), MANIFEST, OCI_MANIFEST)
        .expect_err("wrong digest");
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
}
