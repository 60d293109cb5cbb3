//! The pipes to the caller, as conmon speaks them: the start pipe (wait for
//! the caller), the sync pipe (container pid, errors, exec exit status) and
//! the exec attach pipe. Each message is one JSON object on one line,
//! written with a single write(2) (podman uses SEQPACKET socket pairs).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use crate::diag::warning;

/// A pipe the monitor reports on; gone once the reader has closed it.
pub struct ReportPipe {
    fd: Option<OwnedFd>,
    key: &'static str,
}

impl ReportPipe {
    /// The pipe whose number is in the environment variable `env`, if any.
    /// `key` is the JSON key: `data` for API version 1 and later, else
    /// `pid` (create) or `exit_code` (exec), as conmon's legacy API had.
    pub fn from_env(env: &str, api_version: u32, exec: bool) -> io::Result<ReportPipe> {
        let key = match (api_version, exec) {
            (1.., _) => "data",
            (0, true) => "exit_code",
            (0, false) => "pid",
        };
        Ok(ReportPipe {
            fd: crate::sys::take_env_fd(env)?,
            key,
        })
    }

    pub fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.fd.as_ref().map(AsRawFd::as_raw_fd)
    }

    pub fn is_open(&self) -> bool {
        self.fd.is_some()
    }

    /// Send `{"KEY": value}` or `{"KEY": value, "message": "..."}`.
    pub fn send(&mut self, value: i64, message: Option<&str>) {
        let Some(fd) = &self.fd else { return };
        let line = encode(self.key, value, message);
        loop {
            match nix::unistd::write(fd, line.as_bytes()) {
                Ok(n) if n == line.len() => {}
                Ok(_) => warning!("short write on the sync pipe"),
                Err(Errno::EINTR) => continue,
                Err(Errno::EPIPE) => self.fd = None,
                Err(e) => warning!("cannot report to the caller: {e}"),
            }
            return;
        }
    }
}

/// Block until the caller writes to the start pipe: podman moves the
/// monitor into its cgroup meanwhile. An end of file with nothing written
/// means the caller died first (podman and skiff both write a byte): then
/// nothing is started, so that no container runs that no record knows.
pub fn wait_start(fd: &OwnedFd) -> io::Result<()> {
    let mut buf = [0u8; 8192];
    loop {
        match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the caller went away before releasing the monitor",
                ))
            }
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// One protocol line.
pub fn encode(key: &str, value: i64, message: Option<&str>) -> String {
    match message.filter(|m| !m.is_empty()) {
        Some(m) => format!("{{\"{key}\": {value}, \"message\": \"{}\"}}\n", escape(m)),
        None => format!("{{\"{key}\": {value}}}\n"),
    }
}

/// JSON string escaping.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_pipe_releases_on_data_and_refuses_a_caller_gone() {
        let (r, w) = nix::unistd::pipe().expect("pipe");
        nix::unistd::write(&w, b"0").expect("write");
        wait_start(&r).expect("released");
        let (r, w) = nix::unistd::pipe().expect("pipe");
        drop(w);
        let err = wait_start(&r).expect_err("the caller went away");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn messages_match_conmon() {
        assert_eq!(encode("data", 4242, None), "{\"data\": 4242}\n");
        assert_eq!(encode("data", -1, Some("")), "{\"data\": -1}\n");
        assert_eq!(
            encode("data", -1, Some("runc: \"x\" failed\n")),
            "{\"data\": -1, \"message\": \"runc: \\\"x\\\" failed\\n\"}\n"
        );
        assert_eq!(encode("pid", 7, None), "{\"pid\": 7}\n");
    }

    #[test]
    fn escaping_yields_valid_json() {
        let nasty = "tab\there\\ bell\u{7} del\u{7f} é";
        let line = encode("data", -1, Some(nasty));
        let v: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(v["message"], nasty);
        assert_eq!(v["data"], -1);
    }
}
