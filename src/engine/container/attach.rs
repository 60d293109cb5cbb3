//! Attaching to a container through its monitor's SEQPACKET socket: output
//! arrives as messages whose first byte names the stream (2 stdout,
//! 3 stderr); what the client sends goes to the container's stdin.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr};

use crate::engine::container::ContainerError;

const STDOUT: u8 = 2;
const STDERR: u8 = 3;

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

    /// Relay output to `out`/`err_out` (and `input` to the container) until
    /// the monitor closes the connection.
    pub fn relay(
        &self,
        out: &mut dyn Write,
        err_out: &mut dyn Write,
        mut input: Option<&mut dyn Read>,
        input_fd: Option<std::os::fd::BorrowedFd<'_>>,
    ) -> Result<(), ContainerError> {
        let mut buf = vec![0u8; 65536];
        let mut input_open = input.is_some() && input_fd.is_some();
        loop {
            let mut fds = vec![PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
            if let (true, Some(fd)) = (input_open, input_fd) {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
            }
            match nix::poll::poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(err("waiting for output", e)),
            }
            let sock_ready = fds[0].revents().unwrap_or(PollFlags::empty());
            let in_ready = fds
                .get(1)
                .and_then(|f| f.revents())
                .unwrap_or(PollFlags::empty());
            if sock_ready.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                let n = match socket::recv(self.sock.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                    Ok(n) => n,
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(err("reading output", e)),
                };
                if n == 0 {
                    return Ok(());
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
            if in_ready.intersects(PollFlags::POLLIN | PollFlags::POLLHUP) {
                if let Some(r) = input.as_deref_mut() {
                    let n = r.read(&mut buf).map_err(|e| err("reading input", e))?;
                    if n == 0 {
                        input_open = false;
                        // Tell the monitor stdin ended.
                        let _ = socket::shutdown(self.sock.as_raw_fd(), socket::Shutdown::Write);
                    } else {
                        socket::send(self.sock.as_raw_fd(), &buf[..n], MsgFlags::empty())
                            .map_err(|e| err("sending input", e))?;
                    }
                }
            }
        }
    }
}
