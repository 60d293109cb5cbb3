//! Becoming a monitor: shielded from the OOM killer, forked away from the
//! caller (unless `--sync`), its own session, stdio on /dev/null, subreaper
//! of the container's processes, and signals read through a signalfd.

use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::args::Options;
use crate::runtime::DevNull;
use crate::sys::{fork_process, Forked};

const OOM_SCORE_ADJ: &str = "/proc/self/oom_score_adj";

/// Make the monitor the OOM killer's last choice (a container going over its
/// limit must not take its monitor along). Returns the previous value, for
/// the processes the monitor starts; None when it could not be changed
/// (an unprivileged user cannot lower it).
pub fn protect_from_oom() -> Option<Vec<u8>> {
    let old = std::fs::read(OOM_SCORE_ADJ).ok()?;
    std::fs::write(OOM_SCORE_ADJ, b"-1000").ok()?;
    Some(old.trim_ascii().to_vec())
}

/// Write a pid file atomically.
pub fn write_pidfile(path: &Path, pid: u32) -> io::Result<()> {
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(d), Some(n)) => (
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            },
            n,
        ),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a file path",
            ))
        }
    };
    crate::exit::write_atomic(dir, name, pid.to_string().as_bytes())
}

/// Fork into the background unless `--sync` (or `stay`): the caller's
/// child writes the monitor's pid to `--conmon-pidfile` and exits 0, as
/// conmon's does, so the caller can wait for it and go on. The monitor
/// itself is the grandchild of the caller once it has forked the runtime.
pub fn detach(opts: &Options, stay: bool) -> io::Result<()> {
    if opts.sync || stay {
        if let Some(path) = &opts.conmon_pidfile {
            write_pidfile(path, std::process::id())?;
        }
        return Ok(());
    }
    match fork_process()? {
        Forked::Child => Ok(()),
        Forked::Parent(pid) => {
            if let Some(path) = &opts.conmon_pidfile {
                if let Err(e) = write_pidfile(path, pid as u32) {
                    eprintln!(
                        "Error: write the monitor's pid file {}: {e}",
                        path.display()
                    );
                    let _ =
                        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
                    std::process::exit(1);
                }
            }
            std::process::exit(0);
        }
    }
}

/// Point 0, 1 and 2 at /dev/null: the caller may wait for its stdout to
/// close, and the monitor must not keep the caller's terminal.
pub fn redirect_stdio(null: &DevNull) -> io::Result<()> {
    nix::unistd::dup2(null.read.as_raw_fd(), 0)?;
    nix::unistd::dup2(null.write.as_raw_fd(), 1)?;
    nix::unistd::dup2(null.write.as_raw_fd(), 2)?;
    Ok(())
}

/// A new session (fails harmlessly when already a group leader, with
/// `--sync`), and subreaper: the container's process, which the runtime
/// forks and leaves, becomes the monitor's child to wait for.
pub fn become_session_and_subreaper() -> io::Result<()> {
    let _ = nix::unistd::setsid();
    nix::sys::prctl::set_child_subreaper(true)?;
    Ok(())
}

/// Signals the monitor handles in its loop: SIGCHLD (reap), and SIGTERM,
/// SIGINT, SIGQUIT (passed on to the container). Blocked, then read here.
pub fn signal_fd() -> io::Result<SignalFd> {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGQUIT,
    ] {
        set.add(s);
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    Ok(SignalFd::with_flags(
        &set,
        SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK,
    )?)
}
