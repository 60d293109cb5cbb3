//! The cgroup file system inside a container: cgroup2 where the host has
//! it (a bind of the container's own cgroup when a user namespace may not
//! mount one), else a tmpfs with each v1 hierarchy's cgroup of the
//! container bind-mounted in, as runc lays it out.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;

use super::rootfs::{ensure_target, fail, fd_path, mount_at, remount_bind, MountOptions};
use super::SetupError;

/// Mount the cgroup file system: cgroup2 where the host has it (a bind of the
/// container's own cgroup when a user namespace cannot mount one), else a
/// tmpfs with each v1 hierarchy's cgroup of this process bind-mounted in.
pub(super) fn mount_cgroup(
    root: BorrowedFd<'_>,
    dest: &str,
    opts: &MountOptions,
    _typ: &str,
) -> Result<(), SetupError> {
    let target_fd = ensure_target(root, dest, false)
        .map_err(|e| fail(format!("mounting cgroups on {dest}"), e))?;
    let target = fd_path(target_fd.as_fd());
    let own = own_cgroups();
    let flags = opts.flags | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if crate::sys::cgroup::mode() == crate::sys::cgroup::CgroupMode::V2 {
        match mount_at(
            Some(Path::new("cgroup2")),
            &target,
            Some("cgroup2"),
            flags,
            "",
        ) {
            Ok(()) => return Ok(()),
            Err(Errno::EPERM | Errno::EBUSY) => {
                let path = own.get("").cloned().unwrap_or_else(|| "/".into());
                let host = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
                mount_at(
                    Some(&host),
                    &target,
                    None,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    "",
                )
                .map_err(|e| fail(format!("binding {} on {dest}", host.display()), e))?;
                let fd = ensure_target(root, dest, false)
                    .map_err(|e| fail("reopening the cgroup mount", e))?;
                return remount_bind(&fd_path(fd.as_fd()), flags)
                    .map_err(|e| fail("remounting the cgroup mount", e));
            }
            Err(e) => return Err(fail(format!("mounting cgroup2 on {dest}"), e)),
        }
    }
    mount_at(
        Some(Path::new("tmpfs")),
        &target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        "mode=755",
    )
    .map_err(|e| fail(format!("mounting a tmpfs on {dest}"), e))?;
    for (mount_point, key) in cgroup_hierarchies() {
        let name = Path::new(&mount_point)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.is_empty() {
            continue;
        }
        let sub = format!("{}/{name}", dest.trim_end_matches('/'));
        let path = own.get(&key).cloned().unwrap_or_else(|| "/".into());
        let host = Path::new(&mount_point).join(path.trim_start_matches('/'));
        let fd =
            ensure_target(root, &sub, false).map_err(|e| fail(format!("creating {sub}"), e))?;
        mount_at(
            Some(&host),
            &fd_path(fd.as_fd()),
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            "",
        )
        .map_err(|e| fail(format!("binding {} on {sub}", host.display()), e))?;
        let fd =
            ensure_target(root, &sub, false).map_err(|e| fail(format!("reopening {sub}"), e))?;
        remount_bind(&fd_path(fd.as_fd()), flags)
            .map_err(|e| fail(format!("remounting {sub}"), e))?;
        // cpu,cpuacct is also reachable as cpu and cpuacct.
        if name.contains(',') {
            let dir = ensure_target(root, dest, false)
                .map_err(|e| fail("reopening the cgroup tmpfs", e))?;
            for alias in name.split(',') {
                let _ = nix::unistd::symlinkat(name.as_str(), Some(dir.as_raw_fd()), alias);
            }
        }
    }
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        let fd =
            ensure_target(root, dest, false).map_err(|e| fail("reopening the cgroup tmpfs", e))?;
        mount_at(
            None,
            &fd_path(fd.as_fd()),
            None,
            MsFlags::MS_REMOUNT
                | MsFlags::MS_RDONLY
                | MsFlags::MS_NOSUID
                | MsFlags::MS_NODEV
                | MsFlags::MS_NOEXEC,
            "mode=755",
        )
        .map_err(|e| fail("making the cgroup tmpfs read-only", e))?;
    }
    Ok(())
}

/// This process's cgroup per hierarchy (`/proc/self/cgroup`): controller
/// list (or `name=systemd`, or "" for v2) to path.
fn own_cgroups() -> std::collections::HashMap<String, String> {
    std::fs::read_to_string("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let ctrl = parts.next()?;
            let path = parts.next()?;
            Some((ctrl.to_string(), path.to_string()))
        })
        .collect()
}

/// The host's cgroup mounts: (mount point, key into /proc/self/cgroup).
fn cgroup_hierarchies() -> Vec<(String, String)> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mut r = right.split(' ');
            let fstype = r.next()?;
            let _source = r.next()?;
            let super_opts = r.next().unwrap_or("");
            let mount_point = left.split(' ').nth(4)?.to_string();
            if !mount_point.starts_with("/sys/fs/cgroup/") {
                return None;
            }
            match fstype {
                "cgroup2" => Some((mount_point, String::new())),
                "cgroup" => {
                    let key: Vec<&str> = super_opts
                        .split(',')
                        .filter(|o| {
                            !matches!(*o, "rw" | "ro")
                                && !o.starts_with("release_agent")
                                && *o != "xattr"
                                && *o != "clone_children"
                                && *o != "noprefix"
                                && *o != "cpuset_v2_mode"
                        })
                        .collect();
                    Some((mount_point, key.join(",")))
                }
                _ => None,
            }
        })
        .collect()
}
