//! Helpers for the tests that run containers: the readiness check (tools,
//! root until the rootless milestone), an installation with the busybox
//! fixture pulled, polling, and what a test must not leave behind.

use std::sync::OnceLock;
use std::time::Duration;

use super::fixtures::{fixture_tools_present, fixtures};
use super::registry::{Auth, Registry};
use super::skiff::Skiff;
use super::tools::{is_root, process_alive, require_tools, skip};

/// Whether container tests can run here; prints why not otherwise.
/// `extra` names tools a test file needs beyond the common ones.
pub fn containers_ready(extra: &[&str]) -> bool {
    let mut tools = vec!["docker-registry", "skopeo", "jq", "runc"];
    tools.extend_from_slice(extra);
    require_tools(&tools) && fixture_tools_present()
}

/// `container inspect --format FORMAT NAME`, trimmed.
#[track_caller]
pub fn inspect_container(s: &Skiff, name: &str, format: &str) -> String {
    s.run(["container", "inspect", "--format", format, name])
        .ok()
        .trim()
        .to_string()
}

/// Whether containers get cgroups here: always as root; as a normal user
/// only with a delegated cgroup v2 subtree (systemd user session).
pub fn cgroups_usable() -> bool {
    use std::os::unix::fs::MetadataExt;
    if is_root() {
        return true;
    }
    let v2 = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
        return false;
    };
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let controllers = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    v2 && std::fs::metadata(&dir).is_ok_and(|m| m.uid() == nix::unistd::getuid().as_raw())
        && controllers.contains("memory")
        && controllers.contains("pids")
}

/// The error skiff gives for what needs a cgroup where there is none.
pub const NO_CGROUP: &str = "rootless containers have none here";

/// One open registry with the busybox fixture, shared by a test binary.
pub fn busybox_registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        let reg = Registry::start(Auth::None);
        fixtures().push(&reg, "busybox");
        reg
    })
}

/// A fresh installation with `skiff-test/busybox` pulled.
pub fn busybox_skiff() -> Skiff {
    let s = Skiff::with_registry(busybox_registry());
    s.run(["pull", "-q", "skiff-test/busybox"]).ok();
    s
}

/// Poll `f` until it holds (generous: CI machines are small and shared).
#[track_caller]
pub fn wait_for<F: FnMut() -> bool>(mut f: F, what: &str) {
    for _ in 0..600 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// Mounts under this installation's directories.
pub fn mounts_of(s: &Skiff) -> Vec<String> {
    let dir = s.dir().display().to_string();
    // A rootless installation mounts inside its own mount namespace, the
    // one its pause process holds.
    let table = match s.pause_pid() {
        Some(pid) => format!("/proc/{pid}/mountinfo"),
        None => "/proc/self/mountinfo".to_string(),
    };
    std::fs::read_to_string(table)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| m.starts_with(&dir))
        .map(str::to_string)
        .collect()
}

/// Live (not zombie) processes whose command line names this
/// installation's directories: monitors, runtimes, cleanups.
pub fn processes_of(s: &Skiff) -> Vec<String> {
    let dir = s.dir().display().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(&dir) && process_alive(pid) {
            out.push(format!("{pid}: {cmd}"));
        }
    }
    out
}

/// `run -d --name NAME FLAGS... skiff-test/busybox` running a busybox
/// httpd on port 80 that serves "hello from NAME".
pub fn run_web(s: &Skiff, name: &str, flags: &[&str]) {
    let script = format!(
        "mkdir -p /www && echo hello from {name} > /www/index.html && exec httpd -f -p 80 -h /www"
    );
    let mut argv = vec!["run", "-d", "--name", name];
    argv.extend_from_slice(flags);
    argv.extend(["skiff-test/busybox", "sh", "-c", &script]);
    s.run(argv).ok();
}

/// GET /index.html from 127.0.0.1:port, retried until a 200 answer comes
/// (at most 10 s); the whole answer, headers included.
pub fn fetch_local(port: u16) -> String {
    use std::io::{Read, Write};
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = (|| -> std::io::Result<String> {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(b"GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok(out)
        })();
        match got {
            Ok(text) if text.starts_with("HTTP/1.") && text.contains(" 200 ") => return text,
            other if std::time::Instant::now() > deadline => {
                panic!("no HTTP answer on 127.0.0.1:{port}: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Whether a user-mode network helper (`tool`, from Debian package
/// `package`) can run here; prints why not otherwise.
pub fn user_net_ready(tool: &str, package: &str) -> bool {
    if !containers_ready(&[]) {
        return false;
    }
    if super::tools::find_tool(tool).is_none() {
        if super::tools::in_ci() {
            panic!("{tool} is not installed (Debian package {package}; see .ci/run)");
        }
        skip(&format!(
            "{tool} is not installed (Debian package {package})"
        ));
        return false;
    }
    if nix::unistd::access(
        "/dev/net/tun",
        nix::unistd::AccessFlags::R_OK | nix::unistd::AccessFlags::W_OK,
    )
    .is_err()
    {
        skip("/dev/net/tun is not readable and writable here");
        return false;
    }
    true
}

/// SIGKILL the monitor of container `name` and wait until it is gone.
pub fn kill_monitor(s: &Skiff, name: &str) {
    let monitor: i32 = inspect_container(s, name, "{{.State.ConmonPid}}")
        .parse()
        .expect("monitor pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill the monitor");
    wait_for(|| !process_alive(monitor as u32), "the monitor to die");
}

/// A static program for the busybox image, built from C `source` with the
/// C compiler into the test's directory; None when there is no compiler
/// with a static libc.
pub fn static_c_program(s: &Skiff, name: &str, source: &str) -> Option<std::path::PathBuf> {
    let cc = super::tools::find_tool("cc")?;
    let src = s.dir().join(format!("{name}.c"));
    std::fs::write(&src, source).expect("write the C source");
    let bin = s.dir().join(name);
    let built = std::process::Command::new(cc)
        .arg("-static")
        .arg("-O")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .status()
        .ok()?
        .success();
    built.then_some(bin)
}

/// What a reboot does to an installation: its processes killed (the
/// caller kills the ones it knows), its mounts gone (rootless: with the
/// user namespace, whose pause process dies) and its run directory wiped.
pub fn simulate_reboot(s: &Skiff) {
    if let Some(pause) = s.pause_pid() {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pause.to_string()])
            .status();
    } else {
        for m in mounts_of(s) {
            let _ = std::process::Command::new("umount")
                .args(["-l", &m])
                .status();
        }
    }
    let _ = std::fs::remove_dir_all(s.runroot());
}
