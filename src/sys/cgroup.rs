//! Which cgroup layout the host has: unified (v2), legacy (v1), or hybrid
//! (v1 controllers beside a v2 mount with no controllers).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    V2,
    V1,
    Hybrid,
}

impl fmt::Display for CgroupMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CgroupMode::V2 => "v2",
            CgroupMode::V1 => "v1",
            CgroupMode::Hybrid => "hybrid",
        })
    }
}

fn is_cgroup2(path: &str) -> bool {
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// The host's cgroup layout, from the filesystem types under /sys/fs/cgroup.
pub fn mode() -> CgroupMode {
    if is_cgroup2("/sys/fs/cgroup") {
        CgroupMode::V2
    } else if is_cgroup2("/sys/fs/cgroup/unified") {
        CgroupMode::Hybrid
    } else {
        CgroupMode::V1
    }
}

/// The directories of cgroup `relative` (as in a spec's `cgroupsPath`) in
/// every mounted hierarchy, v1 and v2.
pub fn dirs_of(relative: &std::path::Path) -> Vec<std::path::PathBuf> {
    let rel = relative.strip_prefix("/").unwrap_or(relative);
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    info.lines()
        .filter_map(|line| {
            // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - TYPE SOURCE SUPER
            let (left, right) = line.split_once(" - ")?;
            let fstype = right.split(' ').next()?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            let mount_point = left.split(' ').nth(4)?;
            Some(std::path::Path::new(mount_point).join(rel))
        })
        .collect()
}

/// Remove a container's cgroup directories once its runtime cannot (its
/// state is gone, as after a reboot or a wiped run directory): processes
/// still in them are killed first, then the directories (deepest first)
/// removed. Returns what could not be removed.
pub fn remove_container_cgroup(relative: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut left = Vec::new();
    for dir in dirs_of(relative) {
        if !dir.is_dir() {
            continue;
        }
        let mut tree = Vec::new();
        collect_dirs(&dir, &mut tree);
        // Children before parents.
        for d in tree.iter().rev() {
            if !empty_out(d) || std::fs::remove_dir(d).is_err() {
                left.push(d.clone());
            }
        }
    }
    left
}

fn collect_dirs(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    out.push(dir.to_path_buf());
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_dirs(&e.path(), out);
            }
        }
    }
}

/// SIGKILL what is in cgroup `dir` and wait (briefly) until it is empty.
fn empty_out(dir: &std::path::Path) -> bool {
    let procs = dir.join("cgroup.procs");
    for _ in 0..100 {
        let Ok(text) = std::fs::read_to_string(&procs) else {
            return true;
        };
        let pids: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if pids.is_empty() {
            return true;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// Whether the caller, not being root, has a cgroup v2 subtree of its own
/// (systemd's `Delegate=yes` for a user session): its cgroup directory
/// belongs to it and offers the memory and pids controllers.
pub fn delegated_to_caller() -> bool {
    use std::os::unix::fs::MetadataExt;
    if mode() != CgroupMode::V2 {
        return false;
    }
    let Ok(own) = std::fs::read_to_string("/proc/self/cgroup") else {
        return false;
    };
    let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
        return false;
    };
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let owned =
        std::fs::metadata(&dir).is_ok_and(|m| m.uid() == crate::config::paths::host_uid().as_raw());
    let controllers = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
    owned && has("memory") && has("pids")
}
