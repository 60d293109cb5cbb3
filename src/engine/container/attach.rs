//! Attaching to a container through its monitor's SEQPACKET socket: output
//! arrives as messages whose first byte names the stream (2 stdout,
//! 3 stderr); what the client sends goes to the container's stdin.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};

use crate::engine::container::detach_keys::DetachKeys;
use crate::engine::container::ContainerError;

const STDOUT: u8 = 2;
const STDERR: u8 = 3;

/// What a relay moves, and what ends or interrupts it.
pub struct RelayIo<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Our input, read with read(2) and sent to the container's stdin.
    pub input: Option<BorrowedFd<'a>>,
    /// Input that ends the relay instead of reaching the container.
    pub detach_keys: &'a DetachKeys,
    /// When readable, `on_wake` runs (a resize of our terminal, say); it
    /// must make the descriptor unreadable again.
    pub wake: Option<BorrowedFd<'a>>,
    pub on_wake: &'a mut dyn FnMut(),
}

/// Why a relay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayEnd {
    /// The monitor closed the connection: the process has exited.
    Closed,
    /// The detach keys were typed: the process goes on.
    Detached,
}

/// A connection to a container's attach socket.
pub struct Attachment {
    sock: OwnedFd,
}

fn err(what: &str, e: impl std::fmt::Display) -> ContainerError {
    ContainerError::Invalid(format!("{what}: {e}"))
}

impl Attachment {
    /// Connect to the socket in `bundle` (through /proc/self/fd, so the
    /// path length limit of socket addresses does not matter).
    pub fn connect(bundle: &Path) -> Result<Self, ContainerError> {
        let dir = std::fs::File::open(bundle).map_err(|e| err("opening the bundle", e))?;
        let addr = UnixAddr::new(format!("/proc/self/fd/{}/attach", dir.as_raw_fd()).as_str())
            .map_err(|e| err("attach socket address", e))?;
        let sock = socket::socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(|e| err("creating a socket", e))?;
        let mut last = None;
        for _ in 0..100 {
            match socket::connect(sock.as_raw_fd(), &addr) {
                Ok(()) => return Ok(Attachment { sock }),
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        }
        Err(err(
            "connecting to the container's attach socket",
            last.map(|e| e.to_string()).unwrap_or_default(),
        ))
    }

    /// Relay output to `io.out`/`io.err` (and `io.input` to the container)
    /// until the monitor closes the connection or the detach keys arrive.
    pub fn relay(&self, io: RelayIo<'_>) -> Result<RelayEnd, ContainerError> {
        let RelayIo {
            out,
            err: err_out,
            input,
            detach_keys,
            wake,
            on_wake,
        } = io;
        let mut buf = vec![0u8; 65536];
        let mut forward = Vec::new();
        let mut keys = detach_keys.matcher();
        let mut input = input;
        loop {
            let mut fds = vec![PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
            let in_at = input.map(|fd| {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                fds.len() - 1
            });
            let wake_at = wake.map(|fd| {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                fds.len() - 1
            });
            match nix::poll::poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(err("waiting for output", e)),
            }
            let ready = |at: Option<usize>| {
                at.and_then(|i| fds.get(i))
                    .and_then(|f| f.revents())
                    .unwrap_or(PollFlags::empty())
            };
            let sock_ready = ready(Some(0));
            let in_ready = ready(in_at);
            let wake_ready = ready(wake_at).intersects(PollFlags::POLLIN);
            drop(fds);
            if wake_ready {
                on_wake();
            }
            if sock_ready.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                let n = match socket::recv(self.sock.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                    Ok(n) => n,
                    Err(Errno::EINTR) => continue,
                    // The monitor went away with our input unread.
                    Err(Errno::ECONNRESET) => return Ok(RelayEnd::Closed),
                    Err(e) => return Err(err("reading output", e)),
                };
                if n == 0 {
                    return Ok(RelayEnd::Closed);
                }
                let (w, data): (&mut dyn Write, &[u8]) = match buf[0] {
                    STDERR => (&mut *err_out, &buf[1..n]),
                    STDOUT => (&mut *out, &buf[1..n]),
                    _ => continue,
                };
                match w.write_all(data).and_then(|_| w.flush()) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                    Err(e) => return Err(err("writing output", e)),
                }
            }
            let Some(fd) = input else { continue };
            if !in_ready.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                continue;
            }
            let n = match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                Ok(n) => n,
                Err(Errno::EINTR | Errno::EAGAIN) => continue,
                // A terminal that hung up has no more input.
                Err(Errno::EIO) => 0,
                Err(e) => return Err(err("reading input", e)),
            };
            if n == 0 {
                input = None;
                // Tell the monitor our input ended.
                let _ = socket::shutdown(self.sock.as_raw_fd(), socket::Shutdown::Write);
                continue;
            }
            forward.clear();
            let detach = keys.feed(&buf[..n], &mut forward);
            if !forward.is_empty() {
                socket::send(self.sock.as_raw_fd(), &forward, MsgFlags::MSG_NOSIGNAL)
                    .map_err(|e| err("sending input", e))?;
            }
            if detach {
                return Ok(RelayEnd::Detached);
            }
        }
    }
}
