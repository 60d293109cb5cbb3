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
