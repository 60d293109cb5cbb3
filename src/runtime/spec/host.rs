//! What the spec depends on about the host and the calling process: cgroup
//! layout, resource limits, capabilities, the oom score, the id map. The
//! engine probes these once with [`Host::probe`]; tests write them by hand,
//! so that building a spec stays a pure function of its options.

use std::path::Path;

use oci_spec::runtime::PosixRlimitType;

use super::capabilities::{self, CapSet};
use crate::sys::cgroup::{self, CgroupMode};

/// `RLIM_INFINITY` as /proc and the runtime spec carry it.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// One resource limit of the calling process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub kind: PosixRlimitType,
    pub soft: u64,
    pub hard: u64,
}

/// Facts about the host and the process that builds the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The cgroup layout; a private cgroup namespace is podman's default
    /// only on a unified (v2) host.
    pub cgroup: CgroupMode,
    /// The caller's resource limits (getrlimit(2), read from
    /// /proc/self/limits).
    pub limits: Vec<Limit>,
    /// Whether the caller may raise a hard limit: CAP_SYS_RESOURCE in the
    /// initial user namespace. Without it, default limits are clamped to the
    /// caller's own.
    pub can_raise_limits: bool,
    /// `fs.nr_open`: no RLIMIT_NOFILE may exceed it, capability or not.
    pub nr_open: u64,
    /// The caller's bounding set: no container gets a capability outside it.
    pub bounding: CapSet,
    /// The caller's oom_score_adj; a rootless caller cannot go below it.
    pub oom_score_adj: i32,
    /// Whether the kernel knows the mqueue file system.
    pub mqueue: bool,
    /// Whether gid 5 (tty) is mapped in the caller's user namespace, so that
    /// /dev/pts can be mounted with `gid=5`.
    pub gid5_mapped: bool,
    /// Kernel version (major, minor), for seccomp rules with a minimum.
    pub kernel: (u32, u32),
    /// Host paths that podman masks by glob
    /// (/sys/devices/system/cpu/cpu*/thermal_throttle), expanded.
    pub extra_masked_paths: Vec<String>,
    /// Whether the memory cgroup accounts swap (memory.memsw.* on v1,
    /// memory.swap.* on v2); without it podman sets no default swap limit.
    pub swap_accounting: bool,
}

impl Host {
    /// Read the facts from the running system. Unreadable facts fall back to
    /// the conservative side (no capability to raise limits, limits unknown).
    pub fn probe() -> Host {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let eff = status_mask(&status, "CapEff:").unwrap_or(0);
        let bounding = status_mask(&status, "CapBnd:").map_or(CapSet::all(), CapSet::from_mask);
        let in_userns = crate::sys::is_in_user_namespace();
        let sys_resource = capabilities::number("CAP_SYS_RESOURCE")
            .is_some_and(|n| CapSet::from_mask(eff).contains(n));
        Host {
            cgroup: cgroup::mode(),
            limits: std::fs::read_to_string("/proc/self/limits")
                .map(|t| parse_limits(&t))
                .unwrap_or_default(),
            can_raise_limits: sys_resource && !in_userns,
            nr_open: read_trimmed("/proc/sys/fs/nr_open")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_048_576),
            bounding,
            oom_score_adj: read_trimmed("/proc/self/oom_score_adj")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            mqueue: std::fs::read_to_string("/proc/filesystems")
                .map(|t| filesystems_has(&t, "mqueue"))
                .unwrap_or(false),
            gid5_mapped: std::fs::read_to_string("/proc/self/gid_map")
                .map(|t| id_map_contains(&t, 5))
                .unwrap_or(true),
            kernel: read_trimmed("/proc/sys/kernel/osrelease")
                .map(|s| parse_kernel(&s))
                .unwrap_or((0, 0)),
            extra_masked_paths: thermal_throttle_paths(Path::new("/sys/devices/system/cpu")),
            swap_accounting: swap_accounting(),
        }
    }

    /// The caller's (soft, hard) limit of `kind`, if known.
    pub fn limit(&self, kind: PosixRlimitType) -> Option<(u64, u64)> {
        self.limits
            .iter()
            .find(|l| l.kind == kind)
            .map(|l| (l.soft, l.hard))
    }
}

/// v1: the memory hierarchy's root has memory.memsw files; v2: a memory
/// cgroup below the root (this process's, or the first child) has
/// memory.swap.max.
fn swap_accounting() -> bool {
    if Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
        return true;
    }
    let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") else {
        return false;
    };
    entries
        .flatten()
        .any(|e| e.path().join("memory.swap.max").exists())
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn status_mask(status: &str, field: &str) -> Option<u64> {
    let hex = status.lines().find_map(|l| l.strip_prefix(field))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// The rows of /proc/PID/limits (proc(5)), by the kernel's fixed names.
const LIMIT_ROWS: [(&str, PosixRlimitType); 16] = [
    ("Max cpu time", PosixRlimitType::RlimitCpu),
    ("Max file size", PosixRlimitType::RlimitFsize),
    ("Max data size", PosixRlimitType::RlimitData),
    ("Max stack size", PosixRlimitType::RlimitStack),
    ("Max core file size", PosixRlimitType::RlimitCore),
    ("Max resident set", PosixRlimitType::RlimitRss),
    ("Max processes", PosixRlimitType::RlimitNproc),
    ("Max open files", PosixRlimitType::RlimitNofile),
    ("Max locked memory", PosixRlimitType::RlimitMemlock),
    ("Max address space", PosixRlimitType::RlimitAs),
    ("Max file locks", PosixRlimitType::RlimitLocks),
    ("Max pending signals", PosixRlimitType::RlimitSigpending),
    ("Max msgqueue size", PosixRlimitType::RlimitMsgqueue),
    ("Max nice priority", PosixRlimitType::RlimitNice),
    ("Max realtime priority", PosixRlimitType::RlimitRtprio),
    ("Max realtime timeout", PosixRlimitType::RlimitRttime),
];

fn limit_value(s: &str) -> Option<u64> {
    if s == "unlimited" {
        Some(RLIM_INFINITY)
    } else {
        s.parse().ok()
    }
}

/// Parse /proc/PID/limits.
pub fn parse_limits(text: &str) -> Vec<Limit> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((name, kind)) = LIMIT_ROWS.iter().find(|(n, _)| {
            line.strip_prefix(n)
                .is_some_and(|rest| rest.starts_with("  ") || rest.starts_with(' '))
        }) else {
            continue;
        };
        let mut fields = line[name.len()..].split_whitespace();
        let (Some(soft), Some(hard)) = (
            fields.next().and_then(limit_value),
            fields.next().and_then(limit_value),
        ) else {
            continue;
        };
        out.push(Limit {
            kind: *kind,
            soft,
            hard,
        });
    }
    out
}

fn filesystems_has(text: &str, fs: &str) -> bool {
    text.lines()
        .any(|l| l.split_whitespace().next_back() == Some(fs))
}

/// Whether an id map (user_namespaces(7): `inside outside count` rows)
/// maps `id` inside the namespace.
pub fn id_map_contains(map: &str, id: u64) -> bool {
    map.lines().any(|l| {
        let f: Vec<u64> = l
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        matches!(f.as_slice(), [inside, _, count] if *inside <= id && id < inside + count)
    })
}

fn parse_kernel(release: &str) -> (u32, u32) {
    let mut parts = release.split(['.', '-']);
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

fn thermal_throttle_paths(cpu_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(cpu_dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix("cpu")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(|e| e.path().join("thermal_throttle"))
        .filter(|p| p.exists())
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max processes             96365                96365                processes 
Max open files            20000                20000                files     
Max locked memory         8388608              8388608              bytes     
Max realtime timeout      unlimited            unlimited            us        
";

    #[test]
    fn limits_table() {
        let l = parse_limits(LIMITS);
        assert_eq!(l.len(), 5);
        let host = Host {
            limits: l,
            ..crate::runtime::spec::tests::host()
        };
        assert_eq!(
            host.limit(PosixRlimitType::RlimitNofile),
            Some((20000, 20000))
        );
        assert_eq!(
            host.limit(PosixRlimitType::RlimitCpu),
            Some((RLIM_INFINITY, RLIM_INFINITY))
        );
        assert_eq!(
            host.limit(PosixRlimitType::RlimitRttime),
            Some((RLIM_INFINITY, RLIM_INFINITY))
        );
        assert_eq!(host.limit(PosixRlimitType::RlimitCore), None);
    }

    #[test]
    fn id_maps() {
        assert!(id_map_contains("         0          0 4294967295\n", 5));
        assert!(!id_map_contains("0 1000 1\n", 5));
        assert!(id_map_contains("0 1000 1\n1 100000 65536\n", 5));
    }

    #[test]
    fn probe_reads_this_process() {
        let host = Host::probe();
        // The probed NOFILE limit is the one this process runs with.
        let own = std::fs::read_to_string("/proc/self/limits").expect("limits");
        let row = own
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .expect("row");
        let hard: Vec<&str> = row.split_whitespace().collect();
        let (_, probed_hard) = host
            .limit(PosixRlimitType::RlimitNofile)
            .expect("nofile known");
        assert_eq!(probed_hard.to_string(), hard[4]);
        assert!(host.kernel.0 >= 3);
        assert!(!host.bounding.is_empty());
    }

    #[test]
    fn kernel_release() {
        assert_eq!(parse_kernel("6.18.0-1-amd64"), (6, 18));
        assert_eq!(parse_kernel("5.4"), (5, 4));
    }
}
