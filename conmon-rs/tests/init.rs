//! skiff-init, the container init and pause process, run as a real process:
//! exit codes, PATH search, signal forwarding, zombie reaping as PID 1 of a
//! pid namespace (root, or an unprivileged user namespace when available;
//! skips saying why otherwise), pause mode, and that the binary is static.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const WAIT: Duration = Duration::from_secs(20);

fn skip(reason: &str) {
    support::skip("init", reason);
}

/// The binary under test: `$SKIFF_INIT` (as skiff itself honours it), else
/// the one beside `$SKIFF_BIN` (the copies contrib/test.sh makes), else
/// cargo's.
fn init_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SKIFF_INIT").filter(|p| !p.is_empty()) {
        return p.into();
    }
    if let Some(skiff) = std::env::var_os("SKIFF_BIN") {
        let sibling = Path::new(&skiff).with_file_name("skiff-init");
        if sibling.is_file() {
            return sibling;
        }
    }
    PathBuf::from(env!("CARGO_BIN_EXE_skiff-init"))
}

/// skiff-init with `args`. Stdin is /dev/null: with a terminal there the
/// init would hand the terminal's foreground to its command, away from the
/// test run.
fn init(args: &[&str]) -> Command {
    let mut cmd = Command::new(init_bin());
    cmd.args(args).stdin(Stdio::null());
    cmd
}

/// Waits for `child`, killing it and failing the test after `limit`.
fn wait(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for skiff-init") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("skiff-init did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("skiff-init was killed: {:?}", self.status))
    }
}

/// Runs `cmd` to the end, collecting its (small) output.
fn run(cmd: &mut Command) -> Outcome {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start skiff-init");
    let status = wait(&mut child, WAIT);
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("stdout");
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .expect("stderr");
    Outcome {
        status,
        stdout,
        stderr,
    }
}

/// Waits until skiff-init `pid` sits in sigtimedwait, so that signals sent
/// from now on are taken rather than fatal. (Its SigBlk in /proc does not
/// tell: while the call waits, the kernel unblocks the set waited for.)
fn wait_until_waiting_for_signals(pid: u32) {
    let deadline = Instant::now() + WAIT;
    loop {
        let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
        let ready = if wchan.is_empty() || wchan == "0" {
            // Hidden wait channel: sleeping is the next best sign, as
            // sigtimedwait is the only call in which skiff-init sleeps.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('S'))
        } else {
            wchan.contains("sigtimedwait")
        };
        if ready {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "skiff-init {pid} never waited for signals"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A started skiff-init, killed if the test fails before it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn version() {
    let out = run(&mut init(&["--version"]));
    assert_eq!(out.code(), 0);
    assert_eq!(
        out.stdout,
        format!("skiff-init version {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_125() {
    for args in [&[][..], &["--"], &["--bogus"], &["--pause", "extra"]] {
        let out = run(&mut init(args));
        assert_eq!(out.code(), 125, "{args:?}");
        assert!(
            out.stderr.contains("Usage: skiff-init"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn exit_status_of_the_command() {
    assert_eq!(run(&mut init(&["--", "sh", "-c", "exit 7"])).code(), 7);
    assert_eq!(run(&mut init(&["sh", "-c", "exit 0"])).code(), 0);
}

#[test]
fn killed_command_gives_128_plus_signal() {
    let out = run(&mut init(&["sh", "-c", "kill -TERM $$"]));
    assert_eq!(out.code(), 128 + 15);
}

#[test]
fn command_runs_with_signals_unblocked() {
    let out = run(&mut init(&[
        "--",
        "sh",
        "-c",
        "grep SigBlk /proc/self/status",
    ]));
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        ["SigBlk:", "0000000000000000"]
    );
}

#[test]
fn missing_command_exits_127() {
    let out = run(&mut init(&["--", "skiff-init-test-no-such-command"]));
    assert_eq!(out.code(), 127);
    assert_eq!(
        out.stderr,
        "skiff-init: exec skiff-init-test-no-such-command: No such file or directory\n"
    );
    let out = run(&mut init(&["--", "/nonexistent/skiff-init-test"]));
    assert_eq!(out.code(), 127);
}

#[test]
fn non_executable_file_exits_126() {
    let dir = tempfile::tempdir().expect("scratch directory");
    let file = dir.path().join("true");
    std::fs::write(&file, "#!/bin/sh\nexit 0\n").expect("write file");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let file = file.to_str().expect("UTF-8 path");
    let dir = dir.path().to_str().expect("UTF-8 path");

    let out = run(&mut init(&["--", file]));
    assert_eq!(out.code(), 126);
    assert_eq!(
        out.stderr,
        format!("skiff-init: exec {file}: Permission denied\n")
    );
    // Found on PATH but not executable, and nothing better further on.
    let out = run(init(&["--", "true"]).env("PATH", format!("{dir}:/nonexistent")));
    assert_eq!(out.code(), 126);
    assert_eq!(out.stderr, "skiff-init: exec true: Permission denied\n");
    // Something better further on wins.
    let out = run(init(&["--", "true"]).env("PATH", format!("{dir}:/usr/bin:/bin")));
    assert_eq!(out.code(), 0, "{}", out.stderr);
}

#[test]
fn path_search() {
    let out = run(init(&["--", "true"]).env("PATH", "/nonexistent:/usr/bin:/bin"));
    assert_eq!(out.code(), 0, "{}", out.stderr);
    // An absolute path needs no PATH.
    let out = run(init(&["--", "/bin/sh", "-c", "exit 4"]).env("PATH", "/nonexistent"));
    assert_eq!(out.code(), 4, "{}", out.stderr);
    // No PATH at all: the default one.
    let out = run(init(&["--", "sh", "-c", "exit 5"]).env_clear());
    assert_eq!(out.code(), 5, "{}", out.stderr);
    // An empty PATH entry is the current directory. (A symlink rather than a
    // script: a file just written might be busy if another test forks.)
    let dir = tempfile::tempdir().expect("scratch directory");
    std::os::unix::fs::symlink("/bin/sh", dir.path().join("skiff-test-shell")).expect("symlink");
    let out = run(init(&["--", "skiff-test-shell", "-c", "exit 9"])
        .env("PATH", "/nonexistent:")
        .current_dir(dir.path()));
    assert_eq!(out.code(), 9, "{}", out.stderr);
}

#[test]
fn forwards_signals_to_the_command() {
    let script = r#"trap "echo got; exit 3" TERM; echo ready; while :; do sleep 0.1; done"#;
    let mut child = Running(
        init(&["--", "sh", "-c", script])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start skiff-init"),
    );
    let stdout = child.0.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(WAIT);
    assert_eq!(first.as_deref(), Ok("ready"), "the command did not start");
    let pid = i32::try_from(child.0.id()).expect("pid");
    kill(Pid::from_raw(pid), Signal::SIGTERM).expect("signal skiff-init");
    let status = wait(&mut child.0, WAIT);
    assert_eq!(rx.recv_timeout(WAIT).as_deref(), Ok("got"));
    assert_eq!(status.code(), Some(3), "{status:?}");
}

#[test]
fn pause_stops_on_term_int_and_hup_only() {
    for stop in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP] {
        let mut child = Running(
            init(&["--pause"])
                .spawn()
                .expect("start skiff-init --pause"),
        );
        let pid = Pid::from_raw(i32::try_from(child.0.id()).expect("pid"));
        wait_until_waiting_for_signals(child.0.id());
        for ignored in [Signal::SIGUSR1, Signal::SIGCHLD, Signal::SIGQUIT] {
            kill(pid, ignored).expect("signal the pause process");
        }
        std::thread::sleep(Duration::from_millis(100));
        let early = child.0.try_wait().expect("poll the pause process");
        assert!(
            early.is_none(),
            "the pause process ended on an ignored signal: {early:?}"
        );
        kill(pid, stop).expect("stop the pause process");
        let status = wait(&mut child.0, Duration::from_secs(5));
        assert_eq!(status.code(), Some(0), "{stop}: {status:?}");
    }
}

/// The `unshare` arguments that make skiff-init PID 1 of a new pid
/// namespace (with its own /proc), or None after saying why not.
fn pid_namespace() -> Option<Vec<&'static str>> {
    let mut args = vec!["--pid", "--fork", "--mount-proc"];
    if !nix::unistd::geteuid().is_root() {
        args.splice(0..0, ["--user", "--map-root-user"]);
    }
    match Command::new("unshare").args(&args).arg("true").output() {
        Ok(out) if out.status.success() => Some(args),
        Ok(out) => {
            let why = String::from_utf8_lossy(&out.stderr);
            skip(&format!(
                "cannot make a pid namespace ({}): {}",
                args.join(" "),
                why.trim()
            ));
            None
        }
        Err(e) => {
            skip(&format!("unshare (util-linux) is not available: {e}"));
            None
        }
    }
}

/// `(pid, state, ppid, comm)` of every process in `cat /proc/*/stat` output.
fn processes(stat_lines: &str) -> Vec<(u32, char, u32, String)> {
    stat_lines
        .lines()
        .filter_map(|line| {
            let (pid, rest) = line.split_once(" (")?;
            let (comm, rest) = rest.rsplit_once(") ")?;
            let mut fields = rest.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid = fields.next()?.parse().ok()?;
            Some((pid.parse().ok()?, state, ppid, comm.to_owned()))
        })
        .collect()
}

#[test]
fn reaps_orphans_as_pid_1() {
    let Some(unshare) = pid_namespace() else {
        return;
    };
    // The subshell leaves an orphaned `sleep 1` behind, which the kernel
    // hands to PID 1; a while after it ended, nothing may be a zombie.
    let script =
        "(sleep 1 &); cat /proc/[0-9]*/stat; echo ---; sleep 2; cat /proc/[0-9]*/stat; exit 4";
    let bin = init_bin();
    let bin = bin.to_str().expect("UTF-8 path");
    let mut cmd = Command::new("unshare");
    cmd.args(&unshare)
        .args([bin, "--", "sh", "-c", script])
        .stdin(Stdio::null());
    let out = run(&mut cmd);
    assert_eq!(out.code(), 4, "{}", out.stderr);
    let (before, after) = out.stdout.split_once("---\n").expect("two snapshots");
    let before = processes(before);
    let after = processes(after);
    assert!(
        before.iter().any(|(pid, ..)| *pid == 1) && after.iter().any(|(pid, ..)| *pid == 1),
        "no PID 1 in {out:?}",
        out = out.stdout
    );
    // The command is PID 2; any other child of PID 1 is the orphan (it may
    // not have exec'd sleep yet, and still be called sh).
    assert!(
        before.iter().any(|(pid, _, ppid, comm)| *ppid == 1
            && *pid != 2
            && (comm == "sleep" || comm == "sh")),
        "the orphan was not reparented to skiff-init: {before:?}"
    );
    let zombies: Vec<_> = after
        .iter()
        .filter(|(_, state, ..)| *state == 'Z')
        .collect();
    assert!(zombies.is_empty(), "zombies left: {zombies:?}");
}

#[test]
fn forwards_signals_as_pid_1() {
    let Some(unshare) = pid_namespace() else {
        return;
    };
    // As PID 1 the kernel would drop a SIGTERM that has no handler; skiff-init
    // must still take it and pass it on.
    let script = r#"trap "exit 6" TERM; kill -TERM 1; sleep 10 & wait"#;
    let bin = init_bin();
    let bin = bin.to_str().expect("UTF-8 path");
    let mut cmd = Command::new("unshare");
    cmd.args(&unshare)
        .args([bin, "--", "sh", "-c", script])
        .stdin(Stdio::null());
    let started = Instant::now();
    let out = run(&mut cmd);
    assert_eq!(out.code(), 6, "{}", out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn binary_is_static() {
    let path = init_bin();
    let b = std::fs::read(&path).expect("read skiff-init");
    assert!(
        b.len() >= 64 && &b[..4] == b"\x7fELF" && b[4] == 2 && b[5] == 1,
        "not a little-endian ELF64 file"
    );
    let u16_at = |o: usize| usize::from(u16::from_le_bytes([b[o], b[o + 1]]));
    // ET_EXEC: a static PIE (ET_DYN) would need relocating at start-up.
    assert_eq!(u16_at(16), 2, "e_type is not ET_EXEC");
    let phoff = usize::try_from(u64::from_le_bytes(b[32..40].try_into().expect("8 bytes")))
        .expect("program header offset");
    let (size, count) = (u16_at(54), u16_at(56));
    for i in 0..count {
        let o = phoff + i * size;
        let p_type = u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        assert_ne!(p_type, 3, "PT_INTERP: dynamically linked");
        assert_ne!(p_type, 2, "PT_DYNAMIC: dynamically linked");
    }
}
