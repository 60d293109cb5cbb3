//! A bearer-token server for the registry's `auth: token` mode, the flow
//! Docker Hub and most hosted registries use: the registry answers 401 with
//! `WWW-Authenticate: Bearer realm=...,service=...,scope=...`; the client asks
//! the realm for a token (HTTP Basic credentials on GET, or an OAuth2 password
//! or refresh-token grant on POST) and retries with `Authorization: Bearer`.
//!
//! Tokens are JWTs signed RS256 with a key made by the `openssl` CLI at start.
//! The self-signed certificate of that key is the registry's
//! `rootcertbundle`, and travels in each token's `x5c` header: distribution
//! verifies the chain against its roots and then the signature. See
//! <https://distribution.github.io/distribution/spec/auth/token/> and
//! `registry/auth/token/token.go` in distribution.

use std::ffi::OsString;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;

use super::http::{parse_form, respond, Request};

/// The `service` the registry names in its challenge (the token's audience).
pub const SERVICE: &str = "skiff-test-registry";
/// The token issuer the registry trusts.
pub const ISSUER: &str = "skiff-test-token-issuer";
/// Token lifetime in seconds.
const LIFETIME: u64 = 300;

/// One request the token server answered, for tests to assert on what a
/// client asked for.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub method: String,
    /// The user named by the credentials, if any were sent.
    pub account: Option<String>,
    /// Requested scopes, e.g. `repository:skiff-test/busybox:pull`.
    pub scopes: Vec<String>,
    /// HTTP status of the answer (200 token, 401 bad credentials, ...).
    pub status: u16,
}

/// A signing key and its self-signed certificate, made by `openssl`.
struct Key {
    key_pem: PathBuf,
    cert_pem: PathBuf,
    /// The certificate in DER, base64 (standard alphabet), for `x5c`.
    cert_b64: String,
}

impl Key {
    fn generate(dir: &Path, name: &str) -> Key {
        let key_pem = dir.join(format!("{name}.key"));
        let cert_pem = dir.join(format!("{name}.crt"));
        let mut req = words(
            "req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
             -subj /CN=skiff-test-token-issuer -keyout",
        );
        req.extend([
            key_pem.clone().into(),
            "-out".into(),
            cert_pem.clone().into(),
        ]);
        openssl(&req, None);
        let mut x509 = words("x509 -outform DER -in");
        x509.push(cert_pem.clone().into());
        let der = openssl(&x509, None);
        Key {
            key_pem,
            cert_pem,
            cert_b64: STANDARD.encode(der),
        }
    }

    /// RS256: RSASSA-PKCS1-v1_5 with SHA-256, which `openssl dgst -sign` makes.
    fn sign(&self, input: &[u8]) -> Vec<u8> {
        let mut args = words("dgst -sha256 -sign");
        args.push(self.key_pem.clone().into());
        openssl(&args, Some(input))
    }
}

fn words(s: &str) -> Vec<OsString> {
    s.split_whitespace().map(OsString::from).collect()
}

/// Run `openssl ARGS...` with `stdin`; its stdout, or a panic with its stderr.
fn openssl(args: &[OsString], stdin: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl (Debian package openssl)");
    if let Some(data) = stdin {
        // Small inputs: the write completes before openssl produces output.
        let mut pipe = child.stdin.take().expect("stdin was piped");
        pipe.write_all(data).expect("write to openssl");
    }
    let out = child.wait_with_output().expect("wait for openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

struct Shared {
    user: String,
    pass: String,
    key: Key,
    /// A key the registry does not trust, made on first use.
    untrusted: Mutex<Option<Key>>,
    dir: PathBuf,
    available: AtomicBool,
    stop: AtomicBool,
    serial: AtomicU64,
    requests: Mutex<Vec<TokenRequest>>,
}

/// The token server: a thread serving `http://127.0.0.1:PORT/token`, stopped
/// when dropped.
pub struct TokenServer {
    addr: String,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl TokenServer {
    /// Start serving tokens to `user`/`pass`; key files go into `dir`.
    pub fn start(dir: &Path, user: &str, pass: &str) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the token server");
        let addr = listener
            .local_addr()
            .expect("token server address")
            .to_string();
        let shared = Arc::new(Shared {
            user: user.to_owned(),
            pass: pass.to_owned(),
            key: Key::generate(dir, "token"),
            untrusted: Mutex::new(None),
            dir: dir.to_owned(),
            available: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            serial: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("token-server".into())
            .spawn(move || serve(listener, s))
            .expect("start the token server thread");
        TokenServer {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// "127.0.0.1:PORT".
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The realm URL the registry sends clients to.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// The certificate the registry trusts (its `rootcertbundle`).
    pub fn cert_path(&self) -> &Path {
        &self.shared.key.cert_pem
    }

    /// While unavailable, every token request gets 503: proves a client
    /// really depends on the token server.
    pub fn set_available(&self, available: bool) {
        self.shared.available.store(available, Ordering::SeqCst);
    }

    /// Requests answered so far, oldest first.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.shared
            .requests
            .lock()
            .expect("token request log lock")
            .clone()
    }

    /// A valid token for the configured user granting `scopes`
    /// (`repository:NAME:pull,push`), for raw HTTP requests in tests.
    pub fn issue(&self, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        mint(&self.shared, &self.shared.key, &self.shared.user, &scopes)
    }

    /// The same token as [`Self::issue`], signed by a key the registry does
    /// not trust; the registry must reject it.
    pub fn issue_untrusted(&self, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let mut guard = self.shared.untrusted.lock().expect("untrusted key lock");
        let key = guard.get_or_insert_with(|| Key::generate(&self.shared.dir, "untrusted"));
        mint(&self.shared, key, &self.shared.user, &scopes)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect(&self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let s = Arc::clone(&shared);
        std::thread::spawn(move || {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            if let Ok(req) = Request::read(&stream) {
                let _ = handle(&s, &stream, &req);
            }
        });
    }
}

fn handle(shared: &Shared, stream: &TcpStream, req: &Request) -> std::io::Result<()> {
    if req.path != "/token" {
        return respond(stream, 404, &[], b"not found\n");
    }
    let post = req.method == "POST";
    let params = if post {
        parse_form(&String::from_utf8_lossy(&req.body))
    } else {
        req.query.clone()
    };
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // Several `scope` parameters, each possibly holding several scopes.
    let scopes: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split_whitespace().map(str::to_owned))
        .collect();
    let creds = if post {
        match param("grant_type") {
            Some("password") => Some((
                param("username").unwrap_or_default().to_owned(),
                param("password").unwrap_or_default().to_owned(),
            )),
            Some("refresh_token") => Some(
                if param("refresh_token") == Some(refresh_token(&shared.user).as_str()) {
                    (shared.user.clone(), shared.pass.clone())
                } else {
                    (String::new(), String::new())
                },
            ),
            _ => None,
        }
    } else {
        req.header("authorization").and_then(basic_credentials)
    };
    let status = if !shared.available.load(Ordering::SeqCst) {
        503
    } else if param("service").is_some_and(|s| s != SERVICE) || (post && creds.is_none()) {
        // an unknown service, or a POST without a grant we support
        400
    } else if creds
        .as_ref()
        .is_some_and(|(u, p)| *u != shared.user || *p != shared.pass)
    {
        401
    } else {
        200
    };
    shared
        .requests
        .lock()
        .expect("token request log lock")
        .push(TokenRequest {
            method: req.method.clone(),
            account: creds.as_ref().map(|(u, _)| u.clone()),
            scopes: scopes.clone(),
            status,
        });
    match status {
        200 => {}
        401 => {
            let body = json!({"errors": [{"code": "UNAUTHORIZED",
                "message": "invalid username or password"}]});
            return respond(
                stream,
                401,
                &[
                    ("Content-Type", "application/json"),
                    ("WWW-Authenticate", "Basic realm=\"skiff-test-token\""),
                ],
                body.to_string().as_bytes(),
            );
        }
        _ => return respond(stream, status, &[], b"token request refused\n"),
    }
    // Anonymous requests get a token that grants nothing, as public
    // registries do for private repositories.
    let authenticated = creds.is_some();
    let granted = if authenticated { scopes } else { Vec::new() };
    let subject = if authenticated {
        shared.user.as_str()
    } else {
        ""
    };
    let token = mint(shared, &shared.key, subject, &granted);
    let mut body = json!({
        "token": token,
        "access_token": token,
        "expires_in": LIFETIME,
        "issued_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if authenticated && (post || param("offline_token") == Some("true")) {
        body["refresh_token"] = json!(refresh_token(&shared.user));
    }
    respond(
        stream,
        200,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

fn refresh_token(user: &str) -> String {
    format!("skiff-test-refresh-{user}")
}

/// `Basic BASE64(user:pass)` -> (user, pass).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(value.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

/// `repository:skiff-test/busybox:pull,push` -> the token's access entry.
fn access_entry(scope: &str) -> Option<serde_json::Value> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
    Some(json!({"type": kind, "name": name, "actions": actions}))
}

fn mint(shared: &Shared, key: &Key, subject: &str, scopes: &[String]) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let serial = shared.serial.fetch_add(1, Ordering::SeqCst);
    let header = json!({"typ": "JWT", "alg": "RS256", "x5c": [key.cert_b64]});
    let claims = json!({
        "iss": ISSUER,
        "sub": subject,
        "aud": SERVICE,
        "exp": now + LIFETIME,
        "nbf": now - 1,
        "iat": now,
        "jti": format!("skiff-test-{now}-{serial}"),
        "access": scopes.iter().filter_map(|s| access_entry(s)).collect::<Vec<_>>(),
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}
