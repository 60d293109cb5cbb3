//! Creating a container with skiff's own runtime in process: no runtime
//! binary is executed and the spec is not read back from config.json.
//!
//! The monitor must be the parent of the container's init (to wait for
//! it), so the init is created by the process that then becomes the
//! monitor: skiff forks twice (the middle process exits at once, so the
//! monitor is nobody's child to reap), the grandchild makes the container's
//! stdio, creates the container with the spec skiff already holds, and
//! executes the monitor, which adopts the init (`_SKIFF_ADOPT`, see the
//! monitor) and reports its pid on the sync pipe as it would after a
//! runtime's `create`. A failure before that is reported on the same pipe.

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use oci_spec::runtime::Spec;

use crate::runtime::builtin::{CreateOptions, Runtime};
use crate::sys::clone::{exit_now, fork};

/// The descriptor numbers conmon's protocol names in the environment.
const SYNC_FD: RawFd = 3;
const START_FD: RawFd = 4;
/// Where the monitor gets a descriptor it is to hold while the container
/// runs (it keeps whatever it inherits until then).
pub const HOLD_FD: RawFd = 5;

/// How the container's stdio is made.
#[derive(Debug, Clone, Copy)]
pub struct StdioPlan {
    pub terminal: bool,
    pub stdin: bool,
    /// The container shares the caller's stdio (`-l passthrough`).
    pub passthrough: bool,
}

/// What the grandchild needs, prepared before forking.
pub struct Plan<'a> {
    pub runtime: Runtime,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub spec: Spec,
    pub stdio: StdioPlan,
    /// The monitor's command line and environment (sync and start pipes
    /// named as 3 and 4).
    pub monitor: &'a Command,
    /// Passed to the monitor as [`HOLD_FD`].
    pub hold: Option<OwnedFd>,
}

/// Whether this process has one thread: forking without exec is only
/// safe then.
pub fn single_threaded() -> bool {
    std::fs::read_dir("/proc/thread-self/..").is_ok_and(|d| d.count() == 1)
}

/// Fork the monitor-to-be; returns once the middle process has exited.
/// `sync` and `start` are the write end of the sync pipe and the read end
/// of the start pipe; the caller keeps the other ends.
pub fn launch(mut plan: Plan<'_>, sync: OwnedFd, start: OwnedFd) -> std::io::Result<()> {
    let hold = plan.hold.take();
    let program = CString::new(plan.monitor.get_program().as_bytes())?;
    let mut argv = vec![program.clone()];
    for a in plan.monitor.get_args() {
        argv.push(CString::new(a.as_bytes())?);
    }
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| {
            plan.monitor
                .get_envs()
                .all(|(name, _)| name != k.as_os_str())
        })
        .collect();
    for (k, v) in plan.monitor.get_envs() {
        if let Some(v) = v {
            env.push((k.to_owned(), v.to_owned()));
        }
    }
    match fork(false)? {
        Some(middle) => {
            drop(sync);
            drop(start);
            drop(hold);
            // The middle process exits as soon as it has forked.
            let _ = nix::sys::wait::waitpid(middle, None);
            Ok(())
        }
        None => {
            match fork(false) {
                Ok(Some(_)) => exit_now(0),
                Ok(None) => {}
                Err(_) => exit_now(1),
            }
            let sync = sync.into_raw_fd();
            let start = start.into_raw_fd();
            let hold = hold.map(IntoRawFd::into_raw_fd);
            let _ = nix::unistd::setsid();
            // Only what the monitor gets stays open: the caller's other
            // descriptors (its locks above all) must not live on in the
            // init.
            let report_fd = match keep_only(sync, start, hold) {
                Ok(()) => SYNC_FD,
                Err(_) => sync,
            };
            let err = match report_fd {
                SYNC_FD => grandchild(plan, &program, &argv, env, hold.map(|_| HOLD_FD)),
                _ => "preparing the monitor's descriptors".to_string(),
            };
            let report = serde_json::json!({"data": -1, "message": err});
            let _ = nix::unistd::write(
                crate::sys::process::borrow_fd(report_fd),
                format!("{report}\n").as_bytes(),
            );
            exit_now(1)
        }
    }
}

/// Runs in the grandchild, with the sync pipe on 3, the start pipe on 4
/// (and the descriptor to hold on `held`, 5): returns only on
/// failure, with the message.
fn grandchild(
    plan: Plan<'_>,
    program: &CString,
    argv: &[CString],
    env: Vec<(OsString, OsString)>,
    held: Option<RawFd>,
) -> String {
    let stdio = match Stdio::make(plan.stdio) {
        Ok(s) => s,
        Err(e) => return format!("creating the container's stdio: {e}"),
    };
    let opts = CreateOptions {
        console: stdio
            .console_theirs
            .as_ref()
            .and_then(|s| s.try_clone().ok()),
        ..CreateOptions::default()
    };
    let created = plan
        .runtime
        .create_from(plan.id, plan.bundle, plan.spec, &opts);
    drop(opts);
    let pid = match created {
        Ok(pid) => pid,
        Err(e) => return e.to_string(),
    };
    let undo = |message: String| {
        let _ = plan.runtime.delete(plan.id, true);
        message
    };
    let ends = match stdio.after_create() {
        Ok(ends) => ends,
        Err(e) => return undo(format!("taking the container's stdio: {e}")),
    };
    let mut adopt = format!("pid={pid}");
    for (name, fd) in &ends {
        if let Err(e) = fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::empty())) {
            return undo(format!(
                "passing the container's {name} to the monitor: {e}"
            ));
        }
        adopt.push_str(&format!(",{name}={}", fd.as_raw_fd()));
    }
    let mut envp: Vec<CString> = env
        .into_iter()
        .filter_map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    envp.extend(CString::new(format!("_SKIFF_ADOPT={adopt}")));
    for fd in [Some(SYNC_FD), Some(START_FD), held].into_iter().flatten() {
        let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty()));
    }
    let e = nix::unistd::execve(program, argv, &envp).unwrap_err();
    drop(ends);
    undo(format!(
        "starting the monitor {}: {}",
        OsStr::from_bytes(program.as_bytes()).to_string_lossy(),
        e.desc()
    ))
}

/// Moves the sync pipe to 3, the start pipe to 4 and `hold` to 5 and
/// closes every other descriptor from 3 up.
fn keep_only(sync: RawFd, start: RawFd, hold: Option<RawFd>) -> nix::Result<()> {
    // Out of the way first: any may sit on 3, 4 or 5 now.
    let high_sync = fcntl(sync, FcntlArg::F_DUPFD_CLOEXEC(64))?;
    let high_start = fcntl(start, FcntlArg::F_DUPFD_CLOEXEC(64))?;
    let high_hold = hold
        .map(|h| fcntl(h, FcntlArg::F_DUPFD_CLOEXEC(64)))
        .transpose()?;
    nix::unistd::dup2(high_sync, SYNC_FD)?;
    nix::unistd::dup2(high_start, START_FD)?;
    let last = match high_hold {
        Some(h) => {
            nix::unistd::dup2(h, HOLD_FD)?;
            HOLD_FD
        }
        None => START_FD,
    };
    crate::sys::process::close_from(last + 1)?;
    Ok(())
}

/// The container's stdio, made before create: the ends the init gets are
/// put on 0, 1 and 2 (create passes its own stdio on), the monitor's are
/// kept.
struct Stdio {
    monitor_ends: Vec<(&'static str, OwnedFd)>,
    console_ours: Option<UnixStream>,
    console_theirs: Option<UnixStream>,
}

impl Stdio {
    fn make(plan: StdioPlan) -> std::io::Result<Stdio> {
        let mut s = Stdio {
            monitor_ends: Vec::new(),
            console_ours: None,
            console_theirs: None,
        };
        if plan.passthrough {
            return Ok(s);
        }
        let null = crate::sys::fs::open(Path::new("/dev/null"), OFlag::O_RDWR, 0)?;
        nix::unistd::dup2(null.as_raw_fd(), 0)?;
        if plan.terminal {
            let (ours, theirs) = UnixStream::pair()?;
            s.console_ours = Some(ours);
            s.console_theirs = Some(theirs);
            nix::unistd::dup2(null.as_raw_fd(), 1)?;
            nix::unistd::dup2(null.as_raw_fd(), 2)?;
            return Ok(s);
        }
        if plan.stdin {
            let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
            install(&r, 0)?;
            s.monitor_ends.push(("stdin", w));
        }
        for (name, target) in [("stdout", 1), ("stderr", 2)] {
            let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
            install(&w, target)?;
            s.monitor_ends.push((name, r));
        }
        Ok(s)
    }

    /// After create: this process's stdio back to /dev/null, the pty
    /// master taken from the console socket. Returns the monitor's ends.
    fn after_create(mut self) -> std::io::Result<Vec<(&'static str, OwnedFd)>> {
        let null = crate::sys::fs::open(Path::new("/dev/null"), OFlag::O_RDWR, 0)?;
        for target in 0..3 {
            nix::unistd::dup2(null.as_raw_fd(), target)?;
        }
        if let Some(ours) = self.console_ours.take() {
            drop(self.console_theirs.take());
            self.monitor_ends
                .push(("console", crate::sys::process::recv_fd(&ours)?));
        }
        Ok(self.monitor_ends)
    }
}

/// `fd` as descriptor `target` of this process, open to any user of the
/// container (which may reopen /proc/self/fd/N), as conmon makes them.
fn install(fd: &OwnedFd, target: RawFd) -> nix::Result<()> {
    nix::unistd::dup2(fd.as_raw_fd(), target)?;
    let _ = nix::sys::stat::fchmod(target, nix::sys::stat::Mode::from_bits_truncate(0o777));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_process_is_seen_as_threaded_or_not() {
        // The test harness runs tests on threads of its own.
        let threads = std::fs::read_to_string("/proc/self/status")
            .expect("status")
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .expect("Threads:");
        assert_eq!(single_threaded(), threads == 1);
    }
}
