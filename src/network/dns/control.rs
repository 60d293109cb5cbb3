//! Keeping a directory's server in step with its files: start it when the
//! first network gets a container, make it reread the files after each
//! change, stop it when the last network file goes. The engine calls
//! [`sync_server`] after [`add_entry`](super::add_entry) and
//! [`remove_entry`](super::remove_entry).

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{self, Read};
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::config::{self, ConfigError};
use super::server::READY_FD_ENV;
use super::status::Status;
use crate::sys::process::{spawn_in_session, Session};

/// The server's messages (kept from its latest start).
pub(crate) const LOG: &str = ".server.log";

/// How long a server may take to start, reread its files or stop.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The descriptor number the readiness pipe has in the server.
const READY_FD: i32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("reading the DNS server's status in {dir}: {source}")]
    Status {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("starting the DNS server {exe}: {source}")]
    Start {
        exe: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the DNS server ended before it listened: {log}")]
    Exited { log: String },
    #[error("signalling the DNS server (pid {pid}): {source}")]
    Signal {
        pid: i32,
        #[source]
        source: nix::Error,
    },
    #[error("the DNS server (pid {pid}) did not {what} within {secs} s", secs = TIMEOUT.as_secs())]
    Timeout { pid: i32, what: &'static str },
    #[error("the DNS server cannot listen on {0}")]
    Bind(String),
}

/// Bring the server of `dir` in line with the files there: reread them if
/// it runs (SIGHUP), start it if it does not and some network has
/// containers, stop it (SIGTERM) if no network file is left. Returns once
/// the server has read the files and listens on every address they name,
/// or has ended.
///
/// The server is run as `exe args...`, detached (a session of its own,
/// stdio on /dev/null, messages in `dir/.server.log`) in the caller's
/// network namespace; `args` reach [`serve`](super::serve) with `dir`
/// (`skiff dns-server DIR`). The process stays the caller's child, not
/// waited for: a long-lived caller reaps it.
///
/// An address the server could not bind is reported as
/// [`SyncError::Bind`]; the server goes on serving the other networks and
/// tries again at the next sync.
pub fn sync_server(dir: &Path, exe: &Path, args: &[OsString]) -> Result<(), SyncError> {
    if !dir.exists() {
        // No files were ever written: there is no server to tell.
        return Ok(());
    }
    let _lock = config::lock(dir)?;
    let networks = config::read_dir(dir).map_err(|source| ConfigError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let status_err = |source| SyncError::Status {
        dir: dir.to_owned(),
        source,
    };
    let running = Status::read(dir)
        .map_err(status_err)?
        .filter(Status::is_running);
    let status = match (running, networks.is_empty()) {
        (None, true) => {
            let _ = std::fs::remove_file(super::status::path(dir));
            return Ok(());
        }
        (Some(s), true) => return stop(dir, &s),
        (Some(s), false) => reload(dir, &s)?,
        (None, false) => start(dir, exe, args)?,
    };
    let wanted: Vec<IpAddr> = networks
        .iter()
        .flat_map(|(_, n)| n.listen.iter().copied())
        .collect();
    let failed: Vec<String> = status
        .failed
        .iter()
        .filter(|(a, _)| wanted.contains(a))
        .map(|(a, why)| format!("{a} port {}: {why}", super::PORT))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(SyncError::Bind(failed.join("; ")))
    }
}

fn signal(s: &Status, sig: Signal) -> Result<(), SyncError> {
    kill(Pid::from_raw(s.pid), sig).map_err(|source| SyncError::Signal { pid: s.pid, source })
}

/// Poll the status file until `done` says so.
fn wait_status(
    dir: &Path,
    pid: i32,
    what: &'static str,
    mut done: impl FnMut(Option<Status>) -> bool,
) -> Result<Status, SyncError> {
    let until = Instant::now() + TIMEOUT;
    let mut pause = Duration::from_micros(200);
    loop {
        let status = Status::read(dir).map_err(|source| SyncError::Status {
            dir: dir.to_owned(),
            source,
        })?;
        if done(status.clone()) {
            return Ok(status.unwrap_or(Status {
                pid,
                start_ticks: 0,
                generation: 0,
                failed: Vec::new(),
            }));
        }
        if Instant::now() >= until {
            return Err(SyncError::Timeout { pid, what });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

fn stop(dir: &Path, s: &Status) -> Result<(), SyncError> {
    signal(s, Signal::SIGTERM)?;
    // It removes the file last thing, after its sockets are closed.
    wait_status(dir, s.pid, "stop", |now| {
        now.is_none_or(|n| n.pid != s.pid) || !s.is_running()
    })?;
    Ok(())
}

/// SIGHUP, then wait for the server to have read the files again. The
/// directory's lock, held by the caller, keeps anyone else from signalling
/// in between, so the next reading it reports includes the caller's change.
fn reload(dir: &Path, s: &Status) -> Result<Status, SyncError> {
    signal(s, Signal::SIGHUP)?;
    wait_status(dir, s.pid, "reread its files", |now| match now {
        Some(n) => n.pid != s.pid || n.generation > s.generation,
        None => !s.is_running(),
    })
}

fn start(dir: &Path, exe: &Path, args: &[OsString]) -> Result<Status, SyncError> {
    let start_err = |source| SyncError::Start {
        exe: exe.to_owned(),
        source,
    };
    let _ = std::fs::remove_file(super::status::path(dir));
    let log_path = dir.join(LOG);
    let log = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&log_path)
        .map_err(start_err)?;
    let (ready_r, ready_w) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| start_err(e.into()))?;
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .env(READY_FD_ENV, READY_FD.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let mut child =
        spawn_in_session(cmd, &[(ready_w.as_fd(), READY_FD)], Session::New).map_err(start_err)?;
    drop(ready_w);
    // One byte once it listens; end of file if it ends first.
    let mut fds = [PollFd::new(ready_r.as_fd(), PollFlags::POLLIN)];
    let ms = u16::try_from(TIMEOUT.as_millis()).unwrap_or(u16::MAX);
    let ready = match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
        Ok(0) => None,
        Ok(_) => {
            let mut byte = [0u8; 1];
            std::fs::File::from(ready_r).read(&mut byte).ok()
        }
        Err(e) => return Err(start_err(e.into())),
    };
    match ready {
        Some(1) => {}
        None => {
            return Err(SyncError::Timeout {
                pid: child.id() as i32,
                what: "listen",
            })
        }
        Some(_) => {
            // Ended: reap it, and say what it said.
            let _ = child.wait();
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let log = text
                .trim()
                .lines()
                .last()
                .unwrap_or("no message")
                .to_string();
            return Err(SyncError::Exited { log });
        }
    }
    // The server wrote its status before it reported ready. Its process
    // stays the caller's child: it is reaped when the caller ends.
    Status::read(dir)
        .map_err(|source| SyncError::Status {
            dir: dir.to_owned(),
            source,
        })?
        .ok_or_else(|| SyncError::Exited {
            log: "no status file".to_string(),
        })
}
