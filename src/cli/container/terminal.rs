//! Our terminal attached to a container or an exec session, for `run`,
//! `start -a`, `attach` and `exec`: stdio relayed through the monitor's
//! attach socket, raw mode while the process has a terminal, its window size
//! kept equal to ours (through the monitor's ctl FIFO, at attach and on
//! SIGWINCH), and detach keys that leave it running.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::engine::container::attach::{Attachment, RelayEnd, RelayIo};
use crate::engine::container::detach_keys::{DetachKeys, DEFAULT_DETACH_KEYS};
use crate::sys::tty::{window_size, ResizeSignal, WindowSize};

/// Puts the terminal in raw mode for the life of the value.
pub struct RawTerminal {
    saved: nix::sys::termios::Termios,
}

impl RawTerminal {
    pub fn enter() -> Option<Self> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        let saved = nix::sys::termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        nix::sys::termios::cfmakeraw(&mut raw);
        nix::sys::termios::tcsetattr(stdin.as_fd(), nix::sys::termios::SetArg::TCSANOW, &raw)
            .ok()?;
        Some(RawTerminal { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(
            std::io::stdin().as_fd(),
            nix::sys::termios::SetArg::TCSANOW,
            &self.saved,
        );
    }
}

/// Whether our stdin goes to the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Forward,
    Closed,
}

/// What to attach, and how.
pub struct Session<'a> {
    pub attachment: &'a Attachment,
    pub input: Input,
    /// The process has a terminal: raw mode and window sizes apply.
    pub tty: bool,
    /// The monitor's control FIFO (window sizes).
    pub ctl: &'a Path,
    pub detach_keys: &'a DetachKeys,
}

/// `--detach-keys`, podman's default when not given.
pub fn detach_keys(arg: Option<&str>) -> anyhow::Result<DetachKeys> {
    Ok(DetachKeys::parse(arg.unwrap_or(DEFAULT_DETACH_KEYS))?)
}

/// The size of the terminal we run in: stdin's when it is one, else
/// stdout's.
pub fn our_window_size() -> Option<WindowSize> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return window_size(stdin.as_fd()).ok();
    }
    let stdout = std::io::stdout();
    if stdout.is_terminal() {
        return window_size(stdout.as_fd()).ok();
    }
    None
}

/// Tell the monitor behind `ctl` our window size (`1 ROWS COLS`). Best
/// effort: a process without a terminal simply keeps its size.
pub fn send_window_size(ctl: &Path) {
    let Some(size) = our_window_size() else {
        return;
    };
    if size.rows == 0 || size.cols == 0 {
        return;
    }
    let sent = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(ctl)
        .and_then(|mut f| f.write_all(format!("1 {} {}\n", size.rows, size.cols).as_bytes()));
    if let Err(e) = sent {
        tracing::debug!("sending the window size to {}: {e}", ctl.display());
    }
}

/// Relay until the process ends or the detach keys are typed.
pub fn relay(s: Session<'_>) -> anyhow::Result<RelayEnd> {
    let forward = s.input == Input::Forward;
    let _raw = if s.tty && forward {
        RawTerminal::enter()
    } else {
        None
    };
    let resizes = match (s.tty, our_window_size()) {
        (true, Some(_)) => ResizeSignal::install()
            .map_err(|e| tracing::debug!("watching for window size changes: {e}"))
            .ok(),
        _ => None,
    };
    if s.tty {
        send_window_size(s.ctl);
    }
    let mut on_wake = || {
        if let Some(r) = &resizes {
            r.take();
        }
        send_window_size(s.ctl);
    };
    let stdin = std::io::stdin();
    let end = s.attachment.relay(RelayIo {
        out: &mut std::io::stdout(),
        err: &mut std::io::stderr(),
        input: forward.then(|| stdin.as_fd()),
        detach_keys: s.detach_keys,
        wake: resizes.as_ref().map(ResizeSignal::fd),
        on_wake: &mut on_wake,
    })?;
    Ok(end)
}
