//! The resource limits of a container's cgroup: memory, CPU, cpuset, pids,
//! block I/O, huge pages and raw `unified` (cgroup v2) files, written to
//! the v1 files where a v1 hierarchy has the controller and to the v2 ones
//! otherwise, with runc's v1-to-v2 conversions. Device rules are in
//! `devices`.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::Path;

use nix::errno::Errno;
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxResources};

use super::{read, unsupported, v2_controller, write, Cgroup, CgroupError, Controller, Version};

impl Cgroup {
    /// Write the limits, in runc's order. What the spec leaves out (or sets
    /// to 0, as runc reads it) is not written.
    pub(super) fn apply(&self, r: &LinuxResources) -> Result<(), CgroupError> {
        if r.network().is_some() {
            return Err(unsupported(
                "network classes and priorities (net_cls, net_prio)",
            ));
        }
        if r.rdma().as_ref().is_some_and(|m| !m.is_empty()) {
            return Err(unsupported("rdma limits"));
        }
        if let Some(p) = r.pids() {
            let (dir, _) = self.target(Controller::Pids)?;
            write(dir, "pids.max", &pids_max(p.limit()))?;
        }
        if let Some(m) = r.memory() {
            self.apply_memory(m)?;
        }
        if let Some(b) = r.block_io() {
            self.apply_block_io(b)?;
        }
        if let Some(c) = r.cpu() {
            self.apply_cpu(c)?;
            self.apply_cpuset(c)?;
        }
        if let Some(rules) = r.devices().as_deref().filter(|d| !d.is_empty()) {
            self.apply_devices(rules)?;
        }
        for h in r.hugepage_limits().iter().flatten() {
            self.apply_hugepages(h)?;
        }
        if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
            self.apply_unified(u)?;
        }
        Ok(())
    }

    fn apply_memory(&self, m: &LinuxMemory) -> Result<(), CgroupError> {
        if m.kernel().is_some() {
            tracing::warn!("kernel memory limits are no longer supported by Linux: ignored");
        }
        // The TCP buffer limit still exists on v1 (as runc sets it).
        if let Some(tcp) = nonzero(m.kernel_tcp()) {
            match self.target(Controller::Memory)? {
                (dir, Version::V1) if dir.join("memory.kmem.tcp.limit_in_bytes").exists() => {
                    write(dir, "memory.kmem.tcp.limit_in_bytes", &tcp.to_string())?;
                }
                _ => tracing::warn!(
                    "the kernel TCP memory limit exists only on cgroup v1 hosts: ignored"
                ),
            }
        }
        let asked = [m.limit(), m.reservation(), m.swap()]
            .into_iter()
            .any(|v| nonzero(v).is_some())
            || m.swappiness().is_some()
            || m.disable_oom_killer() == Some(true);
        if !asked {
            return Ok(());
        }
        match self.target(Controller::Memory)? {
            (dir, Version::V1) => memory_v1(dir, m),
            (dir, Version::V2) => memory_v2(dir, m),
        }
    }

    fn apply_cpu(&self, c: &LinuxCpu) -> Result<(), CgroupError> {
        let asked = c.shares().is_some_and(|s| s != 0)
            || nonzero(c.quota()).is_some()
            || c.period().is_some_and(|p| p != 0)
            || realtime(c)
            || c.burst().is_some()
            || c.idle().is_some();
        if !asked {
            return Ok(());
        }
        match self.target(Controller::Cpu)? {
            (dir, Version::V1) => cpu_v1(dir, c),
            (dir, Version::V2) => cpu_v2(dir, c),
        }
    }

    fn apply_cpuset(&self, c: &LinuxCpu) -> Result<(), CgroupError> {
        let cpus = c.cpus().as_deref().filter(|s| !s.is_empty());
        let mems = c.mems().as_deref().filter(|s| !s.is_empty());
        if cpus.is_none() && mems.is_none() {
            return Ok(());
        }
        // Same file names on v1 and v2.
        let (dir, _) = self.target(Controller::Cpuset)?;
        if let Some(v) = cpus {
            write(dir, "cpuset.cpus", v)?;
        }
        if let Some(v) = mems {
            write(dir, "cpuset.mems", v)?;
        }
        Ok(())
    }

    fn apply_block_io(&self, b: &LinuxBlockIo) -> Result<(), CgroupError> {
        let throttles = [
            (b.throttle_read_bps_device(), "read_bps", "rbps"),
            (b.throttle_write_bps_device(), "write_bps", "wbps"),
            (b.throttle_read_iops_device(), "read_iops", "riops"),
            (b.throttle_write_iops_device(), "write_iops", "wiops"),
        ];
        let weight = b.weight().filter(|w| *w != 0);
        let devices = b.weight_device().as_deref().unwrap_or_default();
        if b.leaf_weight().is_some() || devices.iter().any(|d| d.leaf_weight().is_some()) {
            return Err(unsupported(
                "block I/O leaf weights (the CFQ scheduler is gone from Linux)",
            ));
        }
        let asked = weight.is_some()
            || devices.iter().any(|d| d.weight().is_some())
            || throttles
                .iter()
                .any(|(t, ..)| t.iter().flatten().next().is_some());
        if !asked {
            return Ok(());
        }
        let (dir, version) = self.target(Controller::Io)?;
        if version == Version::V1 {
            let bfq = dir.join("blkio.bfq.weight").exists();
            let prefix = if bfq { "blkio.bfq." } else { "blkio." };
            if let Some(w) = weight {
                write(dir, &format!("{prefix}weight"), &w.to_string())?;
            }
            for d in devices {
                if let Some(w) = d.weight() {
                    let line = format!("{}:{} {w}", d.major(), d.minor());
                    write(dir, &format!("{prefix}weight_device"), &line)?;
                }
            }
            for (list, name, _) in throttles {
                for t in list.iter().flatten() {
                    let line = format!("{}:{} {}", t.major(), t.minor(), t.rate());
                    write(dir, &format!("blkio.throttle.{name}_device"), &line)?;
                }
            }
            return Ok(());
        }
        let bfq = dir.join("io.bfq.weight").exists();
        if let Some(w) = weight {
            if bfq {
                write(dir, "io.bfq.weight", &w.to_string())?;
            } else {
                write(dir, "io.weight", &blkio_to_io_weight(w).to_string())?;
            }
        }
        for d in devices {
            if let Some(w) = d.weight() {
                if !bfq {
                    return Err(unsupported(
                        "per-device block I/O weights on cgroup v2 without the BFQ scheduler",
                    ));
                }
                write(
                    dir,
                    "io.bfq.weight",
                    &format!("{}:{} {w}", d.major(), d.minor()),
                )?;
            }
        }
        for (list, _, key) in throttles {
            for t in list.iter().flatten() {
                let line = format!("{}:{} {key}={}", t.major(), t.minor(), t.rate());
                write(dir, "io.max", &line)?;
            }
        }
        Ok(())
    }

    fn apply_hugepages(&self, h: &LinuxHugepageLimit) -> Result<(), CgroupError> {
        let size = h.page_size();
        if size.is_empty() || !size.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(CgroupError::Invalid {
                what: "huge page size",
                detail: format!("{size:?} (expected e.g. 2MB)"),
            });
        }
        let (dir, version) = self.target(Controller::Hugetlb)?;
        let (file, rsvd, value) = match version {
            Version::V1 => (
                format!("hugetlb.{size}.limit_in_bytes"),
                format!("hugetlb.{size}.rsvd.limit_in_bytes"),
                h.limit().to_string(),
            ),
            Version::V2 => (
                format!("hugetlb.{size}.max"),
                format!("hugetlb.{size}.rsvd.max"),
                v2_value(h.limit()),
            ),
        };
        if !dir.join(&file).exists() {
            return Err(unsupported(format!(
                "huge pages of {size} (no {file} in {})",
                dir.display()
            )));
        }
        write(dir, &file, &value)?;
        if dir.join(&rsvd).exists() {
            write(dir, &rsvd, &value)?;
        }
        Ok(())
    }

    /// `unified`: cgroup v2 files written as they are, after the rest so
    /// that they win, line by line (as runc does).
    fn apply_unified(&self, unified: &HashMap<String, String>) -> Result<(), CgroupError> {
        let Some(h) = self.v2().filter(|h| h.dir.is_dir()) else {
            return Err(unsupported(
                "unified (cgroup v2) resources without a cgroup v2 hierarchy",
            ));
        };
        let mut entries: Vec<_> = unified.iter().collect();
        entries.sort();
        for (key, value) in entries {
            let controller = match key.split_once('.') {
                Some((c, rest)) if !c.is_empty() && !rest.is_empty() && !key.contains('/') => c,
                _ => {
                    return Err(CgroupError::Invalid {
                        what: "unified resource",
                        detail: format!("{key:?} is not a CONTROLLER.PARAMETER file name"),
                    })
                }
            };
            for line in value.lines().filter(|l| !l.is_empty()) {
                if write(&h.dir, key, line).is_ok() {
                    continue;
                }
                // Perhaps a controller to enable first (hybrid hosts).
                if controller != "cgroup" {
                    v2_controller(h, controller).map_err(|e| match e {
                        CgroupError::NoController { controller } => unsupported(format!(
                            "unified resource {key}: no {controller} controller in the cgroup v2 hierarchy"
                        )),
                        e => e,
                    })?;
                }
                write(&h.dir, key, line)?;
            }
        }
        Ok(())
    }
}

fn read_u64(dir: &Path, file: &str) -> Result<u64, CgroupError> {
    let text = read(dir, file)?;
    text.trim().parse().map_err(|_| CgroupError::Read {
        file: file.to_string(),
        dir: dir.to_path_buf(),
        source: io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not a number: {text:?}"),
        ),
    })
}

fn nonzero(v: Option<i64>) -> Option<i64> {
    v.filter(|v| *v != 0)
}

fn realtime(c: &LinuxCpu) -> bool {
    nonzero(c.realtime_runtime()).is_some() || c.realtime_period().is_some_and(|p| p != 0)
}

/// A cgroup v2 amount: "max" for -1 (unlimited), as runc writes it.
fn v2_value(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// `pids.max`: 0 or negative means unlimited.
fn pids_max(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_string()
    }
}

/// `cpu.weight` (1..=10000) for v1 `cpu.shares` (2..=262144), as runc
/// converts it: 1024, the default, becomes 39.
fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// `io.weight` (1..=10000) for v1 `blkio.weight` (10..=1000), as runc
/// converts it.
fn blkio_to_io_weight(weight: u16) -> u64 {
    let w = u64::from(weight.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

/// `cpu.max` for a CFS quota and period: "QUOTA PERIOD", "max PERIOD" for
/// no quota, or the quota alone (the kernel keeps the period).
fn cpu_max(quota: Option<i64>, period: Option<u64>) -> Option<String> {
    if quota.is_none() && period.is_none() {
        return None;
    }
    let quota = match quota {
        Some(q) if q > 0 => q.to_string(),
        _ => "max".to_string(),
    };
    Some(match period {
        Some(p) => format!("{quota} {p}"),
        None => quota,
    })
}

/// A cgroup v2 limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Max,
    Bytes(u64),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Max => f.write_str("max"),
            Limit::Bytes(n) => write!(f, "{n}"),
        }
    }
}

/// `memory.swap.max` (swap alone) for the spec's memory limit and its v1
/// memory+swap limit, as runc converts them; `None`: leave it.
fn swap_max_v2(limit: Option<i64>, swap: Option<i64>) -> Result<Option<Limit>, CgroupError> {
    let invalid = |detail: String| CgroupError::Invalid {
        what: "memory swap limit",
        detail,
    };
    match (limit, swap) {
        // Unlimited memory, swap unsaid: both unlimited.
        (Some(-1), None) => Ok(Some(Limit::Max)),
        (_, None) => Ok(None),
        (_, Some(-1)) => Ok(Some(Limit::Max)),
        (None | Some(-1), Some(s)) => Err(invalid(format!(
            "{s} without a memory limit (memory+swap needs both)"
        ))),
        (Some(l), Some(s)) if l < 0 || s < l => Err(invalid(format!(
            "memory+swap {s} is below the memory limit {l}"
        ))),
        (Some(l), Some(s)) => Ok(Some(Limit::Bytes((s - l).unsigned_abs()))),
    }
}

fn memory_v1(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    const LIMIT: &str = "memory.limit_in_bytes";
    const MEMSW: &str = "memory.memsw.limit_in_bytes";
    let limit = nonzero(m.limit());
    let mut swap = nonzero(m.swap());
    let has_memsw = dir.join(MEMSW).exists();
    if limit == Some(-1) && swap.is_none() && has_memsw {
        swap = Some(-1);
    }
    for (what, v) in [("memory limit", limit), ("memory+swap limit", swap)] {
        if v.is_some_and(|v| v < -1) {
            return Err(CgroupError::Invalid {
                what,
                detail: format!("{v:?}"),
            });
        }
    }
    if let Some(s) = swap {
        if !has_memsw {
            return Err(CgroupError::NoSwapAccounting);
        }
        if let Some(l) = limit.filter(|l| *l > 0 && s != -1 && s < *l) {
            return Err(CgroupError::Invalid {
                what: "memory swap limit",
                detail: format!("memory+swap {s} is below the memory limit {l}"),
            });
        }
    }
    // The kernel keeps memsw >= limit at every step: memsw goes first when
    // it grows past the current limit (runc's order).
    let swap_first = match (limit, swap) {
        (Some(_), Some(-1)) => true,
        (Some(_), Some(s)) => read_u64(dir, LIMIT)? < s.unsigned_abs(),
        _ => false,
    };
    let order = if swap_first {
        [(MEMSW, swap), (LIMIT, limit)]
    } else {
        [(LIMIT, limit), (MEMSW, swap)]
    };
    for (file, v) in order {
        if let Some(v) = v {
            write(dir, file, &v.to_string())?;
        }
    }
    if let Some(r) = nonzero(m.reservation()) {
        write(dir, "memory.soft_limit_in_bytes", &r.to_string())?;
    }
    if m.disable_oom_killer() == Some(true) {
        write(dir, "memory.oom_control", "1")?;
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(CgroupError::Invalid {
                what: "memory swappiness",
                detail: format!("{s} (0 to 100)"),
            });
        }
        write(dir, "memory.swappiness", &s.to_string())?;
    }
    Ok(())
}

fn memory_v2(dir: &Path, m: &LinuxMemory) -> Result<(), CgroupError> {
    if m.swappiness().is_some() {
        return Err(unsupported("memory swappiness on cgroup v2"));
    }
    if m.disable_oom_killer() == Some(true) {
        return Err(unsupported("disabling the OOM killer on cgroup v2"));
    }
    let limit = nonzero(m.limit());
    if let Some(swap) = swap_max_v2(limit, nonzero(m.swap()))? {
        if let Err(e) = write(dir, "memory.swap.max", &swap.to_string()) {
            if dir.join("memory.swap.max").exists() {
                return Err(e);
            }
            // Without swap accounting, "no swap" and "any swap" need nothing.
            if !matches!(swap, Limit::Max | Limit::Bytes(0)) {
                return Err(CgroupError::NoSwapAccounting);
            }
        }
    }
    if let Some(l) = limit {
        write(dir, "memory.max", &v2_value(l))?;
    }
    if let Some(r) = nonzero(m.reservation()) {
        write(dir, "memory.low", &v2_value(r))?;
    }
    Ok(())
}

fn cpu_v1(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    const PERIOD: &str = "cpu.cfs_period_us";
    if let Some(shares) = c.shares().filter(|s| *s != 0) {
        write(dir, "cpu.shares", &shares.to_string())?;
        // The kernel clamps rather than refuses.
        let set = read_u64(dir, "cpu.shares")?;
        if set != shares {
            return Err(CgroupError::Invalid {
                what: "cpu shares",
                detail: format!("{shares} is out of the kernel's range (it set {set})"),
            });
        }
    }
    let quota = nonzero(c.quota());
    let mut period_after_quota = None;
    if let Some(p) = c.period().filter(|p| *p != 0) {
        match write(dir, PERIOD, &p.to_string()) {
            Ok(()) => {}
            // A shorter period can exceed the parent's quota until the
            // quota shrinks with it: retried after the quota (runc).
            Err(e) if quota.is_some() && e.errno() == Some(Errno::EINVAL) => {
                period_after_quota = Some(p);
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(q) = quota {
        write(dir, "cpu.cfs_quota_us", &q.to_string())?;
        if let Some(p) = period_after_quota {
            write(dir, PERIOD, &p.to_string())?;
        }
    }
    if let Some(b) = c.burst() {
        write(dir, "cpu.cfs_burst_us", &b.to_string())?;
    }
    if let Some(i) = c.idle() {
        write(dir, "cpu.idle", &i.to_string())?;
    }
    if let Some(p) = c.realtime_period().filter(|p| *p != 0) {
        write(dir, "cpu.rt_period_us", &p.to_string())?;
    }
    if let Some(r) = nonzero(c.realtime_runtime()) {
        write(dir, "cpu.rt_runtime_us", &r.to_string())?;
    }
    Ok(())
}

fn cpu_v2(dir: &Path, c: &LinuxCpu) -> Result<(), CgroupError> {
    if realtime(c) {
        return Err(unsupported(
            "realtime CPU limits (realtimeRuntime, realtimePeriod) on cgroup v2",
        ));
    }
    if let Some(shares) = c.shares().filter(|s| *s != 0) {
        write(dir, "cpu.weight", &shares_to_weight(shares).to_string())?;
    }
    if let Some(max) = cpu_max(nonzero(c.quota()), c.period().filter(|p| *p != 0)) {
        write(dir, "cpu.max", &max)?;
    }
    if let Some(b) = c.burst() {
        write(dir, "cpu.max.burst", &b.to_string())?;
    }
    if let Some(i) = c.idle() {
        write(dir, "cpu.idle", &i.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use oci_spec::runtime::{LinuxMemoryBuilder, LinuxPids};

    use super::super::tests::{dir_with, file, Kid, Scratch};
    use super::super::{read_words, Hierarchy};
    use super::*;
    use crate::sys::cgroup::{dirs_of, mode, CgroupMode};

    #[test]
    fn shares_convert_to_weight_as_runc() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(512), 20);
        assert_eq!(shares_to_weight(262_144), 10_000);
        // The kernel's range for shares.
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(1 << 40), 10_000);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }

    #[test]
    fn swap_converts_to_swap_alone() {
        let m = 64 << 20;
        assert_eq!(
            swap_max_v2(Some(m), Some(2 * m)).ok(),
            Some(Some(Limit::Bytes(m as u64)))
        );
        assert_eq!(
            swap_max_v2(Some(m), Some(m)).ok(),
            Some(Some(Limit::Bytes(0)))
        );
        assert_eq!(swap_max_v2(Some(m), Some(-1)).ok(), Some(Some(Limit::Max)));
        assert_eq!(swap_max_v2(Some(-1), None).ok(), Some(Some(Limit::Max)));
        assert_eq!(swap_max_v2(Some(m), None).ok(), Some(None));
        assert_eq!(swap_max_v2(None, None).ok(), Some(None));
        let below = swap_max_v2(Some(m), Some(m / 2)).expect_err("swap below memory");
        assert!(
            below.to_string().contains("below the memory limit"),
            "{below}"
        );
        assert!(swap_max_v2(None, Some(m)).is_err());
        assert_eq!(Limit::Max.to_string(), "max");
    }

    #[test]
    fn cpu_and_pids_values() {
        assert_eq!(
            cpu_max(Some(50_000), Some(100_000)).as_deref(),
            Some("50000 100000")
        );
        assert_eq!(
            cpu_max(Some(-1), Some(100_000)).as_deref(),
            Some("max 100000")
        );
        assert_eq!(cpu_max(None, Some(20_000)).as_deref(), Some("max 20000"));
        assert_eq!(cpu_max(Some(25_000), None).as_deref(), Some("25000"));
        assert_eq!(cpu_max(None, None), None);
        assert_eq!(pids_max(100), "100");
        assert_eq!(pids_max(0), "max");
        assert_eq!(pids_max(-1), "max");
        assert_eq!(v2_value(-1), "max");
    }

    /// A fake v1 hierarchy in a temporary directory, for what fails before
    /// anything is written.
    fn fake_v1(files: &[(&str, &str)]) -> (tempfile::TempDir, Cgroup) {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let dir = tmp.path().join("c");
        fs::create_dir(&dir).expect("mkdir");
        for (name, value) in files {
            fs::write(dir.join(name), value).expect("write");
        }
        let cg = Cgroup {
            relative: PathBuf::from("/c"),
            hierarchies: vec![Hierarchy {
                mount: tmp.path().to_path_buf(),
                dir,
                version: Version::V1,
            }],
        };
        (tmp, cg)
    }

    #[test]
    fn missing_controllers_and_swap_accounting_are_named() {
        let (_tmp, cg) = fake_v1(&[("pids.max", "max")]);
        let mut r = LinuxResources::default();
        let mut c = LinuxCpu::default();
        c.set_cpus(Some("0".into()));
        r.set_cpu(Some(c));
        let e = cg.apply(&r).expect_err("no cpuset");
        assert_eq!(e.to_string(), "the host has no cpuset controller");

        let (_tmp, cg) = fake_v1(&[("memory.limit_in_bytes", "9223372036854771712")]);
        let mut r = LinuxResources::default();
        let m = LinuxMemoryBuilder::default()
            .limit(64 << 20)
            .swap(128 << 20)
            .build()
            .expect("memory limits build");
        r.set_memory(Some(m));
        let e = cg.apply(&r).expect_err("no memsw");
        assert_eq!(
            e.to_string(),
            "swap limit not supported: the kernel has no swap accounting"
        );

        // Nothing asked: nothing needed, nothing written.
        let (_tmp, cg) = fake_v1(&[]);
        let mut r = LinuxResources::default();
        r.set_memory(Some(LinuxMemory::default()));
        r.set_cpu(Some(LinuxCpu::default()));
        r.set_devices(Some(Vec::new()));
        cg.apply(&r).expect("nothing to do");
    }

    #[test]
    fn limits_are_where_the_host_keeps_them() {
        let Some(scratch) = Scratch::new("limits") else {
            return;
        };
        let path = scratch.path("ctr");
        let mut r = LinuxResources::default();
        let m = LinuxMemoryBuilder::default()
            .limit(64 << 20)
            .build()
            .expect("memory limits build");
        r.set_memory(Some(m));
        let mut p = LinuxPids::default();
        p.set_limit(50);
        r.set_pids(Some(p));
        let mut c = LinuxCpu::default();
        c.set_shares(Some(512));
        r.set_cpu(Some(c));
        let cg = Cgroup::create(&path, Some(&r)).expect("create the cgroup");
        let dirs = dirs_of(&path);
        assert!(
            !dirs.is_empty() && dirs.iter().all(|d| d.is_dir()),
            "{dirs:?}"
        );
        if mode() == CgroupMode::V2 {
            let d = &dirs[0];
            assert_eq!(file(d, "memory.max"), "67108864");
            assert_eq!(file(d, "pids.max"), "50");
            assert_eq!(file(d, "cpu.weight"), "20");
        } else {
            let mem = dir_with(&path, "memory.limit_in_bytes").expect("a v1 memory hierarchy");
            assert_eq!(file(&mem, "memory.limit_in_bytes"), "67108864");
            let pids = dir_with(&path, "pids.max").expect("a pids controller");
            assert_eq!(file(&pids, "pids.max"), "50");
            let cpu = dir_with(&path, "cpu.shares").expect("a v1 cpu hierarchy");
            assert_eq!(file(&cpu, "cpu.shares"), "512");
        }
        cg.remove().expect("remove");
        assert!(dirs.iter().all(|d| !d.exists()), "{dirs:?}");
    }

    #[test]
    fn nothing_asked_writes_nothing() {
        let Some(scratch) = Scratch::new("nothing asked") else {
            return;
        };
        let path = scratch.path("plain");
        let cg = Cgroup::create(&path, Some(&LinuxResources::default())).expect("create");
        assert!(cg.exists());
        if let Some(d) = dir_with(&path, "devices.list") {
            assert_eq!(file(&d, "devices.list"), "a *:* rwm");
        }
        if let Some(d) = dir_with(&path, "memory.limit_in_bytes") {
            assert_eq!(file(&d, "memory.limit_in_bytes"), "9223372036854771712");
        }
        if let Some(d) = dir_with(&path, "memory.max") {
            assert_eq!(file(&d, "memory.max"), "max");
        }
        // And a v1 cpuset cgroup got its parent's CPUs, or joining fails.
        let kid = Kid::sleep();
        cg.add(kid.pid()).expect("join");
    }

    /// On a hybrid host, what the unified root offers its children is put
    /// back as it was (a v2 host enables everything anyway).
    struct RootControllers {
        root: PathBuf,
        before: Vec<String>,
    }

    impl RootControllers {
        fn save() -> Option<RootControllers> {
            let root = Cgroup::open(Path::new("/x")).v2()?.mount.clone();
            let before = read_words(&root, "cgroup.subtree_control");
            (mode() != CgroupMode::V2).then_some(RootControllers { root, before })
        }
    }

    impl Drop for RootControllers {
        fn drop(&mut self) {
            for c in read_words(&self.root, "cgroup.subtree_control") {
                if !self.before.contains(&c) {
                    let _ = write(&self.root, "cgroup.subtree_control", &format!("-{c}"));
                }
            }
        }
    }

    #[test]
    fn hugepage_limits_go_where_hugetlb_is() {
        if !Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists() {
            eprintln!("skipping huge pages: no 2 MB pages");
            return;
        }
        // Dropped last: the scratch cgroups must be gone first.
        let _restore = RootControllers::save();
        let Some(scratch) = Scratch::new("huge pages") else {
            return;
        };
        let path = scratch.path("huge");
        let mut r = LinuxResources::default();
        let mut h = LinuxHugepageLimit::default();
        h.set_page_size("2MB".into());
        h.set_limit(4 << 20);
        r.set_hugepage_limits(Some(vec![h]));
        match Cgroup::create(&path, Some(&r)) {
            Ok(_) => {
                let v1 = dir_with(&path, "hugetlb.2MB.limit_in_bytes");
                let (d, name) = match v1 {
                    Some(d) => (d, "hugetlb.2MB.limit_in_bytes"),
                    None => (
                        dir_with(&path, "hugetlb.2MB.max").expect("v2 hugetlb"),
                        "hugetlb.2MB.max",
                    ),
                };
                assert_eq!(file(&d, name), "4194304");
            }
            Err(e @ CgroupError::NoController { .. }) => eprintln!("no hugetlb here: {e}"),
            Err(e) => panic!("huge page limit: {e}"),
        }
    }
}
