//! Adopting a container that is already created (a skiff extension of
//! conmon's protocol). skiff's engine creates containers with its built-in
//! runtime in a process of its own, which then executes the monitor: the
//! container's init is already the monitor's child, waiting for `start`,
//! and the monitor's ends of its stdio are inherited. The environment
//! variable `_SKIFF_ADOPT` says so:
//!
//! ```text
//! _SKIFF_ADOPT=pid=PID[,stdin=FD][,stdout=FD][,stderr=FD][,console=FD]
//! ```
//!
//! `console` is the pty master (with `-t`); the pipes are the monitor's
//! ends. The runtime is then not run at all.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::runtime::{prepare_pty, set_nonblocking};

const ENV: &str = "_SKIFF_ADOPT";

/// The adopted container: its init and the monitor's ends of its stdio.
#[derive(Debug)]
pub struct Adopted {
    pub pid: i32,
    pub stdin: Option<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    pub console: Option<OwnedFd>,
}

impl Adopted {
    /// From the environment, if the caller created the container.
    pub fn from_env() -> io::Result<Option<Adopted>> {
        let Some(value) = std::env::var_os(ENV) else {
            return Ok(None);
        };
        std::env::remove_var(ENV);
        let value = value
            .into_string()
            .map_err(|_| bad("not text".to_string()))?;
        let fields = parse(&value)?;
        let mut a = Adopted {
            pid: 0,
            stdin: None,
            stdout: None,
            stderr: None,
            console: None,
        };
        for (key, n) in fields {
            let slot = match key {
                "pid" => {
                    a.pid = n;
                    continue;
                }
                "stdin" => &mut a.stdin,
                "stdout" => &mut a.stdout,
                "stderr" => &mut a.stderr,
                _ => &mut a.console,
            };
            let fd = crate::sys::take_fd(n)?;
            if key == "console" {
                prepare_pty(&fd)?;
            } else {
                set_nonblocking(&fd)?;
            }
            *slot = Some(fd);
        }
        if a.pid <= 0 {
            return Err(bad(format!("no pid in {value:?}")));
        }
        Ok(Some(a))
    }

    /// The descriptors taken over (not to be closed as merely inherited).
    pub fn fds(&self) -> Vec<RawFd> {
        [&self.stdin, &self.stdout, &self.stderr, &self.console]
            .into_iter()
            .flatten()
            .map(AsRawFd::as_raw_fd)
            .collect()
    }
}

fn bad(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{ENV}: {why}"))
}

/// `key=number` pairs, each key known and given once.
fn parse(value: &str) -> io::Result<Vec<(&str, i32)>> {
    let mut out: Vec<(&str, i32)> = Vec::new();
    for field in value.split(',') {
        let (key, n) = field
            .split_once('=')
            .ok_or_else(|| bad(format!("{field:?} is not key=number")))?;
        if !matches!(key, "pid" | "stdin" | "stdout" | "stderr" | "console") {
            return Err(bad(format!("unknown key {key:?}")));
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(bad(format!("{key} given twice")));
        }
        let n: i32 = n
            .parse()
            .ok()
            .filter(|&n| n >= 0)
            .ok_or_else(|| bad(format!("{field:?} is not key=number")))?;
        out.push((key, n));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_is_parsed_strictly() {
        assert_eq!(
            parse("pid=42,stdout=5,stderr=6").expect("valid"),
            vec![("pid", 42), ("stdout", 5), ("stderr", 6)]
        );
        for wrong in ["pid", "pid=x", "pid=-1", "pid=1,pid=2", "tty=3", ""] {
            assert!(parse(wrong).is_err(), "{wrong:?}");
        }
    }
}
