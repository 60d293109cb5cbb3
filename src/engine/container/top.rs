//! `top`: the processes of a running container, described by podman's
//! ps-style descriptors (`pid`, `user`, `args`, ... and the AIX forms `%p`,
//! `%U`, ...), read from /proc on the host. The processes are those of the
//! container's cgroup, or of its pid namespace where it has no cgroup of
//! its own.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::runtime::spec::CapSet;
use crate::state::container::Status;
use crate::sys::procfs::{self, ProcStat, ProcStatus};

/// What `top` shows when given no descriptors (podman's default).
pub const DEFAULT_DESCRIPTORS: &[&str] = &[
    "user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Descriptor {
    Args,
    CapAmb,
    CapBnd,
    CapEff,
    CapInh,
    CapPrm,
    Comm,
    Etime,
    Group,
    HGroup,
    HPid,
    HUser,
    Nice,
    Pcpu,
    Pgid,
    Pid,
    Ppid,
    RGroup,
    RUser,
    Rss,
    Seccomp,
    State,
    Stime,
    Time,
    Tty,
    User,
    Vsz,
}

/// (name, AIX code, header, descriptor).
const TABLE: &[(&str, &str, &str, Descriptor)] = &[
    ("args", "%a", "COMMAND", Descriptor::Args),
    ("capamb", "", "AMBIENT CAPS", Descriptor::CapAmb),
    ("capbnd", "", "BOUNDING CAPS", Descriptor::CapBnd),
    ("capeff", "", "EFFECTIVE CAPS", Descriptor::CapEff),
    ("capinh", "", "INHERITED CAPS", Descriptor::CapInh),
    ("capprm", "", "PERMITTED CAPS", Descriptor::CapPrm),
    ("comm", "%c", "COMMAND", Descriptor::Comm),
    ("etime", "%t", "ELAPSED", Descriptor::Etime),
    ("group", "%G", "GROUP", Descriptor::Group),
    ("hgroup", "", "HGROUP", Descriptor::HGroup),
    ("hpid", "", "HPID", Descriptor::HPid),
    ("huser", "", "HUSER", Descriptor::HUser),
    ("nice", "%n", "NI", Descriptor::Nice),
    ("pcpu", "%C", "%CPU", Descriptor::Pcpu),
    ("pgid", "%r", "PGID", Descriptor::Pgid),
    ("pid", "%p", "PID", Descriptor::Pid),
    ("ppid", "%P", "PPID", Descriptor::Ppid),
    ("rgroup", "%g", "RGROUP", Descriptor::RGroup),
    ("ruser", "%u", "RUSER", Descriptor::RUser),
    ("rss", "", "RSS", Descriptor::Rss),
    ("seccomp", "", "SECCOMP", Descriptor::Seccomp),
    ("state", "", "STATE", Descriptor::State),
    ("stime", "", "STIME", Descriptor::Stime),
    ("time", "%x", "TIME", Descriptor::Time),
    ("tty", "%y", "TTY", Descriptor::Tty),
    ("user", "%U", "USER", Descriptor::User),
    ("vsz", "%z", "VSZ", Descriptor::Vsz),
];

impl Descriptor {
    pub fn header(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, _, _, d)| *d == self)
            .map_or("", |(_, _, h, _)| *h)
    }
}

/// Parse descriptors given as separate arguments or comma-separated;
/// none means the default set.
pub fn parse_descriptors(args: &[String]) -> Result<Vec<Descriptor>, ContainerError> {
    let words: Vec<&str> = args
        .iter()
        .flat_map(|a| a.split(','))
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    let words = if words.is_empty() {
        DEFAULT_DESCRIPTORS.to_vec()
    } else {
        words
    };
    words
        .iter()
        .map(|w| {
            TABLE
                .iter()
                .find(|(name, code, _, _)| name == w || (!code.is_empty() && code == w))
                .map(|(_, _, _, d)| *d)
                .ok_or_else(|| {
                    let known: Vec<&str> = TABLE.iter().map(|(n, _, _, _)| *n).collect();
                    ContainerError::Invalid(format!(
                        "'{w}': unknown descriptor (known: {})",
                        known.join(", ")
                    ))
                })
        })
        .collect()
}

/// One cell of `top`'s output, typed so the command line formats it.
#[derive(Debug, Clone, PartialEq)]
pub enum TopValue {
    Text(String),
    Int(i64),
    Duration(Duration),
    /// Percent with three decimals.
    Percent(f64),
    Time(DateTime<Utc>),
}

/// One process of the container as /proc shows it.
struct Proc {
    host_pid: i32,
    stat: ProcStat,
    status: ProcStatus,
    args: Vec<String>,
}

/// uid or gid to name, from a passwd or group file.
fn id_names(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(2)?.parse().ok()?, f.first()?.to_string()))
        })
        .collect()
}

fn cap_names(mask: u64) -> String {
    let set = CapSet::from_mask(mask);
    if set.is_empty() {
        return "none".into();
    }
    if set == CapSet::all() {
        return "full".into();
    }
    let mut names: Vec<&str> = set
        .names()
        .into_iter()
        .map(|n| n.trim_start_matches("CAP_"))
        .collect();
    names.sort_unstable();
    names.join(",")
}

/// `pts/3`, `tty1` or `?`, from the device number in `stat`.
fn tty_name(tty_nr: u32) -> String {
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match major {
        0 => "?".into(),
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        4 => format!("ttyS{}", minor - 64),
        _ => "?".into(),
    }
}

/// The host pids of container `id`, whose init is `init`: those of its
/// own cgroup, else (a rootless container without one) those of its pid
/// namespace.
fn container_pids(id: &str, init: i32) -> Vec<i32> {
    if let Some(pids) = crate::sys::cgroup_usage::ProcessCgroup::of(init)
        .ok()
        .filter(|c| c.is_named(id))
        .and_then(|c| c.procs())
        .filter(|p| !p.is_empty())
    {
        return pids;
    }
    let own = procfs::pid_namespace(std::process::id() as i32).ok();
    match procfs::pid_namespace(init) {
        Ok(ns) if Some(ns) != own => procfs::all_pids()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| procfs::pid_namespace(*p).ok() == Some(ns))
            .collect(),
        _ => vec![init],
    }
}

impl Engine {
    /// One row per process of the container, one value per descriptor.
    pub fn top_container(
        &self,
        input: &str,
        descriptors: &[Descriptor],
    ) -> Result<Vec<Vec<TopValue>>, ContainerError> {
        let rec = self.find_container(input)?;
        let init = match (rec.state.status, rec.state.pid) {
            (Status::Running, Some(pid)) => pid,
            _ => {
                return Err(ContainerError::Invalid(
                    "top can only be used on running containers".into(),
                ))
            }
        };
        self.top_rows(init, container_pids(&rec.id, init), descriptors)
    }

    /// One row per process of the running containers of pod `input` (each
    /// process once, when they share a PID namespace).
    pub fn top_pod(
        &self,
        input: &str,
        descriptors: &[Descriptor],
    ) -> Result<Vec<Vec<TopValue>>, ContainerError> {
        let pod = self.find_pod(input)?;
        let mut seen = std::collections::HashSet::new();
        let mut rows = Vec::new();
        let mut members = self.pod_containers(&pod.id)?;
        members.reverse();
        for c in members {
            let (Status::Running, Some(init)) = (c.state.status, c.state.pid) else {
                continue;
            };
            let pids: Vec<i32> = container_pids(&c.id, init)
                .into_iter()
                .filter(|p| seen.insert(*p))
                .collect();
            rows.extend(self.top_rows(init, pids, descriptors)?);
        }
        if rows.is_empty() {
            return Err(ContainerError::Invalid(format!(
                "no containers of pod {} are running: top needs a running pod",
                pod.name
            )));
        }
        Ok(rows)
    }

    /// The rows of processes `pids` of the container whose init is `init`.
    fn top_rows(
        &self,
        init: i32,
        pids: Vec<i32>,
        descriptors: &[Descriptor],
    ) -> Result<Vec<Vec<TopValue>>, ContainerError> {
        let mut procs: Vec<Proc> = pids
            .into_iter()
            .filter_map(|pid| {
                Some(Proc {
                    host_pid: pid,
                    stat: procfs::stat(pid).ok()?,
                    status: procfs::status(pid).ok()?,
                    args: procfs::cmdline(pid).unwrap_or_default(),
                })
            })
            .collect();
        let ns_pid = |p: &Proc| p.status.ns_pids.last().copied().unwrap_or(p.host_pid);
        procs.sort_by_key(ns_pid);
        let in_ns: HashMap<i32, i32> = procs.iter().map(|p| (p.host_pid, ns_pid(p))).collect();
        let read_names =
            |path: String| id_names(&std::fs::read_to_string(path).unwrap_or_default());
        let users = read_names(format!("/proc/{init}/root/etc/passwd"));
        let groups = read_names(format!("/proc/{init}/root/etc/group"));
        let host_users = read_names("/etc/passwd".into());
        let host_groups = read_names("/etc/group".into());
        let name = |table: &HashMap<u32, String>, id: u32| {
            TopValue::Text(table.get(&id).cloned().unwrap_or_else(|| id.to_string()))
        };
        let ticks = procfs::clock_ticks();
        let uptime = procfs::uptime().unwrap_or(0.0);
        let boot = procfs::boot_time().unwrap_or(0);
        let page_kib = procfs::page_size() / 1024;
        let rows = procs
            .iter()
            .map(|p| {
                let started = p.stat.start_ticks as f64 / ticks as f64;
                let elapsed = (uptime - started).max(0.0);
                let cpu = (p.stat.utime + p.stat.stime) as f64 / ticks as f64;
                descriptors
                    .iter()
                    .map(|d| match d {
                        Descriptor::Args if p.args.is_empty() => {
                            TopValue::Text(format!("[{}]", p.stat.comm))
                        }
                        Descriptor::Args => TopValue::Text(p.args.join(" ")),
                        Descriptor::CapAmb => TopValue::Text(cap_names(p.status.cap_amb)),
                        Descriptor::CapBnd => TopValue::Text(cap_names(p.status.cap_bnd)),
                        Descriptor::CapEff => TopValue::Text(cap_names(p.status.cap_eff)),
                        Descriptor::CapInh => TopValue::Text(cap_names(p.status.cap_inh)),
                        Descriptor::CapPrm => TopValue::Text(cap_names(p.status.cap_prm)),
                        Descriptor::Comm => TopValue::Text(p.stat.comm.clone()),
                        Descriptor::Etime => TopValue::Duration(Duration::from_secs_f64(elapsed)),
                        Descriptor::Group => name(&groups, p.status.gids[1]),
                        Descriptor::HGroup => name(&host_groups, p.status.gids[1]),
                        Descriptor::HPid => TopValue::Int(p.host_pid.into()),
                        Descriptor::HUser => name(&host_users, p.status.uids[1]),
                        Descriptor::Nice => TopValue::Int(p.stat.nice),
                        Descriptor::Pcpu => TopValue::Percent(if elapsed > 0.0 {
                            cpu / elapsed * 100.0
                        } else {
                            0.0
                        }),
                        Descriptor::Pgid => {
                            TopValue::Int(in_ns.get(&p.stat.pgrp).copied().unwrap_or(0).into())
                        }
                        Descriptor::Pid => TopValue::Int(ns_pid(p).into()),
                        Descriptor::Ppid => {
                            TopValue::Int(in_ns.get(&p.stat.ppid).copied().unwrap_or(0).into())
                        }
                        Descriptor::RGroup => name(&groups, p.status.gids[0]),
                        Descriptor::RUser => name(&users, p.status.uids[0]),
                        Descriptor::Rss => TopValue::Int((p.stat.rss_pages * page_kib) as i64),
                        Descriptor::Seccomp => TopValue::Text(
                            match p.status.seccomp {
                                0 => "disabled",
                                1 => "strict",
                                _ => "filter",
                            }
                            .into(),
                        ),
                        Descriptor::State => TopValue::Text(p.stat.state.to_string()),
                        Descriptor::Stime => TopValue::Time(
                            DateTime::from_timestamp(boot + started as i64, 0).unwrap_or_default(),
                        ),
                        Descriptor::Time => TopValue::Duration(Duration::from_secs_f64(cpu)),
                        Descriptor::Tty => TopValue::Text(tty_name(p.stat.tty_nr)),
                        Descriptor::User => name(&users, p.status.uids[1]),
                        Descriptor::Vsz => TopValue::Int((p.stat.vsize / 1024) as i64),
                    })
                    .collect()
            })
            .collect();
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_parse_with_commas_and_aix_codes() {
        let d = parse_descriptors(&["pid,%U".into(), "args".into()]).expect("known");
        assert_eq!(d, [Descriptor::Pid, Descriptor::User, Descriptor::Args]);
        let default = parse_descriptors(&[]).expect("default");
        let headers: Vec<&str> = default.iter().map(|d| d.header()).collect();
        assert_eq!(
            headers,
            ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"]
        );
        let err = parse_descriptors(&["pid".into(), "bogus".into()]).expect_err("unknown");
        assert!(
            err.to_string().starts_with("'bogus': unknown descriptor"),
            "{err}"
        );
    }

    #[test]
    fn names_caps_and_ttys() {
        let t = id_names("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n");
        assert_eq!(t.get(&65534).map(String::as_str), Some("nobody"));
        assert_eq!(cap_names(0), "none");
        assert_eq!(cap_names(CapSet::all().mask()), "full");
        assert_eq!(cap_names((1 << 0) | (1 << 5)), "CHOWN,KILL");
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
        assert_eq!(tty_name((4 << 8) | 1), "tty1");
    }
}
