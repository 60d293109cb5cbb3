//! A real registry for a test: Debian's `docker-registry` (distribution v2) on
//! a free 127.0.0.1 port, plain HTTP, filesystem storage in a scratch
//! directory, with no auth, htpasswd basic auth, or bearer tokens.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::command::Cmd;
use super::fixtures::{skopeo, NAMESPACE};
use super::http::{http_request, HttpResponse};
use super::token::{TokenServer, ISSUER, SERVICE};
use super::tools::{
    keep_scratch, process_alive, require_tools, scratch_dir, scratch_dir_base, spawn_tied,
    tied_command,
};

/// How the registry authenticates clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Anyone may pull and push.
    None,
    /// HTTP Basic against an htpasswd (bcrypt) file.
    Basic { user: String, pass: String },
    /// Bearer tokens from a [`TokenServer`] that accepts these credentials.
    Token { user: String, pass: String },
}

impl Auth {
    pub fn basic(user: &str, pass: &str) -> Auth {
        Auth::Basic {
            user: user.to_owned(),
            pass: pass.to_owned(),
        }
    }

    pub fn token(user: &str, pass: &str) -> Auth {
        Auth::Token {
            user: user.to_owned(),
            pass: pass.to_owned(),
        }
    }

    /// (user, password), unless anonymous.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        match self {
            Auth::None => None,
            Auth::Basic { user, pass } | Auth::Token { user, pass } => Some((user, pass)),
        }
    }
}

/// A running registry; dropping it kills the process and removes its storage.
pub struct Registry {
    addr: String,
    auth: Auth,
    child: Child,
    token: Option<TokenServer>,
    dir: Option<tempfile::TempDir>,
}

impl Registry {
    /// Whether the tools to start a registry with `auth` are installed
    /// (skips the test otherwise, fails under `CI=true`).
    pub fn can_start(auth: &Auth) -> bool {
        match auth {
            Auth::None => require_tools(&["docker-registry"]),
            Auth::Basic { .. } => require_tools(&["docker-registry", "htpasswd"]),
            Auth::Token { .. } => require_tools(&["docker-registry", "openssl"]),
        }
    }

    /// Start a registry and wait until `/v2/` answers. Panics with the
    /// registry's log if it does not come up.
    #[track_caller]
    pub fn start(auth: Auth) -> Registry {
        remove_stale_registries();
        let dir = scratch_dir("registry");
        let root = dir.path();
        fs::create_dir(root.join("data")).expect("create registry storage");
        let mut token = None;
        let auth_section = match &auth {
            Auth::None => String::new(),
            Auth::Basic { user, pass } => {
                let line = Cmd::new("htpasswd").args(["-Bbn", user, pass]).run().ok();
                let path = root.join("htpasswd");
                fs::write(&path, line.trim_end()).expect("write htpasswd");
                format!(
                    "auth:\n  htpasswd:\n    realm: skiff-test\n    path: \"{}\"\n",
                    path.display()
                )
            }
            Auth::Token { user, pass } => {
                let server = TokenServer::start(root, user, pass);
                let section = format!(
                    "auth:\n  token:\n    realm: \"{}\"\n    service: {SERVICE}\n    \
                     issuer: {ISSUER}\n    rootcertbundle: \"{}\"\n",
                    server.realm(),
                    server.cert_path().display()
                );
                token = Some(server);
                section
            }
        };
        let log_path = root.join("registry.log");
        // A port picked now may be taken before the registry binds it: retry.
        for _ in 0..5 {
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            let config = root.join("config.yml");
            fs::write(
                &config,
                format!(
                    "version: 0.1\n\
                     log:\n  level: info\n  fields:\n    service: skiff-test-registry\n\
                     storage:\n  filesystem:\n    rootdirectory: \"{}\"\n  \
                     delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      \
                     enabled: false\n\
                     http:\n  addr: {addr}\n  secret: skiff-test-secret\n  \
                     headers:\n    X-Content-Type-Options: [nosniff]\n\
                     {auth_section}",
                    root.join("data").display()
                ),
            )
            .expect("write registry config");
            let log = fs::File::create(&log_path).expect("create registry log");
            let mut cmd = tied_command("docker-registry");
            // REGISTRY_* variables would override the configuration file.
            cmd.env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup registry log"))
                .stderr(log);
            let child = spawn_tied(cmd).expect("start docker-registry");
            fs::write(root.join(PID_FILE), child.id().to_string()).expect("write pid file");
            let mut reg = Registry {
                addr,
                auth: auth.clone(),
                child,
                token: None,
                dir: None,
            };
            match reg.wait_ready() {
                Ok(()) => {
                    reg.token = token;
                    reg.dir = Some(dir);
                    return reg;
                }
                Err(ready) => {
                    let log = fs::read_to_string(&log_path).unwrap_or_default();
                    if ready == Ready::Exited && log.contains("address already in use") {
                        continue;
                    }
                    panic!(
                        "registry on {} did not come up ({ready:?}):\n{log}",
                        reg.addr
                    );
                }
            }
        }
        panic!("registry could not bind a free port in 5 tries");
    }

    fn wait_ready(&mut self) -> Result<(), Ready> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return Err(Ready::Exited);
            }
            if let Ok(r) = http_request(&self.addr, "GET", "/v2/", &[], b"") {
                if r.status == 200 || r.status == 401 {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(Ready::TimedOut)
    }

    /// "127.0.0.1:PORT".
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// "http://127.0.0.1:PORT".
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// "user:pass" for `--creds`, unless anonymous.
    pub fn creds(&self) -> Option<String> {
        self.auth.credentials().map(|(u, p)| format!("{u}:{p}"))
    }

    /// The token server (token auth only).
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token.as_ref()
    }

    /// "127.0.0.1:PORT/skiff-test/NAME[:TAG]": a fixture's place here.
    pub fn reference(&self, name: &str) -> String {
        format!("{}/{NAMESPACE}/{name}", self.addr)
    }

    /// The registry's storage directory.
    pub fn storage_dir(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// The registry's log so far (access log included).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("registry.log")).unwrap_or_default()
    }

    fn dir(&self) -> &std::path::Path {
        self.dir.as_ref().expect("set once started").path()
    }

    /// A raw GET of `path` (e.g. `/v2/skiff-test/busybox/manifests/latest`),
    /// authenticated as the configured user: Basic, or a bearer token for
    /// the repository named in the path (pull), or the catalog.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        let auth = match &self.auth {
            Auth::None => None,
            Auth::Basic { user, pass } => Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{user}:{pass}"))
            )),
            Auth::Token { .. } => {
                let token = self.token.as_ref().expect("token auth has a server");
                Some(format!("Bearer {}", token.issue(&[&scope_for(path)])))
            }
        };
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = &auth {
            all.push(("Authorization", a));
        }
        http_request(&self.addr, "GET", path, &all, b"")
            .unwrap_or_else(|e| panic!("GET {path} from {}: {e}", self.addr))
    }

    /// `skopeo inspect` of `NAME[:TAG]` in the fixtures' namespace (the
    /// image config summary as JSON), with this registry's credentials.
    #[track_caller]
    pub fn inspect(&self, name: &str) -> serde_json::Value {
        let mut cmd = skopeo().args(["inspect", "--tls-verify=false"]);
        if let Some(c) = self.creds() {
            cmd = cmd.args(["--creds", &c]);
        }
        let out = cmd
            .arg(format!("docker://{}", self.reference(name)))
            .run()
            .ok();
        serde_json::from_str(&out).expect("skopeo inspect prints JSON")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if keep_scratch() {
            if let Some(dir) = self.dir.take() {
                eprintln!("keeping registry directory {}", dir.keep().display());
            }
        }
    }
}

/// Names the registry process in its directory, for [`remove_stale_registries`].
const PID_FILE: &str = "registry.pid";

/// Remove registry directories of earlier test processes whose registry is
/// gone. A registry kept in a `static` is never dropped: its process dies
/// with the test process (parent-death signal), but its directory stays.
fn remove_stale_registries() {
    use std::os::unix::fs::MetadataExt;
    let base = scratch_dir_base();
    let Ok(entries) = fs::read_dir(&base) else {
        return;
    };
    let euid = nix::unistd::geteuid().as_raw();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let Ok(meta) = entry.metadata() else { continue };
        if !name.to_string_lossy().starts_with("skiff-registry-")
            || !meta.is_dir()
            || meta.uid() != euid
        {
            continue;
        }
        let stale = match fs::read_to_string(path.join(PID_FILE)) {
            // Its registry runs as long as the process serves this directory.
            Ok(pid) => !pid.trim().parse().is_ok_and(|pid: u32| {
                process_alive(pid)
                    && fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                        String::from_utf8_lossy(&c).contains(&*path.to_string_lossy())
                    })
            }),
            // No pid yet: starting right now, or left by a crash long ago.
            Err(_) => meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(600)),
        };
        if stale {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ready {
    Exited,
    TimedOut,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port on 127.0.0.1")
        .port()
}

/// The token scope a registry API path needs for reading.
fn scope_for(path: &str) -> String {
    let p = path.split('?').next().unwrap_or(path);
    if p.starts_with("/v2/_catalog") {
        return "registry:catalog:*".to_owned();
    }
    let rest = p.trim_start_matches("/v2/");
    for marker in ["/manifests/", "/blobs/", "/tags/"] {
        if let Some((name, _)) = rest.split_once(marker) {
            return format!("repository:{name}:pull");
        }
    }
    String::new()
}
