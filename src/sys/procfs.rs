//! What /proc says about a process (ids, times, sizes, terminal, command
//! line, capabilities) and the few host figures needed to read it: clock
//! ticks, uptime, boot time, total memory. See proc(5).
#![allow(unsafe_code)]

use std::io;
use std::os::unix::fs::MetadataExt;

/// `/proc/PID/stat`, the fields `top` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcStat {
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub tty_nr: u32,
    /// User and system CPU time, in clock ticks.
    pub utime: u64,
    pub stime: u64,
    pub nice: i64,
    /// Start time in clock ticks after boot.
    pub start_ticks: u64,
    /// Virtual memory size in bytes.
    pub vsize: u64,
    /// Resident set size in pages.
    pub rss_pages: u64,
}

/// `/proc/PID/status`, the fields `top` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcStatus {
    /// Real, effective, saved and filesystem ids.
    pub uids: [u32; 4],
    pub gids: [u32; 4],
    /// The pid in each pid namespace, outermost first.
    pub ns_pids: Vec<i32>,
    pub cap_inh: u64,
    pub cap_prm: u64,
    pub cap_eff: u64,
    pub cap_bnd: u64,
    pub cap_amb: u64,
    /// 0 disabled, 1 strict, 2 filter.
    pub seccomp: u8,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// Parse the text of `/proc/PID/stat`.
pub fn parse_stat(text: &str) -> io::Result<ProcStat> {
    // The command name may hold spaces and parentheses: it ends at the last ')'.
    let open = text.find('(').ok_or_else(|| invalid("stat: no command"))?;
    let close = text.rfind(')').ok_or_else(|| invalid("stat: no command"))?;
    let comm = text.get(open + 1..close).unwrap_or_default().to_string();
    let rest: Vec<&str> = text
        .get(close + 1..)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    // rest[0] is field 3 (state); field N is rest[N - 3].
    let field = |n: usize| -> io::Result<&str> {
        rest.get(n - 3)
            .copied()
            .ok_or_else(|| invalid("stat: too few fields"))
    };
    let num = |n: usize| -> io::Result<i64> {
        field(n)?
            .parse::<i64>()
            .map_err(|_| invalid("stat: bad number"))
    };
    Ok(ProcStat {
        comm,
        state: field(3)?.chars().next().unwrap_or('?'),
        ppid: num(4)? as i32,
        pgrp: num(5)? as i32,
        tty_nr: num(7)? as u32,
        utime: num(14)? as u64,
        stime: num(15)? as u64,
        nice: num(19)?,
        start_ticks: num(22)? as u64,
        vsize: num(23)? as u64,
        rss_pages: num(24)?.max(0) as u64,
    })
}

/// Parse the text of `/proc/PID/status`.
pub fn parse_status(text: &str) -> ProcStatus {
    let mut s = ProcStatus::default();
    let ids = |v: &str| -> [u32; 4] {
        let mut out = [0; 4];
        for (slot, x) in out.iter_mut().zip(v.split_whitespace()) {
            *slot = x.parse().unwrap_or(0);
        }
        out
    };
    let mask = |v: &str| u64::from_str_radix(v.trim(), 16).unwrap_or(0);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "Uid" => s.uids = ids(value),
            "Gid" => s.gids = ids(value),
            "NSpid" => {
                s.ns_pids = value
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            }
            "CapInh" => s.cap_inh = mask(value),
            "CapPrm" => s.cap_prm = mask(value),
            "CapEff" => s.cap_eff = mask(value),
            "CapBnd" => s.cap_bnd = mask(value),
            "CapAmb" => s.cap_amb = mask(value),
            "Seccomp" => s.seccomp = value.trim().parse().unwrap_or(0),
            _ => {}
        }
    }
    s
}

pub fn stat(pid: i32) -> io::Result<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat"))?)
}

pub fn status(pid: i32) -> io::Result<ProcStatus> {
    Ok(parse_status(&std::fs::read_to_string(format!(
        "/proc/{pid}/status"
    ))?))
}

/// The arguments of `pid`; empty for a kernel thread or a zombie.
pub fn cmdline(pid: i32) -> io::Result<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline"))?;
    Ok(raw
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect())
}

/// The pid namespace `pid` lives in (the inode of its namespace file).
pub fn pid_namespace(pid: i32) -> io::Result<u64> {
    Ok(std::fs::metadata(format!("/proc/{pid}/ns/pid"))?.ino())
}

/// Every process the caller can see.
pub fn all_pids() -> io::Result<Vec<i32>> {
    Ok(std::fs::read_dir("/proc")?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect())
}

/// Clock ticks per second, the unit of the times in `stat`.
pub fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a configuration value; it has no
    // preconditions and touches no memory of ours.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// The page size, the unit of `rss_pages`.
pub fn page_size() -> u64 {
    // SAFETY: as in `clock_ticks`.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// Seconds since boot, from `/proc/uptime`.
pub fn uptime() -> io::Result<f64> {
    let text = std::fs::read_to_string("/proc/uptime")?;
    text.split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("uptime: unreadable"))
}

/// The boot time in seconds since the epoch (`btime` of `/proc/stat`).
pub fn boot_time() -> io::Result<i64> {
    let text = std::fs::read_to_string("/proc/stat")?;
    text.lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
        .ok_or_else(|| invalid("stat: no btime"))
}

/// Total memory of the host in bytes (`MemTotal` of `/proc/meminfo`).
pub fn memory_total() -> io::Result<u64> {
    let text = std::fs::read_to_string("/proc/meminfo")?;
    text.lines()
        .find_map(|l| {
            let kib: u64 = l
                .strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some(kib * 1024)
        })
        .ok_or_else(|| invalid("meminfo: no MemTotal"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let line = "42 (a b) c)) S 1 42 42 34816 42 4194560 100 0 0 0 7 3 0 0 20 5 1 0 12345 2322432 145 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_stat(line).expect("parse");
        assert_eq!(s.comm, "a b) c)");
        assert_eq!(s.state, 'S');
        assert_eq!((s.ppid, s.pgrp, s.tty_nr), (1, 42, 34816));
        assert_eq!((s.utime, s.stime, s.nice), (7, 3, 5));
        assert_eq!((s.start_ticks, s.vsize, s.rss_pages), (12345, 2322432, 145));
        assert!(parse_stat("1 (x) S 0").is_err());
    }

    #[test]
    fn status_fields() {
        let s = parse_status(
            "Name:\tsh\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nNSpid:\t900\t1\nCapEff:\t00000000a80425fb\nSeccomp:\t2\n",
        );
        assert_eq!(s.uids, [1, 2, 3, 4]);
        assert_eq!(s.gids, [5, 6, 7, 8]);
        assert_eq!(s.ns_pids, [900, 1]);
        assert_eq!(s.cap_eff, 0xa80425fb);
        assert_eq!(s.seccomp, 2);
    }

    #[test]
    fn own_process_reads() {
        let me = std::process::id() as i32;
        let s = stat(me).expect("own stat");
        assert!(s.start_ticks > 0);
        assert!(!cmdline(me).expect("own cmdline").is_empty());
        assert!(status(me).expect("own status").ns_pids.contains(&me));
        assert!(clock_ticks() > 0 && uptime().expect("uptime") > 0.0);
        assert!(boot_time().expect("btime") > 0 && memory_total().expect("meminfo") > 0);
    }
}
