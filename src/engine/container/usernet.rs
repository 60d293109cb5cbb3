//! User-mode networking, what pasta and slirp4netns share: the network
//! namespace bind-mounted on `netns` in the container's run directory
//! (made at start, joined by the container by path), /dev/net/tun, the
//! helper's process (stopped through its pid file once it is sure to be
//! that helper) and the release of all that with the container's
//! resources.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::engine::container::reconcile::process_start_time;
use crate::engine::container::{pasta, slirp};
use crate::state::container::{ContainerConfig, NetworkMode};

/// The bind-mounted namespace file, in the run directory.
pub const NETNS: &str = "netns";

/// pasta and slirp4netns need /dev/net/tun; say so plainly when it cannot
/// be opened.
pub fn check_tun() -> Result<(), String> {
    use nix::unistd::{access, AccessFlags};
    let tun = Path::new("/dev/net/tun");
    match access(tun, AccessFlags::R_OK | AccessFlags::W_OK) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::ENOENT) => Err(
            "user-mode networking needs /dev/net/tun, which does not exist here (load the tun module) or use --network none"
                .into(),
        ),
        Err(_) => {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(tun)
                .map(|m| format!(" (it is mode {:04o})", m.permissions().mode() & 0o7777))
                .unwrap_or_default();
            Err(format!(
                "user-mode networking needs /dev/net/tun to be readable and writable by you{mode}: run 'chmod 0666 /dev/net/tun' as root or use --network none"
            ))
        }
    }
}

/// A new network namespace on `rundir/netns`; returns the path.
pub fn make_netns(rundir: &Path) -> Result<PathBuf, String> {
    let netns = rundir.join(NETNS);
    crate::sys::netns::create_bound(&netns)
        .map_err(|e| format!("creating a network namespace on {}: {e}", netns.display()))?;
    Ok(netns)
}

/// Unmount and remove `rundir/netns`; what is gone already is fine.
pub fn remove_netns(rundir: &Path) {
    let netns = rundir.join(NETNS);
    if let Err(e) = crate::sys::netns::remove_bound(&netns) {
        tracing::warn!("removing {}: {e}", netns.display());
    }
}

/// The pid in `pid_file`, if any.
pub fn read_pid(pid_file: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|p| *p > 1)
}

/// Whether `pid` is a live process whose name (`/proc/PID/comm`) starts
/// with one of `names`: a pid file may outlive its process, and the pid
/// be reused by another.
pub fn is_helper(pid: i32, names: &[&str]) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|c| names.iter().any(|n| c.starts_with(n)))
        && process_start_time(pid).is_some()
}

/// Stop the helper named in `pid_file` (when it is one of `names`) and
/// wait a moment for it to be gone, so that its host ports are free
/// again; then remove the pid file.
pub fn stop_helper(pid_file: &Path, names: &[&str]) {
    if let Some(pid) = read_pid(pid_file) {
        if is_helper(pid, names) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline && is_helper(pid, names) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    let _ = std::fs::remove_file(pid_file);
}

/// Release whichever helper and namespace the run directory holds
/// (nothing for network modes without one). Idempotent.
pub fn release(rundir: &Path) {
    if rundir.join(slirp::PID_FILE).exists() {
        slirp::teardown(rundir);
    }
    if rundir.join(NETNS).exists() || rundir.join(pasta::PID_FILE).exists() {
        pasta::teardown(rundir);
    }
    // Empty once the helper's files are gone (a directory of its own).
    let _ = std::fs::remove_dir(rundir);
}

/// A helper on its way up: started before the bundle is prepared, waited
/// for afterwards.
pub enum Starting {
    Pasta(pasta::Starting),
    Slirp(slirp::Starting),
}

/// Start the helper the container's network mode needs, if any.
pub fn spawn(
    rundir: &Path,
    config: &ContainerConfig,
    real_root: bool,
) -> Result<Option<Starting>, String> {
    if matches!(
        config.network,
        NetworkMode::Pasta(_) | NetworkMode::Slirp4netns(_)
    ) {
        crate::config::paths::ensure_private_dir(rundir)
            .map_err(|e| format!("creating {}: {e}", rundir.display()))?;
    }
    Ok(match &config.network {
        NetworkMode::Pasta(extra) => Some(Starting::Pasta(pasta::spawn(
            rundir,
            &config.ports,
            extra,
            real_root,
        )?)),
        NetworkMode::Slirp4netns(opts) => {
            Some(Starting::Slirp(slirp::spawn(rundir, &config.ports, opts)?))
        }
        _ => None,
    })
}

impl Starting {
    /// Wait until the namespace is configured and the ports published; on
    /// failure everything is torn down. Returns the descriptor the monitor
    /// must hold for as long as the container runs, if the helper has one
    /// (slirp4netns exits when it is closed).
    pub fn wait(self) -> Result<Option<OwnedFd>, String> {
        match self {
            Starting::Pasta(p) => p.wait().map(|()| None),
            Starting::Slirp(s) => s.wait().map(Some),
        }
    }

    /// Give up: stop the helper and remove the namespace.
    pub fn abort(self) {
        match self {
            Starting::Pasta(p) => p.abort(),
            Starting::Slirp(s) => s.abort(),
        }
    }
}
