//! The rootless user namespace: an unprivileged user's skiff runs inside a
//! user namespace (with a mount namespace) in which the user is root and
//! the user's subordinate ids are 1..N. The first invocation creates it,
//! held open by a pause process whose pid is kept in the run directory;
//! every later one joins it before doing anything else. A pause process
//! that was killed is replaced from a namespace that containers' monitors
//! still hold, so running containers keep running.

pub mod subid;

use std::path::{Path, PathBuf};

use nix::unistd::Pid;

use crate::config::paths::{host_gid, host_uid, ROOTLESS_GID_ENV, ROOTLESS_UID_ENV};
use crate::storage::lock::{lock, LockMode};
use crate::sys::userns;

#[derive(Debug, thiserror::Error)]
pub enum RootlessError {
    #[error("the run directory {path}: {source}")]
    RunDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{dir} belongs to uid {owner}, not to you (uid {uid}): set XDG_RUNTIME_DIR to a directory of your own")]
    RunDirOwner { dir: PathBuf, owner: u32, uid: u32 },
    #[error("reading {path}: {source}")]
    SubIds {
        path: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the subordinate id range of {user} in {file} overlaps the range of {other}: give each user its own range (usermod --add-subuids/--add-subgids)")]
    Overlap {
        user: String,
        file: &'static str,
        other: String,
    },
    #[error("{tool} was not found, and {user} has subordinate ids to map with it: install it (Debian: apt-get install uidmap)")]
    MapToolMissing { tool: &'static str, user: String },
    #[error("{tool} failed: {message}")]
    MapTool { tool: &'static str, message: String },
    #[error("writing the id map of the user namespace: {0}")]
    MapWrite(#[source] std::io::Error),
    #[error("creating the rootless user namespace: {0} (are unprivileged user namespaces enabled? see /proc/sys/user/max_user_namespaces)")]
    Create(#[source] std::io::Error),
    #[error("joining the rootless user namespace of process {pid}: {source}")]
    Join {
        pid: i32,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the pause process: {0}")]
    Pause(#[source] std::io::Error),
    #[error(transparent)]
    Lock(#[from] crate::storage::lock::LockError),
    #[error(transparent)]
    Record(#[from] crate::storage::record::RecordError),
}

/// Where the pause process's pid is kept.
pub fn pause_pid_file(runroot: &Path) -> PathBuf {
    runroot.join("pause.pid")
}

/// The pause process of `runroot`, if it runs.
pub fn pause_process(runroot: &Path) -> Option<Pid> {
    live_holder(&pause_pid_file(runroot))
}

/// End the namespace's pause process (SIGTERM) and wait, briefly, until it
/// is gone. The namespace itself lives on while other processes are in it.
pub fn stop_pause(runroot: &Path) -> bool {
    let Some(pid) = pause_process(runroot) else {
        return true;
    };
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    for _ in 0..200 {
        if !Path::new(&format!("/proc/{pid}")).exists()
            || live_holder(&pause_pid_file(runroot)).is_none()
        {
            let _ = std::fs::remove_file(pause_pid_file(runroot));
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// Whether this process already is in skiff's rootless user namespace.
pub fn joined() -> bool {
    std::env::var_os(ROOTLESS_UID_ENV).is_some() && crate::sys::is_in_user_namespace()
}

/// Join the rootless user namespace of `runroot`, creating it if needed.
/// Call first, while the process is single-threaded; a no-op for root and
/// for a process already inside.
pub fn ensure(runroot: &Path) -> Result<(), RootlessError> {
    let uid = host_uid();
    if joined() || (uid.is_root() && std::env::var_os(ROOTLESS_UID_ENV).is_none()) {
        return Ok(());
    }
    let gid = host_gid();
    let started = std::time::Instant::now();
    prepare_run_dir(runroot, uid.as_raw())?;
    let _guard = lock(&runroot.join("pause.lock"), LockMode::Exclusive)?;
    let pid = if let Some(pid) = live_holder(&pause_pid_file(runroot)).filter(|p| try_join(*p)) {
        pid
    } else if live_monitors(runroot).into_iter().any(try_join) {
        // The pause process is gone, containers still hold the namespace:
        // joined through one of them, start a new pause inside.
        let pause =
            userns::spawn_detached(&pause_program(), &["--pause"]).map_err(RootlessError::Pause)?;
        write_pid(runroot, pause)?;
        pause
    } else {
        let pid = create(uid.as_raw(), gid.as_raw())?;
        write_pid(runroot, pid)?;
        join(pid)?;
        pid
    };
    // contrib/bench/rootless.sh reads this line.
    tracing::debug!(
        "joined the rootless user namespace of process {pid} in {} us",
        started.elapsed().as_micros()
    );
    // Inherited by the monitors and cleanups started from here.
    std::env::set_var(ROOTLESS_UID_ENV, uid.to_string());
    std::env::set_var(ROOTLESS_GID_ENV, gid.to_string());
    Ok(())
}

/// Create the run directory (private), refusing one that is not ours.
fn prepare_run_dir(runroot: &Path, uid: u32) -> Result<(), RootlessError> {
    use std::os::unix::fs::MetadataExt;
    if let Some(parent) = runroot.parent() {
        if let Ok(meta) = std::fs::metadata(parent) {
            // /tmp and the like (sticky, shared) are fine: skiff's own
            // directory below them is checked instead.
            let sticky = meta.mode() & 0o1000 != 0;
            if !sticky && meta.uid() != uid {
                return Err(RootlessError::RunDirOwner {
                    dir: parent.to_owned(),
                    owner: meta.uid(),
                    uid,
                });
            }
        }
    }
    crate::config::paths::ensure_private_dir(runroot).map_err(|source| RootlessError::RunDir {
        path: runroot.to_owned(),
        source,
    })?;
    let meta = std::fs::metadata(runroot).map_err(|source| RootlessError::RunDir {
        path: runroot.to_owned(),
        source,
    })?;
    if meta.uid() != uid {
        return Err(RootlessError::RunDirOwner {
            dir: runroot.to_owned(),
            owner: meta.uid(),
            uid,
        });
    }
    Ok(())
}

/// Join `pid`'s namespaces if it can still be done (it may have exited
/// since it was found).
fn try_join(pid: Pid) -> bool {
    match userns::join(pid) {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!("cannot join the namespaces of process {pid}: {e}");
            false
        }
    }
}

fn join(pid: Pid) -> Result<(), RootlessError> {
    userns::join(pid).map_err(|source| RootlessError::Join {
        pid: pid.as_raw(),
        source,
    })
}

fn write_pid(runroot: &Path, pid: Pid) -> Result<(), RootlessError> {
    crate::storage::record::write_atomic(&pause_pid_file(runroot), format!("{pid}\n").as_bytes())?;
    Ok(())
}

/// The process named in `file`, if it is alive, ours, and in a user
/// namespace other than ours (so a reused pid is not mistaken for it).
fn live_holder(file: &Path) -> Option<Pid> {
    let pid = recorded_live_pid(file)?;
    let theirs = userns::user_ns_of(Some(pid)).ok()?;
    let ours = userns::user_ns_of(None).ok()?;
    (theirs != ours).then_some(pid)
}

/// The pid in `file`, if that process lives (not a zombie) and is ours
/// (owned by our own effective id, as this namespace shows ids).
fn recorded_live_pid(file: &Path) -> Option<Pid> {
    use std::os::unix::fs::MetadataExt;
    let pid: i32 = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
    let owner = std::fs::metadata(format!("/proc/{pid}")).ok()?.uid();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
    let me = nix::unistd::geteuid().as_raw();
    (owner == me && state != "Z" && state != "X").then(|| Pid::from_raw(pid))
}

/// Running containers' monitors (they live in the namespace too).
fn live_monitors(runroot: &Path) -> Vec<Pid> {
    let Ok(dir) = std::fs::read_dir(runroot.join("containers")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| live_holder(&e.path().join("conmon.pid")))
        .collect()
}

/// From inside the namespace: its pause process, if it runs.
pub fn own_pause_process(runroot: &Path) -> Option<Pid> {
    let pid = recorded_live_pid(&pause_pid_file(runroot))?;
    let theirs = userns::user_ns_of(Some(pid)).ok()?;
    (theirs == userns::user_ns_of(None).ok()?).then_some(pid)
}

/// The pause program: skiff's init in its pause mode.
fn pause_program() -> PathBuf {
    crate::engine::container::binaries::init_program()
        .unwrap_or_else(|_| PathBuf::from("/nonexistent/skiff-init"))
}

/// Make the namespace: the user as root, the subordinate ranges after it.
fn create(uid: u32, gid: u32) -> Result<Pid, RootlessError> {
    let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string());
    let group_name = user.clone();
    let subuid = subid::read(Path::new("/etc/subuid"), &user, uid).map_err(|source| {
        RootlessError::SubIds {
            path: "/etc/subuid",
            source,
        }
    })?;
    let subgid = subid::read(Path::new("/etc/subgid"), &group_name, uid).map_err(|source| {
        RootlessError::SubIds {
            path: "/etc/subgid",
            source,
        }
    })?;
    for (ids, file) in [(&subuid, "/etc/subuid"), (&subgid, "/etc/subgid")] {
        if let Some(other) = &ids.overlap_with {
            return Err(RootlessError::Overlap {
                user: user.clone(),
                file,
                other: other.clone(),
            });
        }
    }
    let holder =
        userns::spawn_holder(&pause_program(), &["--pause"]).map_err(RootlessError::Create)?;
    let pid = holder.pid();
    if subuid.ranges.is_empty() || subgid.ranges.is_empty() {
        tracing::warn!(
            "{user} has no subordinate id range in /etc/subuid and /etc/subgid: containers get one id (root) only, and images with files of other owners cannot be used; add a range (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}) and run `skiff system migrate`"
        );
        write_single_map(pid, uid, gid)?;
    } else {
        run_map_tool(
            "newuidmap",
            pid,
            &subid::map_args(uid, &subuid.ranges),
            &user,
        )?;
        run_map_tool(
            "newgidmap",
            pid,
            &subid::map_args(gid, &subgid.ranges),
            &user,
        )?;
    }
    holder.mapped().map_err(RootlessError::Create)
}

/// Without subordinate ids, the kernel lets a user map its own ids.
fn write_single_map(pid: Pid, uid: u32, gid: u32) -> Result<(), RootlessError> {
    let write = |name: &str, text: String| {
        std::fs::write(format!("/proc/{pid}/{name}"), text).map_err(RootlessError::MapWrite)
    };
    write("uid_map", format!("0 {uid} 1\n"))?;
    write("setgroups", "deny".to_string())?;
    write("gid_map", format!("0 {gid} 1\n"))
}

fn run_map_tool(
    tool: &'static str,
    pid: Pid,
    args: &[String],
    user: &str,
) -> Result<(), RootlessError> {
    let path = crate::runtime::select::find_executable(tool).ok_or_else(|| {
        RootlessError::MapToolMissing {
            tool,
            user: user.to_string(),
        }
    })?;
    let out = std::process::Command::new(path)
        .arg(pid.to_string())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| RootlessError::MapTool {
            tool,
            message: e.to_string(),
        })?;
    if !out.status.success() {
        let message = String::from_utf8_lossy(&out.stderr)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no reason given")
            .trim()
            .to_string();
        return Err(RootlessError::MapTool { tool, message });
    }
    Ok(())
}
