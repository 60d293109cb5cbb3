//! The monitor against a real runtime (runc) and a busybox container, driven
//! the way podman drives conmon: sync and start pipes (SEQPACKET socket
//! pairs), `{"data": PID}`, `runc start`, then the exit file. Needs root,
//! runc and a static /bin/busybox (Debian's busybox-static); skips saying
//! why otherwise.

mod support;

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use serde_json::json;

/// The monitors get their pipes by inheritance (not close-on-exec), so tests
/// must not spawn concurrently, or one monitor would hold another's pipes
/// (and pass them on).
static SERIAL: Mutex<()> = Mutex::new(());

const WAIT: Duration = Duration::from_secs(20);

fn skip(reason: &str) {
    support::skip("monitor", reason);
}

/// Whether an ELF file has no program interpreter (is statically linked).
fn is_static_elf(path: &Path) -> bool {
    let Ok(b) = std::fs::read(path) else {
        return false;
    };
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[32..40].try_into().expect("8 bytes")) as usize;
    let (size, count) = (u16_at(54), u16_at(56));
    (0..count).all(|i| {
        let o = phoff + i * size;
        o + 4 <= b.len() && u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes")) != 3
    })
}

fn find_runc() -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|d| Path::new(d).join("runc"))
        .find(|p| p.is_file());
    found
}

fn monitor_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SKIFF_CONMON_BIN") {
        return p.into();
    }
    if let Some(skiff) = std::env::var_os("SKIFF_BIN") {
        let sibling = Path::new(&skiff).with_file_name("skiff-conmon");
        if sibling.is_file() {
            return sibling;
        }
    }
    PathBuf::from(env!("CARGO_BIN_EXE_skiff-conmon"))
}

/// What every test needs, or None (after saying why) to skip.
fn setup() -> Option<PathBuf> {
    if !nix::unistd::geteuid().is_root() {
        skip("needs root to run runc; covered by the root pass");
        return None;
    }
    let Some(runc) = find_runc() else {
        skip("runc is not installed (apt-get install runc)");
        return None;
    };
    if !is_static_elf(Path::new("/bin/busybox")) {
        skip("needs a static /bin/busybox (apt-get install busybox-static)");
        return None;
    }
    // Daemonized monitors are reparented to us, to be reaped and checked.
    nix::sys::prctl::set_child_subreaper(true).expect("become a subreaper");
    Some(runc)
}

/// One container: a bundle in a scratch directory, deleted from runc at the end.
struct Ctr {
    id: String,
    dir: tempfile::TempDir,
    runc: PathBuf,
    monitor: Option<Pid>,
    container: Option<Pid>,
}

impl Ctr {
    fn new(runc: &Path, args: &[&str], terminal: bool) -> Ctr {
        let base =
            std::env::var_os("SKIFF_TEST_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from);
        let dir = tempfile::Builder::new()
            .prefix("sc-")
            .tempdir_in(base)
            .expect("scratch directory");
        let id = format!(
            "skiff-conmon-test-{}",
            dir.path().file_name().expect("name").to_string_lossy()
        );
        let bundle = dir.path().join("bundle");
        let rootfs = bundle.join("rootfs");
        for d in ["bin", "proc", "dev", "tmp"] {
            std::fs::create_dir_all(rootfs.join(d)).expect("rootfs directories");
        }
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("copy busybox");
        for tool in ["sh", "cat", "ls", "echo", "sleep", "stty"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(tool)).expect("symlink");
        }
        for d in ["exits", "persist", "socks"] {
            std::fs::create_dir(dir.path().join(d)).expect("directory");
        }
        let caps = ["CAP_KILL", "CAP_AUDIT_WRITE", "CAP_NET_BIND_SERVICE"];
        let config = json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": terminal,
                "user": {"uid": 0, "gid": 0},
                "args": args,
                "env": ["PATH=/bin", "TERM=xterm"],
                "cwd": "/",
                "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
                "noNewPrivileges": true
            },
            "root": {"path": "rootfs"},
            "hostname": "monitor-test",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                 "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
                 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}
            ],
            "linux": {
                "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
            }
        });
        std::fs::write(bundle.join("config.json"), config.to_string()).expect("config.json");
        Ctr {
            id,
            dir,
            runc: runc.to_path_buf(),
            monitor: None,
            container: None,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Start the monitor as podman does and return the sync pipe (after the
    /// pid message) and the container's pid.
    fn start_monitor(&mut self, runtime: &Path, extra: &[&str]) -> (OwnedFd, i32) {
        let p = |rel: &str| self.path(rel).to_string_lossy().into_owned();
        let mut args: Vec<String> = [
            "-u",
            &self.id,
            "-n",
            "test",
            "-b",
            &p("bundle"),
            "-p",
            &p("bundle/pidfile"),
            "-l",
            &format!("k8s-file:{}", p("ctr.log")),
            "--persist-dir",
            &p("persist"),
            "--conmon-pidfile",
            &p("conmon.pid"),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let (sync, monitor) = self.spawn_monitor(runtime, &args, "conmon.pid");
        self.monitor = Some(monitor);
        let msg = recv_json(&sync);
        let pid = msg["data"].as_i64().expect("data") as i32;
        assert!(pid > 0, "create failed: {msg}");
        self.container = Some(Pid::from_raw(pid));
        (sync, pid)
    }

    /// Run the monitor with the arguments every run shares plus `args`, with
    /// sync and start pipes; returns the sync pipe and the monitor's pid
    /// (from the pid file named `pidfile` in the scratch directory).
    fn spawn_monitor(&self, runtime: &Path, args: &[String], pidfile: &str) -> (OwnedFd, Pid) {
        // Like conmon, the monitor passes what its caller gave it on to the
        // runtime (podman's --preserve-fds): give it nothing but its pipes.
        close_on_exec_all();
        let pair = || {
            let (a, b) = socket::socketpair(
                AddressFamily::Unix,
                SockType::SeqPacket,
                None,
                SockFlag::empty(),
            )
            .expect("socketpair");
            fcntl(a.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).expect("cloexec");
            (a, b)
        };
        let (sync_parent, sync_child) = pair();
        let (start_parent, start_child) = pair();
        let p = |rel: &str| self.path(rel).to_string_lossy().into_owned();
        let mut child = Command::new(monitor_bin())
            .args([
                "--api-version",
                "1",
                "-c",
                &self.id,
                "-r",
                &runtime.to_string_lossy(),
            ])
            .args([
                "--exit-dir",
                &p("exits"),
                "--socket-dir-path",
                &p("socks"),
                "--log-level",
                "debug",
            ])
            .args(args)
            .current_dir(self.path("bundle"))
            .env("_OCI_SYNCPIPE", sync_child.as_raw_fd().to_string())
            .env("_OCI_STARTPIPE", start_child.as_raw_fd().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn the monitor");
        drop((sync_child, start_child));
        socket::send(start_parent.as_raw_fd(), b"0", MsgFlags::empty()).expect("start the monitor");
        let status = child.wait().expect("wait for the monitor's first process");
        assert!(
            status.success(),
            "the monitor's first process failed: {status}"
        );
        let text = std::fs::read_to_string(self.path(pidfile)).expect("monitor pid file");
        let pid = Pid::from_raw(text.trim().parse().expect("pid in the monitor pid file"));
        (sync_parent, pid)
    }

    /// `runc COMMAND ID ARGS...`
    fn runc(&self, args: &[&str]) {
        let out = Command::new(&self.runc)
            .arg(args[0])
            .arg(&self.id)
            .args(&args[1..])
            .output()
            .expect("run runc");
        assert!(
            out.status.success(),
            "runc {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn wait_exit_file(&self) -> String {
        let path = self.path("exits").join(&self.id);
        let until = Instant::now() + WAIT;
        while Instant::now() < until {
            if let Ok(s) = std::fs::read_to_string(&path) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no exit file at {} after {WAIT:?}", path.display());
    }

    /// Reap the monitor (our child, as subreaper) and return its status.
    fn wait_monitor(&mut self) -> WaitStatus {
        reap(self.monitor.take().expect("monitor started"))
    }

    /// Log records as (stream, tag, text), after checking their timestamps.
    fn log_records(&self) -> Vec<(String, String, String)> {
        let text = std::fs::read_to_string(self.path("ctr.log")).expect("read the log");
        text.split_inclusive('\n')
            .map(|line| {
                let line = line.strip_suffix('\n').expect("records end with a newline");
                let mut parts = line.splitn(4, ' ');
                let ts = parts.next().expect("timestamp");
                let b = ts.as_bytes();
                assert!(
                    ts.len() == 35
                        && b[10] == b'T'
                        && b[19] == b'.'
                        && matches!(b[29], b'+' | b'-'),
                    "not an RFC 3339 nanosecond timestamp: {ts:?}"
                );
                let stream = parts.next().expect("stream").to_owned();
                let tag = parts.next().expect("tag").to_owned();
                (stream, tag, parts.next().unwrap_or("").to_owned())
            })
            .collect()
    }

    /// Processes still running in the container's root.
    fn processes_left(&self) -> Vec<String> {
        let rootfs = std::fs::canonicalize(self.path("bundle/rootfs")).expect("rootfs");
        std::fs::read_dir("/proc")
            .expect("list /proc")
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .filter(|e| std::fs::read_link(e.path().join("root")).is_ok_and(|r| r == rootfs))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        let _ = Command::new(&self.runc)
            .args(["delete", "-f", &self.id])
            .output();
        if let Some(pid) = self.monitor.take() {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}

/// Mark every descriptor of this test process close-on-exec (some are
/// inherited from whatever started the tests).
fn close_on_exec_all() {
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .expect("list /proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    }
}

/// Wait for a daemonized monitor (our child, as subreaper) to exit.
fn reap(pid: Pid) -> WaitStatus {
    let until = Instant::now() + WAIT;
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(s) => return s,
            Err(e) => panic!("wait for the monitor {pid}: {e}"),
        }
    }
}

/// Reap orphans reparented to us, such as a detached exit command.
fn reap_strays() {
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => std::thread::sleep(Duration::from_millis(20)),
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

fn recv_json(fd: &OwnedFd) -> serde_json::Value {
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    let ready = poll(&mut fds, PollTimeout::try_from(WAIT).expect("timeout")).expect("poll");
    assert!(ready > 0, "no message from the monitor within {WAIT:?}");
    let mut buf = [0u8; 4096];
    let n = socket::recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()).expect("recv");
    let text = std::str::from_utf8(&buf[..n]).expect("utf-8");
    assert!(text.ends_with('\n'), "a message is one line: {text:?}");
    serde_json::from_str(text).expect("JSON message")
}

fn has(records: &[(String, String, String)], stream: &str, tag: &str, text: &str) -> bool {
    records
        .iter()
        .any(|(s, t, x)| s == stream && t == tag && x == text)
}

#[test]
fn container_exit_code_logs_and_cleanup() {
    let Some(runc) = setup() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut ctr = Ctr::new(
        &runc,
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
        false,
    );
    let (_sync, pid) = ctr.start_monitor(&runc, &[]);
    ctr.runc(&["start"]);
    assert_eq!(ctr.wait_exit_file(), "3");
    assert_eq!(
        std::fs::read_to_string(ctr.path("persist/exit")).expect("persist exit"),
        "3"
    );
    let status = ctr.wait_monitor();
    assert!(
        matches!(status, WaitStatus::Exited(_, 3)),
        "the monitor exits with the container's code: {status:?}"
    );
    let records = ctr.log_records();
    assert!(has(&records, "stdout", "F", "out"), "{records:?}");
    assert!(has(&records, "stderr", "F", "err"), "{records:?}");
    assert_eq!(
        nix::sys::signal::kill(Pid::from_raw(pid), None),
        Err(nix::errno::Errno::ESRCH)
    );
    assert_eq!(
        ctr.processes_left(),
        Vec::<String>::new(),
        "processes left in the container"
    );
    assert!(
        !ctr.path("socks").join(&ctr.id).exists(),
        "the attach symlink is removed"
    );
    assert!(!ctr.path("persist/oom").exists());
}

#[test]
fn terminal_output_is_logged_as_the_pty_shows_it() {
    let Some(runc) = setup() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut ctr = Ctr::new(
        &runc,
        &["sh", "-c", "echo hello; echo oops >&2; exit 4"],
        true,
    );
    ctr.start_monitor(&runc, &["-t"]);
    ctr.runc(&["start"]);
    assert_eq!(ctr.wait_exit_file(), "4");
    ctr.wait_monitor();
    let records = ctr.log_records();
    // One stream with a terminal, and ONLCR's carriage returns kept, as conmon records them.
    assert!(has(&records, "stdout", "F", "hello\r"), "{records:?}");
    assert!(has(&records, "stdout", "F", "oops\r"), "{records:?}");
    assert!(records.iter().all(|(s, _, _)| s == "stdout"), "{records:?}");
}

#[test]
fn attach_socket_carries_input_and_prefixed_output() {
    let Some(runc) = setup() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut ctr = Ctr::new(&runc, &["cat"], false);
    ctr.start_monitor(&runc, &["-i"]);
    let client = socket::socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .expect("socket");
    let attach = ctr.path("socks").join(&ctr.id).join("attach");
    socket::connect(
        client.as_raw_fd(),
        &UnixAddr::new(&attach).expect("address"),
    )
    .expect("connect");
    ctr.runc(&["start"]);
    socket::send(client.as_raw_fd(), b"hello monitor\n", MsgFlags::empty()).expect("send");
    let mut fds = [PollFd::new(client.as_fd(), PollFlags::POLLIN)];
    assert!(poll(&mut fds, PollTimeout::try_from(WAIT).expect("timeout")).expect("poll") > 0);
    let mut buf = [0u8; 8193];
    let n = socket::recv(client.as_raw_fd(), &mut buf, MsgFlags::empty()).expect("recv");
    assert_eq!(
        &buf[..n],
        b"\x02hello monitor\n",
        "stdout (2) byte, then the echoed input"
    );
    // End of input closes the container's stdin: cat exits.
    socket::shutdown(client.as_raw_fd(), socket::Shutdown::Write).expect("shutdown");
    assert_eq!(ctr.wait_exit_file(), "0");
    ctr.wait_monitor();
    assert!(has(&ctr.log_records(), "stdout", "F", "hello monitor"));
    let n = socket::recv(client.as_raw_fd(), &mut buf, MsgFlags::empty()).expect("recv");
    assert_eq!(
        n, 0,
        "the monitor closes clients when the container is gone"
    );
}

/// Descriptors in `ls -l /proc/self/fd` output, without the one `ls` may
/// hold on that directory itself.
fn listed_fds(listing: &str) -> Vec<u32> {
    listing
        .lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let arrow = words.iter().position(|w| *w == "->")?;
            let target = words.get(arrow + 1).copied().unwrap_or("");
            if target.starts_with("/proc/") && target.ends_with("/fd") {
                return None;
            }
            words.get(arrow.checked_sub(1)?)?.parse().ok()
        })
        .collect()
}

#[test]
fn no_descriptor_leaks_into_runtime_container_or_exit_command() {
    let Some(runc) = setup() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut ctr = Ctr::new(&runc, &["ls", "-l", "/proc/self/fd"], false);
    // A runtime that lists what it inherited, then is runc.
    let wrapper = ctr.path("runtime.sh");
    let runtime_fds = ctr.path("runtime-fds");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nls -l /proc/self/fd > '{}' 2>&1\nexec '{}' \"$@\"\n",
            runtime_fds.display(),
            runc.display()
        ),
    )
    .expect("write the wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let exit_fds = ctr.path("exit-fds");
    // Renamed into place once complete: the test polls for it.
    let script = format!(
        "ls -l /proc/self/fd > '{0}.tmp' 2>&1; mv '{0}.tmp' '{0}'",
        exit_fds.display()
    );
    ctr.start_monitor(
        &wrapper,
        &[
            "--exit-command",
            "/bin/sh",
            "--exit-command-arg",
            "-c",
            "--exit-command-arg",
            &script,
        ],
    );
    ctr.runc(&["start"]);
    assert_eq!(ctr.wait_exit_file(), "0");
    ctr.wait_monitor();

    let records = ctr.log_records();
    let listing: String = records
        .iter()
        .map(|(_, _, text)| format!("{text}\n"))
        .collect();
    assert_eq!(
        listed_fds(&listing),
        [0, 1, 2],
        "the container sees its stdio only:\n{listing}"
    );
    let listing = std::fs::read_to_string(&runtime_fds).expect("runtime's list");
    assert_eq!(
        listed_fds(&listing),
        [0, 1, 2],
        "the runtime inherits stdio only:\n{listing}"
    );
    let until = Instant::now() + WAIT;
    while !exit_fds.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    let listing = std::fs::read_to_string(&exit_fds).expect("exit command's list");
    reap_strays();
    assert_eq!(
        listed_fds(&listing),
        [0, 1, 2],
        "the exit command inherits stdio only:\n{listing}"
    );
}

#[test]
fn exec_session_reports_pid_then_exit_code() {
    let Some(runc) = setup() else { return };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut ctr = Ctr::new(&runc, &["sleep", "60"], false);
    ctr.start_monitor(&runc, &[]);
    ctr.runc(&["start"]);

    let exec_dir = ctr.path("exec");
    std::fs::create_dir(&exec_dir).expect("exec directory");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ctr.path("bundle/config.json")).expect("config"))
            .expect("json");
    let mut process = config["process"].clone();
    process["args"] = json!(["sh", "-c", "echo from exec; exit 7"]);
    let spec = exec_dir.join("process.json");
    std::fs::write(&spec, process.to_string()).expect("process.json");
    let e = |rel: &str| exec_dir.join(rel).to_string_lossy().into_owned();
    let args: Vec<String> = [
        "-u",
        "exec-session-1",
        "-b",
        &e(""),
        "-p",
        &e("pidfile"),
        "-l",
        &format!("k8s-file:{}", e("exec.log")),
        "-e",
        "--exec-process-spec",
        &spec.to_string_lossy(),
        "-P",
        &e("monitor.pid"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (sync, monitor) = ctr.spawn_monitor(&runc, &args, "exec/monitor.pid");
    let first = recv_json(&sync);
    assert!(
        first["data"].as_i64().is_some_and(|p| p > 0),
        "the exec'd process's pid first: {first}"
    );
    let second = recv_json(&sync);
    assert_eq!(second, json!({"data": 7}), "then its exit code");
    assert!(matches!(reap(monitor), WaitStatus::Exited(_, 7)));
    let log = std::fs::read_to_string(exec_dir.join("exec.log")).expect("exec log");
    assert!(log.ends_with(" stdout F from exec\n"), "{log:?}");
    // The exit file of an exec session is named after the container.
    assert_eq!(
        std::fs::read_to_string(ctr.path("exits").join(&ctr.id)).expect("exit file"),
        "7"
    );

    ctr.runc(&["kill", "KILL"]);
    let status = ctr.wait_monitor();
    assert!(
        matches!(status, WaitStatus::Exited(_, 137)),
        "SIGKILL is 128 + 9: {status:?}"
    );
}
