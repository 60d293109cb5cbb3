//! A pseudo-terminal for tests of what a user at a terminal sees (`run -it`,
//! `attach`, `exec -t`): the program gets the slave side as its stdin,
//! stdout and stderr, and (started through [`IN_NEW_SESSION`]) as its
//! controlling terminal, so that it receives SIGWINCH; the test types on
//! the master side and reads what the program shows.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::pty::Winsize;

use super::command::Cmd;

/// A wrapper for [`crate::Skiff::cmd_via`]: a new session whose controlling
/// terminal is the program's stdin (util-linux `setsid`).
pub const IN_NEW_SESSION: &[&str] = &["setsid", "--wait", "--ctty"];

/// How long `expect` and `wait` wait before failing the test.
const DEADLINE: Duration = Duration::from_secs(60);

/// A program running in a pseudo-terminal.
pub struct PtyChild {
    master: File,
    child: Child,
    display: String,
    /// Everything read from the terminal so far.
    seen: Vec<u8>,
    /// Where the next `expect` starts looking.
    cursor: usize,
}

impl PtyChild {
    /// Start `cmd` in a new terminal of `rows` x `cols`.
    pub fn spawn(cmd: Cmd, rows: u16, cols: u16) -> PtyChild {
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).expect("openpty");
        let flags = OFlag::from_bits_truncate(
            fcntl(pty.master.as_raw_fd(), FcntlArg::F_GETFL).expect("F_GETFL"),
        );
        fcntl(
            pty.master.as_raw_fd(),
            FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK),
        )
        .expect("F_SETFL");
        let display = cmd.display().to_string();
        let slave: OwnedFd = pty.slave;
        let dup = || Stdio::from(slave.try_clone().expect("dup the pty slave"));
        let child = cmd
            .into_command()
            .stdin(dup())
            .stdout(dup())
            .stderr(dup())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{display}`: {e}"));
        drop(slave);
        PtyChild {
            master: File::from(pty.master),
            child,
            display,
            seen: Vec::new(),
            cursor: 0,
        }
    }

    /// Type `text` on the terminal.
    pub fn write(&mut self, text: &str) {
        self.master
            .write_all(text.as_bytes())
            .expect("write to the pty");
    }

    /// Change the terminal's size, as a terminal emulator does.
    pub fn resize(&self, rows: u16, cols: u16) {
        skiff::sys::tty::set_window_size(
            self.master.as_fd(),
            skiff::sys::tty::WindowSize { rows, cols },
        )
        .expect("TIOCSWINSZ on the pty master");
    }

    /// What the terminal showed so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    /// Read what is there within `wait`; false at the end of output.
    fn read_some(&mut self, wait: Duration) -> bool {
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
        if nix::poll::poll(&mut fds, PollTimeout::from(ms)).unwrap_or(0) == 0 {
            return true;
        }
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(0) => false,
            Ok(n) => {
                self.seen.extend_from_slice(&buf[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => true,
            // EIO: every slave descriptor is closed.
            Err(_) => false,
        }
    }

    /// Wait until `needle` appears after what earlier calls matched;
    /// returns the output up to and including it.
    #[track_caller]
    pub fn expect(&mut self, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let rest = String::from_utf8_lossy(&self.seen[self.cursor..]).into_owned();
            if let Some(i) = rest.find(needle) {
                let upto = self.cursor + rest[..i + needle.len()].len();
                let text = String::from_utf8_lossy(&self.seen[self.cursor..upto]).into_owned();
                self.cursor = upto;
                return text;
            }
            let open = self.read_some(Duration::from_millis(100));
            if start.elapsed() > DEADLINE || (!open && self.exited()) {
                panic!(
                    "`{}` did not show {needle:?}; it showed:\n{}",
                    self.display,
                    self.output()
                );
            }
        }
    }

    fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Wait for the program to exit, reading its output meanwhile.
    #[track_caller]
    pub fn wait(&mut self) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the child") {
                while self.read_some(Duration::from_millis(10)) && !self.drained() {}
                return status;
            }
            self.read_some(Duration::from_millis(20));
            if start.elapsed() > DEADLINE {
                let _ = self.child.kill();
                panic!(
                    "`{}` did not exit; it showed:\n{}",
                    self.display,
                    self.output()
                );
            }
        }
    }

    /// Nothing more to read right now.
    fn drained(&self) -> bool {
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        nix::poll::poll(&mut fds, PollTimeout::ZERO).unwrap_or(0) == 0
    }
}

impl Drop for PtyChild {
    fn drop(&mut self) {
        if !self.exited() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
