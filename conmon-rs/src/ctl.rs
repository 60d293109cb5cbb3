//! The control FIFO `<bundle>/ctl`: lines of three integers, `TYPE A B`.
//! `1 ROWS COLS` resizes the container's pty; `2 0 0` reopens the log
//! (after a log collector moved it away).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::stat::Mode;

use crate::diag::{debug, warning};

/// conmon's message types.
const WIN_RESIZE_EVENT: i64 = 1;
const REOPEN_LOGS_EVENT: i64 = 2;
/// A longer line without a newline is garbage (conmon reads 200 bytes).
const MAX_LINE: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtlEvent {
    Resize { rows: u16, cols: u16 },
    ReopenLogs,
}

/// Parse one control line (without its newline).
pub fn parse_line(line: &str) -> Result<CtlEvent, String> {
    let nums: Vec<i64> = line
        .split_ascii_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("invalid control message {line:?}"))?;
    let [kind, a, b] = nums[..] else {
        return Err(format!(
            "invalid control message {line:?}: expected three numbers"
        ));
    };
    match kind {
        WIN_RESIZE_EVENT => {
            let size =
                |n: i64| u16::try_from(n).map_err(|_| format!("invalid window size {a}x{b}"));
            Ok(CtlEvent::Resize {
                rows: size(a)?,
                cols: size(b)?,
            })
        }
        REOPEN_LOGS_EVENT => Ok(CtlEvent::ReopenLogs),
        other => Err(format!("invalid control message type {other}")),
    }
}

/// Split complete lines off the front of `buf`, parsing each.
pub fn take_events(buf: &mut Vec<u8>) -> Vec<CtlEvent> {
    let mut events = Vec::new();
    while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
        let line: Vec<u8> = buf.drain(..=nl).collect();
        match parse_line(String::from_utf8_lossy(&line[..nl]).trim()) {
            Ok(ev) => events.push(ev),
            Err(e) => warning!("{e}"),
        }
    }
    if buf.len() > MAX_LINE {
        warning!(
            "discarding {} bytes of control input without a newline",
            buf.len()
        );
        buf.clear();
    }
    events
}

pub struct Ctl {
    read: OwnedFd,
    /// Our own writer: without one, the FIFO reports hang-up whenever the
    /// last caller closes it.
    _writer: OwnedFd,
    buf: Vec<u8>,
}

impl Ctl {
    /// Create (or recreate) the FIFO in `bundle` and open both ends.
    pub fn create(bundle: &Path) -> io::Result<Ctl> {
        let path = bundle.join("ctl");
        match nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o660)) {
            Err(Errno::EEXIST) => {
                std::fs::remove_file(&path)?;
                nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o660))?;
            }
            other => other?,
        }
        let read = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)?;
        let writer = std::fs::OpenOptions::new().write(true).open(&path)?;
        Ok(Ctl {
            read: read.into(),
            _writer: writer.into(),
            buf: Vec::new(),
        })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Read what is there and return the complete messages.
    pub fn read_events(&mut self) -> Vec<CtlEvent> {
        let mut chunk = [0u8; 256];
        loop {
            match nix::unistd::read(self.read.as_raw_fd(), &mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    debug!("control input: {:?}", String::from_utf8_lossy(&chunk[..n]));
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => break,
                Err(e) => {
                    warning!("cannot read the control FIFO: {e}");
                    break;
                }
            }
        }
        take_events(&mut self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_podman_writes_them() {
        assert_eq!(
            parse_line("1 24 80"),
            Ok(CtlEvent::Resize { rows: 24, cols: 80 })
        );
        assert_eq!(parse_line("2 0 0"), Ok(CtlEvent::ReopenLogs));
        assert_eq!(
            parse_line(" 1  50\t132 "),
            Ok(CtlEvent::Resize {
                rows: 50,
                cols: 132
            })
        );
        assert!(parse_line("3 0 0").is_err());
        assert!(parse_line("1 24").is_err());
        assert!(parse_line("1 -1 80").is_err());
        assert!(parse_line("1 24 80 9").is_err());
        assert!(parse_line("resize").is_err());
    }

    #[test]
    fn buffers_partial_lines() {
        let mut buf = b"1 24 80\n2 0".to_vec();
        assert_eq!(
            take_events(&mut buf),
            [CtlEvent::Resize { rows: 24, cols: 80 }]
        );
        assert_eq!(buf, b"2 0");
        buf.extend_from_slice(b" 0\nbad\n1 1 1\n");
        assert_eq!(
            take_events(&mut buf),
            [CtlEvent::ReopenLogs, CtlEvent::Resize { rows: 1, cols: 1 }],
            "a bad line is skipped, the rest still counts"
        );
        assert!(buf.is_empty());
        buf.extend(std::iter::repeat_n(b'x', 300));
        assert!(take_events(&mut buf).is_empty());
        assert!(buf.is_empty(), "garbage without a newline is dropped");
    }

    #[test]
    fn fifo_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ctl"), "stale").expect("write");
        let mut ctl = Ctl::create(dir.path()).expect("create");
        std::fs::write(dir.path().join("ctl"), "1 10 20\n2 0 0\n").expect("write to fifo");
        assert_eq!(
            ctl.read_events(),
            [
                CtlEvent::Resize { rows: 10, cols: 20 },
                CtlEvent::ReopenLogs
            ]
        );
        assert!(ctl.read_events().is_empty());
    }
}
