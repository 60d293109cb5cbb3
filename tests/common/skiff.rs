//! Running the `skiff` binary as a user would, but isolated: its own `--root`
//! and `--runroot`, HOME, XDG directories, auth file and registries.conf in a
//! scratch directory, so tests run in parallel and leave nothing behind.

use std::cell::RefCell;
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::command::{Cmd, Output};
use super::registry::Registry;
use super::tools::{is_root, keep_scratch, remove_tree, scratch_dir};

/// Variables passed through from the test's environment; everything else is
/// cleared so the host's configuration cannot leak in.
const PASSTHROUGH: &[&str] = &[
    "PATH",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "RUST_BACKTRACE",
    "RUST_LOG",
    "CI",
];

/// One isolated skiff installation. Dropping it removes containers and pods
/// it still has (best effort), unmounts what is left, and deletes its files.
pub struct Skiff {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    registries: RefCell<Vec<String>>,
    env: Vec<(OsString, OsString)>,
    /// The process holding the private "host" network and mount
    /// namespaces every skiff command runs in (see `enter_private_host`).
    host: Option<std::process::Child>,
}

impl Default for Skiff {
    fn default() -> Self {
        Skiff::new()
    }
}

impl Skiff {
    /// The binary under test: `$SKIFF_BIN`, else the one cargo built for
    /// this test crate.
    pub fn bin() -> PathBuf {
        std::env::var_os("SKIFF_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_skiff")))
    }

    /// A fresh installation with no registries configured (short names do not
    /// resolve anywhere, so nothing leaves the machine).
    pub fn new() -> Skiff {
        let dir = scratch_dir("t");
        let path = dir.path().to_owned();
        for sub in [
            "root",
            "runroot",
            "home/.config",
            "home/.local/share",
            "home/.cache",
            "home/.local/state",
            "tmp",
            "podman/root",
            "podman/runroot",
        ] {
            std::fs::create_dir_all(path.join(sub)).expect("create test directories");
        }
        // skiff says once per run directory that rootless containers run
        // without limits (where they must); tests compare stderr, so it is
        // said already (tests/containers.rs checks the saying).
        std::fs::write(path.join("runroot/no-cgroups-warned"), "").expect("write marker");
        // XDG_RUNTIME_DIR must be private to its user.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(path.join("xdg-run"))
            .expect("create XDG_RUNTIME_DIR");
        // SKIFF_TEST_RUNTIME: the OCI runtime every container of the pass
        // uses (contrib/test.sh runs the container suites once per runtime).
        let runtime = match std::env::var("SKIFF_TEST_RUNTIME") {
            Ok(rt) if !rt.is_empty() => format!("[engine]\nruntime = \"{rt}\"\n"),
            _ => String::new(),
        };
        // Containers get no network unless a test asks for one: the
        // default (a bridge for root, pasta otherwise) is for the network
        // tests, which give root a private "host" to build bridges in.
        let conf = format!("[containers]\nnetns = \"none\"\n{runtime}");
        std::fs::write(path.join("containers.conf"), conf).expect("write containers.conf");
        std::fs::write(
            path.join("storage.conf"),
            format!(
                "# for reference runs of podman with the same environment\n\
                 [storage]\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                path.join("podman/root").display(),
                path.join("podman/runroot").display()
            ),
        )
        .expect("write storage.conf");
        let s = Skiff {
            dir: Some(dir),
            path,
            registries: RefCell::new(Vec::new()),
            env: Vec::new(),
            host: None,
        };
        s.write_registries_conf(&registries_conf(&[]));
        s
    }

    /// A fresh installation that resolves `skiff-test/NAME` short names to
    /// `reg` (plain HTTP) and holds its credentials, if any, in the auth file.
    pub fn with_registry(reg: &Registry) -> Skiff {
        let s = Skiff::new();
        s.use_registry(reg);
        if reg.auth().credentials().is_some() {
            s.store_credentials(reg);
        }
        s
    }

    /// Add `reg` to the short-name search list (after earlier ones) and mark
    /// it insecure (plain HTTP).
    pub fn use_registry(&self, reg: &Registry) {
        self.registries.borrow_mut().push(reg.addr().to_owned());
        self.write_registries_conf(&registries_conf(&self.registries.borrow()));
    }

    /// Replace registries.conf with `text` (v2 TOML format).
    pub fn write_registries_conf(&self, text: &str) {
        std::fs::write(self.registries_conf(), text).expect("write registries.conf");
    }

    /// Record `reg`'s credentials in the auth file, as `skiff login` would.
    pub fn store_credentials(&self, reg: &Registry) {
        let (user, pass) = reg
            .auth()
            .credentials()
            .expect("the registry has credentials");
        let file = self.auth_file();
        let mut json: serde_json::Value = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| serde_json::json!({"auths": {}}));
        json["auths"][reg.addr()] =
            serde_json::json!({"auth": STANDARD.encode(format!("{user}:{pass}"))});
        std::fs::write(&file, json.to_string()).expect("write auth file");
    }

    /// Set a variable for every later command of this installation.
    pub fn set_env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
    }

    /// `skiff --root R --runroot RR ARGS...`, to be adjusted and run.
    pub fn cmd<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd_via(&[], args)
    }

    /// [`Skiff::cmd`], with `skiff` started by `wrapper`: a program and its
    /// options (`setsid --ctty`, say).
    pub fn cmd_via<I, S>(&self, wrapper: &[&str], args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = match (wrapper.split_first(), self.host_pid()) {
            (Some((program, options)), None) => {
                self.program(program).args(options).arg(Skiff::bin())
            }
            (None, None) => self.program(Skiff::bin()),
            (wrapped, Some(_)) => {
                let mut c = self.in_host(
                    wrapped.map_or(Skiff::bin().into_os_string(), |(p, _)| OsString::from(p)),
                );
                if let Some((_, options)) = wrapped {
                    c = c.args(options).arg(Skiff::bin());
                }
                c
            }
        };
        cmd = cmd
            .arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot());
        if let Some(driver) = std::env::var_os("SKIFF_TEST_STORAGE_DRIVER") {
            cmd = cmd.arg("--storage-driver").arg(driver);
        }
        cmd.args(args)
    }

    /// Run `skiff ARGS...` to completion.
    #[track_caller]
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd(args).run()
    }

    /// Any program (podman, skopeo, sh) in this installation's environment,
    /// with no global flags added.
    pub fn program(&self, program: impl AsRef<OsStr>) -> Cmd {
        let p = &self.path;
        let home = p.join("home");
        let mut cmd = Command::new(program);
        cmd.env_clear().current_dir(p);
        for key in PASSTHROUGH {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_RUNTIME_DIR", p.join("xdg-run"))
            .env("TMPDIR", p.join("tmp"))
            .env("REGISTRY_AUTH_FILE", self.auth_file())
            .env("CONTAINERS_REGISTRIES_CONF", self.registries_conf())
            .env("CONTAINERS_CONF", p.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", p.join("storage.conf"))
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        Cmd::from_command(cmd)
    }

    /// Run every later command of this installation in a private network
    /// and mount namespace, a "host" of the test's own (root): bridges,
    /// firewall rules and addresses skiff makes stay there and die with
    /// it, and the machine's own network is never touched. Images must be
    /// pulled before (the test registry listens on the real loopback).
    pub fn enter_private_host(&mut self) {
        assert!(is_root(), "a private host needs root");
        let ready = self.path.join("host-ready");
        let mut cmd = super::tools::tied_command("unshare");
        cmd.args([
            "--net",
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
        ])
        .arg(format!(
            "ip link set lo up && touch {} && exec sleep infinity",
            ready.display()
        ))
        .stdin(std::process::Stdio::null());
        let child = cmd.spawn().expect("start the private host");
        self.host = Some(child);
        for _ in 0..400 {
            if ready.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("the private host did not come up");
    }

    /// The pid holding the private host, once entered.
    pub fn host_pid(&self) -> Option<u32> {
        self.host.as_ref().map(|c| c.id())
    }

    /// `program` in this installation's environment, inside the private
    /// host when there is one.
    pub fn in_host(&self, program: impl AsRef<OsStr>) -> Cmd {
        match self.host_pid() {
            Some(pid) => self
                .program("nsenter")
                .arg("-t")
                .arg(pid.to_string())
                .args(["-n", "-m"])
                .arg(format!("--wd={}", self.path.display()))
                .arg("--")
                .arg(program),
            None => self.program(program),
        }
    }

    /// What skiff left in the private host: links other than lo,
    /// addresses other than loopback's, routes, and its firewall table.
    pub fn host_leftovers(&self) -> Vec<String> {
        if self.host_pid().is_none() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let links = self.in_host("ip").args(["-o", "link", "show"]).run().ok();
        out.extend(
            links
                .lines()
                .filter(|l| !l.contains(": lo:"))
                .map(|l| format!("link: {l}")),
        );
        let addrs = self.in_host("ip").args(["-o", "addr", "show"]).run().ok();
        out.extend(
            addrs
                .lines()
                .filter(|l| !l.contains(": lo "))
                .map(|l| format!("address: {l}")),
        );
        let routes = self.in_host("ip").args(["route", "show"]).run().ok();
        out.extend(routes.lines().map(|l| format!("route: {l}")));
        if let Some(Ok(o)) = super::tools::find_tool("nft")
            .map(|nft| self.in_host(nft).args(["list", "ruleset"]).try_run())
        {
            if o.stdout().contains("skiff") {
                out.push(format!("nft: {}", o.stdout()));
            }
        }
        out
    }

    /// Replace containers.conf (keeping the pass's runtime).
    pub fn write_containers_conf(&self, text: &str) {
        let runtime = match std::env::var("SKIFF_TEST_RUNTIME") {
            Ok(rt) if !rt.is_empty() => format!("[engine]\nruntime = \"{rt}\"\n"),
            _ => String::new(),
        };
        std::fs::write(
            self.path.join("containers.conf"),
            format!("{text}{runtime}"),
        )
        .expect("write containers.conf");
    }

    /// The scratch directory holding everything of this installation.
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// `--root`: persistent storage.
    pub fn root(&self) -> PathBuf {
        self.path.join("root")
    }

    /// `--runroot`: run state.
    pub fn runroot(&self) -> PathBuf {
        self.path.join("runroot")
    }

    /// `$HOME` of the commands.
    pub fn home(&self) -> PathBuf {
        self.path.join("home")
    }

    /// `$REGISTRY_AUTH_FILE`.
    pub fn auth_file(&self) -> PathBuf {
        self.path.join("auth.json")
    }

    /// `$CONTAINERS_REGISTRIES_CONF`.
    pub fn registries_conf(&self) -> PathBuf {
        self.path.join("registries.conf")
    }

    /// Best-effort teardown of what tests left running (quietly, bounded).
    fn remove_leftovers(&self) {
        let used = std::fs::read_dir(self.root()).is_ok_and(|mut d| d.next().is_some());
        if !used {
            return;
        }
        for args in [
            ["pod", "rm", "--all", "--force", "--time", "0"].as_slice(),
            ["rm", "--all", "--force", "--time", "0"].as_slice(),
        ] {
            // The command may not exist yet or may fail: teardown goes on.
            let _ = self.cmd(args).timeout(Duration::from_secs(60)).try_run();
        }
    }
}

impl Drop for Skiff {
    fn drop(&mut self) {
        if keep_scratch() {
            if let Some(dir) = self.dir.take() {
                eprintln!("keeping skiff test directory {}", dir.keep().display());
            }
            return;
        }
        // Read now: the run directory goes below.
        let pause = self.pause_pid();
        self.remove_leftovers();
        if let Some(mut host) = self.host.take() {
            let _ = host.kill();
            let _ = host.wait();
        }
        if is_root() {
            unmount_below(&self.path);
        }
        let Some(dir) = self.dir.take() else { return };
        let path = dir.keep();
        if remove_tree(&path).is_err() && !is_root() {
            // Files owned by subordinate ids: remove them inside the user
            // namespace, as `podman unshare` would.
            let _ = self
                .cmd(["unshare", "rm", "-rf"])
                .arg(self.root())
                .arg(self.runroot())
                .timeout(Duration::from_secs(60))
                .try_run();
        }
        if let Some(pid) = pause.or_else(|| self.pause_pid()) {
            stop_pause_process(pid);
        }
        if let Err(e) = remove_tree(&path) {
            eprintln!("warning: cannot remove {}: {e}", path.display());
        }
    }
}

impl Skiff {
    /// The process holding this installation's rootless user namespace,
    /// if one was started.
    pub fn pause_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.runroot().join("pause.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// End a rootless user namespace (its pause process), as the end of a
/// login session would.
fn stop_pause_process(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    );
}

/// registries.conf resolving short names through `addrs` (plain HTTP).
fn registries_conf(addrs: &[String]) -> String {
    let search: Vec<String> = addrs.iter().map(|a| format!("\"{a}\"")).collect();
    let mut text = format!(
        "# written by the skiff test harness\n\
         unqualified-search-registries = [{}]\n\
         short-name-mode = \"permissive\"\n",
        search.join(", ")
    );
    for a in addrs {
        text.push_str(&format!(
            "\n[[registry]]\nlocation = \"{a}\"\ninsecure = true\n"
        ));
    }
    text
}

/// Detach every mount at or below `dir`, deepest first.
fn unmount_below(dir: &Path) {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape_mountinfo(p)))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    for p in points {
        let _ = nix::mount::umount2(&p, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 4);
        match code.and_then(|c| u8::from_str_radix(c, 8).ok()) {
            Some(b) => {
                out.push(b as char);
                rest = &rest[i + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}
