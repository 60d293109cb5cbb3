//! Terminals: reading and setting a terminal's window size (TIOCGWINSZ,
//! TIOCSWINSZ, see ioctl_tty(2)), and learning of our own terminal's resizes
//! through a self-pipe that a SIGWINCH handler writes to.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::fcntl::OFlag;
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSize {
    pub rows: u16,
    pub cols: u16,
}

/// The window size of the terminal `fd` refers to.
pub fn window_size(fd: BorrowedFd<'_>) -> io::Result<WindowSize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which is
    // valid and exclusively borrowed for the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(WindowSize {
        rows: ws.ws_row,
        cols: ws.ws_col,
    })
}

/// Set the window size of the terminal `fd` refers to (the kernel sends
/// SIGWINCH to its foreground process group).
pub fn set_window_size(fd: BorrowedFd<'_>, size: WindowSize) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, valid for the call.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The write end of the installed [`ResizeSignal`]'s pipe, -1 when none.
static WINCH_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_winch(_: libc::c_int) {
    let fd = WINCH_PIPE.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    // SAFETY: only async-signal-safe calls (write(2)) on a descriptor that
    // stays open while the handler is installed; errno is restored so the
    // interrupted code does not see ours.
    unsafe {
        let errno = *libc::__errno_location();
        libc::write(fd, b"w".as_ptr().cast(), 1);
        *libc::__errno_location() = errno;
    }
}

/// SIGWINCH, delivered as a readable pipe (for poll(2)) while the value
/// lives. One at a time per process.
pub struct ResizeSignal {
    read: OwnedFd,
    write: OwnedFd,
    previous: SigAction,
}

impl ResizeSignal {
    pub fn install() -> io::Result<ResizeSignal> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        if WINCH_PIPE
            .compare_exchange(-1, write.as_raw_fd(), Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a SIGWINCH handler is already installed",
            ));
        }
        let action = SigAction::new(
            SigHandler::Handler(on_winch),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: the handler only calls write(2) (async-signal-safe) on
        // the pipe published above, which outlives the installation.
        match unsafe { signal::sigaction(Signal::SIGWINCH, &action) } {
            Ok(previous) => Ok(ResizeSignal {
                read,
                write,
                previous,
            }),
            Err(e) => {
                WINCH_PIPE.store(-1, Ordering::SeqCst);
                Err(e.into())
            }
        }
    }

    /// Readable after a SIGWINCH arrived.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Empty the pipe; true when a signal had arrived.
    pub fn take(&self) -> bool {
        let mut buf = [0u8; 64];
        let mut any = false;
        while let Ok(n) = nix::unistd::read(self.read.as_raw_fd(), &mut buf) {
            if n == 0 {
                break;
            }
            any = true;
        }
        any
    }
}

impl Drop for ResizeSignal {
    fn drop(&mut self) {
        // SAFETY: restores the disposition that was in place before ours.
        let _ = unsafe { signal::sigaction(Signal::SIGWINCH, &self.previous) };
        let _ = WINCH_PIPE.compare_exchange(
            self.write.as_raw_fd(),
            -1,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_size_round_trip_on_a_pty() {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let size = WindowSize {
            rows: 33,
            cols: 101,
        };
        set_window_size(pty.master.as_fd(), size).expect("set");
        assert_eq!(window_size(pty.slave.as_fd()).expect("get"), size);
        let devnull = std::fs::File::open("/dev/null").expect("open");
        assert!(window_size(devnull.as_fd()).is_err());
    }

    #[test]
    fn sigwinch_makes_the_pipe_readable() {
        let winch = ResizeSignal::install().expect("install");
        assert!(!winch.take());
        assert!(ResizeSignal::install().is_err(), "one at a time");
        signal::raise(Signal::SIGWINCH).expect("raise");
        assert!(winch.take());
        drop(winch);
        let again = ResizeSignal::install().expect("install after drop");
        drop(again);
    }
}
