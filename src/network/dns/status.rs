//! The server's status file, `.server.pid`: who the server is (pid and
//! start time, so that a pid the kernel gave to another process since is
//! never signalled), how many times it has read the directory, and which
//! listen addresses it could not bind. The server rewrites it after each
//! reading and removes it when it ends.
//!
//! ```text
//! 4242 1234567 3
//! 10.89.0.1 Address already in use (os error 98)
//! ```

use std::io::{self, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The file's name in the directory.
pub(crate) const FILE: &str = ".server.pid";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub pid: i32,
    /// The process's start time, in clock ticks after boot (proc(5)).
    pub start_ticks: u64,
    /// How many times the server has read the directory.
    pub generation: u64,
    /// The listen addresses it could not bind, and why.
    pub failed: Vec<(IpAddr, String)>,
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

impl Status {
    /// This process's status after reading the directory `generation` times.
    pub fn of_self(generation: u64, failed: Vec<(IpAddr, String)>) -> io::Result<Status> {
        let pid = std::process::id() as i32;
        let start_ticks = crate::sys::procfs::stat(pid)?.start_ticks;
        Ok(Status {
            pid,
            start_ticks,
            generation,
            failed,
        })
    }

    pub fn render(&self) -> String {
        let mut out = format!("{} {} {}\n", self.pid, self.start_ticks, self.generation);
        for (addr, why) in &self.failed {
            out.push_str(&format!("{addr} {}\n", why.replace('\n', " ")));
        }
        out
    }

    pub fn parse(text: &str) -> Option<Status> {
        let mut lines = text.lines();
        let mut head = lines.next()?.split_whitespace();
        let pid = head.next()?.parse().ok().filter(|&p: &i32| p > 0)?;
        let start_ticks = head.next()?.parse().ok()?;
        let generation = head.next()?.parse().ok()?;
        let failed = lines
            .filter_map(|l| {
                let (addr, why) = l.split_once(' ')?;
                Some((addr.parse().ok()?, why.to_string()))
            })
            .collect();
        Some(Status {
            pid,
            start_ticks,
            generation,
            failed,
        })
    }

    /// The status in `dir`; `None` when there is none (or it is torn).
    pub fn read(dir: &Path) -> io::Result<Option<Status>> {
        match std::fs::read_to_string(path(dir)) {
            Ok(text) => Ok(Status::parse(&text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replace the file in `dir` (temp file and rename: readers never see
    /// half of it).
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
        tmp.write_all(self.render().as_bytes())?;
        tmp.persist(path(dir)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Whether the process named is still the one that wrote the file.
    pub fn is_running(&self) -> bool {
        crate::sys::procfs::stat(self.pid).is_ok_and(|s| s.start_ticks == self.start_ticks)
    }
}
