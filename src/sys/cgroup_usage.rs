//! A process's cgroup directories (v1 controllers, the unified tree, or
//! both on a hybrid host) and what the kernel counts in them: the member
//! processes, CPU time, memory, block I/O and pids. See cgroups(7) and the
//! kernel's cgroup-v1 and cgroup-v2 documents for the files read here.

use std::io;
use std::path::{Path, PathBuf};

/// The cgroup directories of one process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessCgroup {
    /// (v1 controllers of the hierarchy, directory), e.g. (["cpu",
    /// "cpuacct"], /sys/fs/cgroup/cpu,cpuacct/x).
    v1: Vec<(Vec<String>, PathBuf)>,
    /// The directory in the unified (v2) hierarchy.
    unified: Option<PathBuf>,
    /// Whether the process sits in the root of every hierarchy (then the
    /// cgroup is the whole host, not the container's own).
    at_root: bool,
}

/// What a cgroup counts. `None`: the controller is not there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupUsage {
    pub cpu_ns: Option<u64>,
    /// Memory in use, without the inactive page cache (as `free` and
    /// docker count it).
    pub memory: Option<u64>,
    /// The memory limit; `None` when there is none.
    pub memory_limit: Option<u64>,
    pub block_read: u64,
    pub block_write: u64,
    pub pids: Option<u64>,
}

/// One cgroup mount of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CgroupMount {
    /// The path inside the hierarchy that is mounted.
    root: String,
    point: PathBuf,
    /// v1 controllers (and `name=...`); empty for cgroup2.
    controllers: Vec<String>,
    v2: bool,
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// The cgroup mounts of a mountinfo text.
fn parse_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let tail: Vec<&str> = right.split(' ').collect();
        let (Some(root), Some(point), Some(fstype)) = (fields.get(3), fields.get(4), tail.first())
        else {
            continue;
        };
        let v2 = *fstype == "cgroup2";
        if !v2 && *fstype != "cgroup" {
            continue;
        }
        let controllers = if v2 {
            Vec::new()
        } else {
            tail.get(2)
                .map(|o| {
                    o.split(',')
                        .filter(|c| !matches!(*c, "rw" | "ro") && !c.contains("xattr"))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        out.push(CgroupMount {
            root: unescape(root),
            point: PathBuf::from(unescape(point)),
            controllers,
            v2,
        });
    }
    out
}

/// The directory of `path` (as `/proc/PID/cgroup` names it) under `mount`.
fn dir_under(mount: &CgroupMount, path: &str) -> PathBuf {
    let root = mount.root.trim_end_matches('/');
    let inner = path.strip_prefix(root).unwrap_or(path);
    mount.point.join(inner.trim_start_matches('/'))
}

/// Resolve a `/proc/PID/cgroup` text against the cgroup mounts.
fn resolve(proc_cgroup: &str, mounts: &[CgroupMount]) -> ProcessCgroup {
    let mut cg = ProcessCgroup {
        at_root: true,
        ..Default::default()
    };
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if path != "/" {
            cg.at_root = false;
        }
        if ctrls.is_empty() {
            if let Some(m) = mounts.iter().find(|m| m.v2) {
                cg.unified = Some(dir_under(m, path));
            }
            continue;
        }
        let names: Vec<String> = ctrls.split(',').map(str::to_string).collect();
        if let Some(m) = mounts
            .iter()
            .find(|m| !m.v2 && names.iter().all(|n| m.controllers.contains(n)))
        {
            cg.v1.push((names, dir_under(m, path)));
        }
    }
    cg
}

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

fn read_u64(dir: &Path, file: &str) -> Option<u64> {
    read(dir, file)?.trim().parse().ok()
}

/// The value of `key` in a flat keyed file (`memory.stat`, `cpu.stat`).
fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

/// Bytes read and written, from v1 `blkio.*io_service_bytes*` lines
/// (`8:0 Read 4096`).
fn parse_blkio(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [_, op, n] = f.as_slice() {
            let n: u64 = n.parse().unwrap_or(0);
            match *op {
                "Read" => r += n,
                "Write" => w += n,
                _ => {}
            }
        }
    }
    (r, w)
}

/// Bytes read and written, from v2 `io.stat` lines (`8:0 rbytes=4096 ...`).
fn parse_io_stat(text: &str) -> (u64, u64) {
    let (mut r, mut w) = (0, 0);
    for kv in text.split_whitespace() {
        if let Some(v) = kv.strip_prefix("rbytes=") {
            r += v.parse().unwrap_or(0);
        } else if let Some(v) = kv.strip_prefix("wbytes=") {
            w += v.parse().unwrap_or(0);
        }
    }
    (r, w)
}

/// v1 reports "no limit" as the largest page-aligned i64.
const V1_UNLIMITED: u64 = 0x7FFF_FFFF_FFFF_F000;

impl ProcessCgroup {
    /// The cgroups of process `pid`.
    pub fn of(pid: i32) -> io::Result<ProcessCgroup> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))?;
        let mounts = parse_mounts(&std::fs::read_to_string("/proc/self/mountinfo")?);
        Ok(resolve(&text, &mounts))
    }

    /// The v1 directory of `controller`.
    fn v1(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|(c, _)| c.iter().any(|n| n == controller))
            .map(|(_, d)| d.as_path())
    }

    /// The directory holding `file`: the v1 controller's, else the unified
    /// one when that controller is enabled there.
    fn dir_for(&self, controller: &str, file: &str) -> Option<&Path> {
        if let Some(d) = self.v1(controller) {
            return Some(d);
        }
        self.unified.as_deref().filter(|d| d.join(file).exists())
    }

    /// Whether the cgroup is one named `name` (a container's own, rather
    /// than one it inherited, as a rootless container without cgroups does).
    pub fn is_named(&self, name: &str) -> bool {
        self.v1
            .iter()
            .map(|(_, d)| d.as_path())
            .chain(self.unified.as_deref())
            .any(|d| d.file_name().is_some_and(|n| n == name))
    }

    /// The processes in the cgroup; `None` when the process is in the root
    /// cgroup (that would be every process of the host) or nothing is
    /// readable.
    pub fn procs(&self) -> Option<Vec<i32>> {
        if self.at_root {
            return None;
        }
        let dirs = ["pids", "freezer", "memory", "cpu", "name=systemd"]
            .iter()
            .filter_map(|c| self.v1(c))
            .chain(self.unified.as_deref());
        for d in dirs {
            if let Some(text) = read(d, "cgroup.procs") {
                return Some(text.lines().filter_map(|l| l.trim().parse().ok()).collect());
            }
        }
        None
    }

    /// What the cgroup counts.
    pub fn usage(&self) -> CgroupUsage {
        let mut u = CgroupUsage::default();
        if self.at_root {
            return u;
        }
        if let Some(d) = self.v1("cpuacct") {
            u.cpu_ns = read_u64(d, "cpuacct.usage");
        } else if let Some(d) = self.dir_for("cpu", "cpu.stat") {
            u.cpu_ns = read(d, "cpu.stat")
                .and_then(|t| keyed(&t, "usage_usec"))
                .map(|us| us * 1000);
        }
        if let Some(d) = self.v1("memory") {
            let inactive = read(d, "memory.stat")
                .and_then(|t| keyed(&t, "total_inactive_file"))
                .unwrap_or(0);
            u.memory = read_u64(d, "memory.usage_in_bytes").map(|m| m.saturating_sub(inactive));
            u.memory_limit = read_u64(d, "memory.limit_in_bytes").filter(|l| *l < V1_UNLIMITED);
        } else if let Some(d) = self.dir_for("memory", "memory.current") {
            let inactive = read(d, "memory.stat")
                .and_then(|t| keyed(&t, "inactive_file"))
                .unwrap_or(0);
            u.memory = read_u64(d, "memory.current").map(|m| m.saturating_sub(inactive));
            u.memory_limit = read_u64(d, "memory.max");
        }
        if let Some(d) = self.dir_for("pids", "pids.current") {
            u.pids = read_u64(d, "pids.current");
        }
        if let Some(d) = self.v1("blkio") {
            let text = read(d, "blkio.throttle.io_service_bytes_recursive")
                .or_else(|| read(d, "blkio.throttle.io_service_bytes"))
                .unwrap_or_default();
            (u.block_read, u.block_write) = parse_blkio(&text);
        } else if let Some(d) = self.dir_for("io", "io.stat") {
            (u.block_read, u.block_write) = parse_io_stat(&read(d, "io.stat").unwrap_or_default());
        }
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
30 24 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw,nsdelegate
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
35 30 0:31 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
36 30 0:32 /outer /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids
";

    #[test]
    fn paths_resolve_against_mounts() {
        let mounts = parse_mounts(HYBRID);
        assert_eq!(mounts.len(), 5);
        let cg = resolve(
            "5:pids:/outer/c1\n4:memory:/a/c1\n3:cpu,cpuacct:/c1\n1:name=systemd:/c1\n0::/c1\n",
            &mounts,
        );
        assert!(!cg.at_root);
        assert_eq!(cg.v1("pids"), Some(Path::new("/sys/fs/cgroup/pids/c1")));
        assert_eq!(
            cg.v1("memory"),
            Some(Path::new("/sys/fs/cgroup/memory/a/c1"))
        );
        assert_eq!(
            cg.v1("cpuacct"),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct/c1"))
        );
        assert_eq!(
            cg.v1("name=systemd"),
            Some(Path::new("/sys/fs/cgroup/systemd/c1"))
        );
        assert_eq!(
            cg.unified.as_deref(),
            Some(Path::new("/sys/fs/cgroup/unified/c1"))
        );
        let root = resolve("4:memory:/\n0::/\n", &mounts);
        assert!(root.at_root);
        assert_eq!(root.procs(), None);
    }

    #[test]
    fn counters_parse() {
        assert_eq!(
            parse_blkio("8:0 Read 4096\n8:0 Write 512\n8:0 Sync 1\n8:16 Read 4\nTotal 4612\n"),
            (4100, 512)
        );
        assert_eq!(
            parse_io_stat("8:0 rbytes=10 wbytes=20 rios=1 wios=2\n8:16 rbytes=1 wbytes=2\n"),
            (11, 22)
        );
        assert_eq!(
            keyed("cache 5\ntotal_inactive_file 7\n", "total_inactive_file"),
            Some(7)
        );
        assert_eq!(keyed("usage_usec 12\n", "user_usec"), None);
    }
}
