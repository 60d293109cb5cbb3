//! Best-effort detection of the kernel's OOM killer: the container's memory
//! cgroup counts kills (`oom_kill` in cgroup v2 `memory.events`, and in v1
//! `memory.oom_control` since Linux 4.13). The count is read when the
//! container starts and again when it has exited; a rise leaves an `oom`
//! file in the persist directory and the bundle, as conmon does.
//!
//! Unlike conmon this does not watch for events while the container runs,
//! so a kill is noticed only if the cgroup still exists at exit (the
//! runtime removes it on `delete`, after the monitor is done), and OOM
//! events that killed nothing are not reported.

use std::path::{Path, PathBuf};

use crate::args::Options;
use crate::diag::{debug, info, warning};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The file holding the kill counter for the cgroup described by the text of
/// `/proc/PID/cgroup`.
pub fn counter_path(proc_cgroup: &str, unified: bool) -> Option<PathBuf> {
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let rel = path.trim_start_matches('/');
        if unified {
            if id == "0" && controllers.is_empty() {
                return Some(Path::new(CGROUP_ROOT).join(rel).join("memory.events"));
            }
        } else if controllers.split(',').any(|c| c == "memory") {
            return Some(
                Path::new(CGROUP_ROOT)
                    .join("memory")
                    .join(rel)
                    .join("memory.oom_control"),
            );
        }
    }
    None
}

/// The `oom_kill N` counter in `memory.events` or `memory.oom_control`.
pub fn parse_kills(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        l.strip_prefix("oom_kill ")
            .and_then(|n| n.trim().parse().ok())
    })
}

fn is_unified() -> bool {
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC};
    statfs(CGROUP_ROOT).is_ok_and(|s| s.filesystem_type() == CGROUP2_SUPER_MAGIC)
}

pub struct OomWatch {
    counter: PathBuf,
    baseline: u64,
}

impl OomWatch {
    /// Start watching the memory cgroup of `pid` (None if it has none we can read).
    pub fn new(pid: i32) -> Option<OomWatch> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        let counter = counter_path(&text, is_unified())?;
        let baseline = std::fs::read_to_string(&counter)
            .ok()
            .and_then(|t| parse_kills(&t));
        debug!("OOM kill counter {}: {baseline:?}", counter.display());
        Some(OomWatch {
            baseline: baseline?,
            counter,
        })
    }

    pub fn killed(&self) -> bool {
        std::fs::read_to_string(&self.counter)
            .ok()
            .and_then(|t| parse_kills(&t))
            .is_some_and(|n| n > self.baseline)
    }
}

/// Leave the `oom` marker files.
pub fn write_markers(opts: &Options) {
    info!("the container was killed for lack of memory");
    for dir in [opts.persist_dir.as_deref(), opts.bundle.as_deref()]
        .into_iter()
        .flatten()
    {
        let path = dir.join("oom");
        if let Err(e) = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            warning!("cannot write {}: {e}", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_paths() {
        let hybrid = "12:pids:/ctr\n5:memory:/machine/ctr\n1:name=systemd:/x\n0::/unified/ctr\n";
        assert_eq!(
            counter_path(hybrid, false),
            Some(PathBuf::from(
                "/sys/fs/cgroup/memory/machine/ctr/memory.oom_control"
            ))
        );
        assert_eq!(
            counter_path(hybrid, true),
            Some(PathBuf::from("/sys/fs/cgroup/unified/ctr/memory.events"))
        );
        assert_eq!(
            counter_path("3:cpu,memory:/\n", false),
            Some(PathBuf::from("/sys/fs/cgroup/memory/memory.oom_control"))
        );
        assert_eq!(counter_path("0::/a\n", false), None);
        assert_eq!(counter_path("", true), None);
    }

    #[test]
    fn kill_counters() {
        assert_eq!(
            parse_kills("low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n"),
            Some(1)
        );
        assert_eq!(
            parse_kills("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n"),
            Some(7)
        );
        assert_eq!(parse_kills("oom_kill_disable 0\nunder_oom 0\n"), None);
    }
}
