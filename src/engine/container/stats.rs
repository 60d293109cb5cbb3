//! `stats`: what a container's cgroup counts (CPU time, memory, block I/O,
//! pids), sampled, and the CPU share computed between two samples. The
//! first sample of a container is measured against its start, as podman
//! does, so a single `--no-stream` reading is the average since start.
//! Network figures need the container's own network, which skiff does not
//! set up yet: they are absent.

use chrono::Utc;

use crate::engine::Engine;
use crate::state::container::{ContainerRecord, Status};
use crate::sys::cgroup_usage::ProcessCgroup;

/// One reading of a container's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSample {
    pub id: String,
    pub name: String,
    /// CPU time used since start, in nanoseconds.
    pub cpu_ns: u64,
    /// When the sample was taken, nanoseconds since the epoch.
    pub system_ns: u64,
    /// When the container started, nanoseconds since the epoch (none when
    /// it does not run).
    pub started_ns: Option<u64>,
    pub mem_usage: u64,
    /// The memory limit, or the host's memory when there is none; 0 when
    /// the container does not run.
    pub mem_limit: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub pids: u64,
}

fn now_ns() -> u64 {
    Utc::now()
        .timestamp_nanos_opt()
        .map(|n| n.max(0) as u64)
        .unwrap_or(0)
}

impl StatsSample {
    /// The CPU share in percent of one CPU since `previous` (the same
    /// container's earlier sample), or since the start for a first sample.
    pub fn cpu_percent(&self, previous: Option<&StatsSample>) -> f64 {
        let (cpu0, sys0) = match previous {
            Some(p) if p.system_ns < self.system_ns && p.cpu_ns <= self.cpu_ns => {
                (p.cpu_ns, p.system_ns)
            }
            _ => match self.started_ns {
                Some(s) => (0, s),
                None => return 0.0,
            },
        };
        percent(self.cpu_ns - cpu0, self.system_ns.saturating_sub(sys0))
    }

    /// The CPU share in percent of one CPU over the container's whole run.
    pub fn average_cpu_percent(&self) -> f64 {
        self.cpu_percent(None)
    }

    /// Memory in use as a percentage of the limit.
    pub fn mem_percent(&self) -> f64 {
        percent(self.mem_usage, self.mem_limit)
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    }
}

impl Engine {
    /// Sample `rec`'s counters; a container that does not run reads as
    /// zeros.
    pub fn container_stats(&self, rec: &ContainerRecord) -> StatsSample {
        let mut s = StatsSample {
            id: rec.id.clone(),
            name: rec.name.clone(),
            system_ns: now_ns(),
            ..Default::default()
        };
        let live = matches!(rec.state.status, Status::Running | Status::Paused);
        let (Some(pid), true) = (rec.state.pid, live) else {
            return s;
        };
        let Ok(cgroup) = ProcessCgroup::of(pid) else {
            return s;
        };
        let u = cgroup.usage();
        s.started_ns = rec
            .state
            .started_at
            .and_then(|t| t.timestamp_nanos_opt())
            .map(|n| n.max(0) as u64);
        s.cpu_ns = u.cpu_ns.unwrap_or(0);
        s.mem_usage = u.memory.unwrap_or(0);
        let host = crate::sys::procfs::memory_total().unwrap_or(u64::MAX);
        s.mem_limit = u.memory_limit.map_or(host, |l| l.min(host));
        s.block_read = u.block_read;
        s.block_write = u.block_write;
        s.pids = u.pids.unwrap_or(0);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_share_between_samples_and_since_start() {
        let first = StatsSample {
            cpu_ns: 500_000_000,
            system_ns: 2_000_000_000,
            started_ns: Some(1_000_000_000),
            mem_usage: 25,
            mem_limit: 100,
            ..Default::default()
        };
        assert!((first.cpu_percent(None) - 50.0).abs() < 1e-9);
        assert!((first.mem_percent() - 25.0).abs() < 1e-9);
        let second = StatsSample {
            cpu_ns: 1_500_000_000,
            system_ns: 3_000_000_000,
            ..first.clone()
        };
        assert!((second.cpu_percent(Some(&first)) - 100.0).abs() < 1e-9);
        assert!((second.average_cpu_percent() - 75.0).abs() < 1e-9);
        // A stopped container: nothing to divide by.
        assert_eq!(StatsSample::default().cpu_percent(None), 0.0);
        assert_eq!(StatsSample::default().mem_percent(), 0.0);
    }
}
