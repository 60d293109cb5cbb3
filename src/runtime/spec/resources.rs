//! Limits: cgroup resources (memory, cpu, pids, devices), process resource
//! limits (`--ulimit`), and the oom score, with podman's defaults and its
//! rootless restrictions.

use oci_spec::runtime::{
    LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxMemory, LinuxMemoryBuilder, LinuxPids,
    LinuxResources, PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
};

use super::defaults;
use super::host::RLIM_INFINITY;
use super::options::{
    DeviceKind, LimitValue, Namespace, PidsLimit, Resources, SpecOptions, Swap, UlimitMode,
};
use super::{assemble, SpecError, SpecWarning};

/// The smallest memory limit podman accepts (6 MiB): below, a container
/// cannot even start.
const MIN_MEMORY: i64 = 6 << 20;

fn any_limit(r: &Resources) -> bool {
    r.memory.is_some()
        || r.memory_reservation.is_some()
        || matches!(r.memory_swap, Swap::Limit(_))
        || r.memory_swappiness.is_some()
        || r.oom_kill_disable
        || r.cpus.is_some()
        || r.cpu_shares.is_some()
        || r.cpu_period.is_some()
        || r.cpu_quota.is_some()
        || r.cpuset_cpus.is_some()
        || r.cpuset_mems.is_some()
        || matches!(r.pids_limit, PidsLimit::Limit(_))
}

/// `linux.resources`, or `None` where the caller cannot use cgroups (a
/// rootless user without a delegated subtree: podman ignores the limits
/// with a warning).
pub fn linux_resources(
    opts: &SpecOptions,
    warnings: &mut Vec<SpecWarning>,
) -> Result<Option<LinuxResources>, SpecError> {
    let r = &opts.resources;
    validate(r)?;
    if !opts.caller.cgroups_usable() {
        if any_limit(r) {
            warnings.push(SpecWarning::ResourceLimitsIgnored);
        }
        return Ok(None);
    }
    let mut out = LinuxResources::default();
    out.set_devices(device_rules(opts));
    out.set_memory(memory(r, opts.host.swap_accounting)?);
    out.set_cpu(cpu(r));
    out.set_pids(match r.pids_limit {
        PidsLimit::Default => Some(pids(defaults::PIDS_LIMIT)),
        PidsLimit::Unlimited => Some(pids(-1)),
        PidsLimit::Limit(n) if n <= 0 => Some(pids(-1)),
        PidsLimit::Limit(n) => Some(pids(n)),
    });
    Ok(Some(out))
}

fn validate(r: &Resources) -> Result<(), SpecError> {
    if let Some(m) = r.memory {
        if m < MIN_MEMORY {
            return Err(SpecError::MemoryTooLow { bytes: m });
        }
        if let Swap::Limit(s) = r.memory_swap {
            if s < m {
                return Err(SpecError::SwapBelowMemory { memory: m, swap: s });
            }
        }
    }
    if let Some(s) = r.memory_swappiness {
        if s > 100 {
            return Err(SpecError::SwappinessOutOfRange { value: s });
        }
    }
    if let Some(c) = r.cpus {
        if !c.is_finite() || c <= 0.0 {
            return Err(SpecError::InvalidCpus { value: c });
        }
        if r.cpu_period.is_some() || r.cpu_quota.is_some() {
            return Err(SpecError::CpusWithPeriodOrQuota);
        }
    }
    Ok(())
}

fn pids(limit: i64) -> LinuxPids {
    let mut p = LinuxPids::default();
    p.set_limit(limit);
    p
}

/// The memory limits; the default swap limit (twice the memory) only
/// where the kernel accounts swap, as podman does.
fn memory(r: &Resources, swap_accounting: bool) -> Result<Option<LinuxMemory>, SpecError> {
    let swap = match (r.memory_swap, r.memory) {
        (Swap::Limit(s), _) => Some(s),
        (Swap::Default, Some(m)) if swap_accounting => Some(2 * m),
        (Swap::Default, Some(_)) => None,
        (Swap::Default, None) | (Swap::Unlimited, _) => None,
    };
    let mut b = LinuxMemoryBuilder::default();
    if let Some(v) = r.memory {
        b = b.limit(v);
    }
    if let Some(v) = r.memory_reservation {
        b = b.reservation(v);
    }
    if let Some(v) = swap {
        b = b.swap(v);
    }
    if let Some(v) = r.memory_swappiness {
        b = b.swappiness(v);
    }
    if r.oom_kill_disable {
        b = b.disable_oom_killer(true);
    }
    let m = b.build().map_err(assemble("memory limits"))?;
    Ok((m != LinuxMemory::default()).then_some(m))
}

fn cpu(r: &Resources) -> Option<LinuxCpu> {
    let mut c = LinuxCpu::default();
    if let Some(cpus) = r.cpus {
        c.set_period(Some(defaults::CPU_PERIOD));
        // Truncated, as podman computes it: 1.5 -> 150000.
        c.set_quota(Some((cpus * defaults::CPU_PERIOD as f64) as i64));
    }
    if let Some(p) = r.cpu_period {
        c.set_period(Some(p));
    }
    if let Some(q) = r.cpu_quota {
        c.set_quota(Some(q));
    }
    c.set_shares(r.cpu_shares);
    c.set_cpus(r.cpuset_cpus.clone());
    c.set_mems(r.cpuset_mems.clone());
    (c != LinuxCpu::default()).then_some(c)
}

/// The device cgroup: none in a user namespace (the kernel does not let it
/// be set there), allow-all for a privileged container, else deny-all with
/// the default devices and `--device` entries allowed.
fn device_rules(opts: &SpecOptions) -> Option<Vec<LinuxDeviceCgroup>> {
    let in_userns = opts.caller.is_rootless() || opts.namespaces.user != Namespace::Host;
    if in_userns {
        return None;
    }
    if opts.security.privileged {
        return Some(vec![defaults::device_rule(true, None, None, None)]);
    }
    let mut rules = defaults::device_rules();
    for d in &opts.devices {
        let mut rule = defaults::device_rule(
            true,
            Some(match d.kind {
                DeviceKind::Char => LinuxDeviceType::C,
                DeviceKind::Block => LinuxDeviceType::B,
            }),
            Some(d.major),
            Some(d.minor),
        );
        rule.set_access(Some(d.access.clone()));
        rules.push(rule);
    }
    Some(rules)
}

fn rlimit(kind: PosixRlimitType, soft: u64, hard: u64) -> Result<PosixRlimit, SpecError> {
    PosixRlimitBuilder::default()
        .typ(kind)
        .soft(soft)
        .hard(hard)
        .build()
        .map_err(assemble("rlimits"))
}

/// `process.rlimits`. Podman's defaults are RLIMIT_NOFILE and RLIMIT_NPROC
/// of 1048576; a caller that cannot raise its own hard limit (no
/// CAP_SYS_RESOURCE, or rootless) passes on at most what it has, since the
/// runtime's setrlimit(2) would fail otherwise.
pub fn rlimits(opts: &SpecOptions) -> Result<Vec<PosixRlimit>, SpecError> {
    let host = &opts.host;
    let can_raise = host.can_raise_limits && !opts.caller.is_rootless();
    let cap = |kind: PosixRlimitType, v: u64| {
        if kind == PosixRlimitType::RlimitNofile {
            v.min(host.nr_open)
        } else {
            v
        }
    };
    let mut out: Vec<PosixRlimit> = Vec::new();
    match opts.ulimits.mode {
        UlimitMode::Default => {
            for kind in [PosixRlimitType::RlimitNofile, PosixRlimitType::RlimitNproc] {
                let (mut soft, mut hard) = (defaults::RLIMIT, defaults::RLIMIT);
                if !can_raise {
                    if let Some((host_soft, host_hard)) = host.limit(kind) {
                        soft = soft.min(host_soft);
                        hard = hard.min(host_hard);
                    }
                }
                out.push(rlimit(kind, cap(kind, soft), cap(kind, hard))?);
            }
        }
        UlimitMode::Host => {
            for l in &host.limits {
                out.push(rlimit(l.kind, l.soft, l.hard)?);
            }
        }
    }
    for u in &opts.ulimits.explicit {
        let host_hard = host.limit(u.kind).map(|(_, h)| h);
        let value = |v: LimitValue| match v {
            LimitValue::Value(n) => n,
            LimitValue::Unlimited if can_raise => RLIM_INFINITY,
            LimitValue::Unlimited => host_hard.unwrap_or(RLIM_INFINITY),
        };
        let (soft, hard) = (cap(u.kind, value(u.soft)), cap(u.kind, value(u.hard)));
        if soft > hard {
            return Err(SpecError::UlimitSoftAboveHard {
                kind: u.kind,
                soft,
                hard,
            });
        }
        if let (false, Some(limit)) = (can_raise, host_hard) {
            if hard > limit {
                return Err(SpecError::UlimitAboveCallerLimit {
                    kind: u.kind,
                    requested: hard,
                    limit,
                });
            }
        }
        out.retain(|l| l.typ() != u.kind);
        out.push(rlimit(u.kind, soft, hard)?);
    }
    Ok(out)
}

/// `process.oomScoreAdj`: -1000 to 1000; a rootless caller cannot go below
/// its own score, so a lower request is raised to it with a warning.
pub fn oom_score_adj(
    opts: &SpecOptions,
    warnings: &mut Vec<SpecWarning>,
) -> Result<Option<i32>, SpecError> {
    let Some(value) = opts.process.oom_score_adj else {
        return Ok(None);
    };
    if !(-1000..=1000).contains(&value) {
        return Err(SpecError::OomScoreAdjOutOfRange { value });
    }
    let own = opts.host.oom_score_adj;
    if opts.caller.is_rootless() && value < own {
        warnings.push(SpecWarning::OomScoreAdjRaised {
            requested: value,
            used: own,
        });
        return Ok(Some(own));
    }
    Ok(Some(value))
}
