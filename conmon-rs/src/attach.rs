//! The attach socket: a SEQPACKET listener named `attach`, reached as
//! `<socket-dir>/<cuuid>/attach` through a symlink `<socket-dir>/<cuuid>` to
//! the bundle (which keeps the path under the 108-byte limit of a socket
//! address), or bound in the bundle itself with `--full-attach`.
//!
//! Each message to a client is one byte naming the stream (2 stdout, 3
//! stderr) followed by at most 8192 bytes of output; what a client sends
//! goes to the container's stdin as is.

use std::ffi::OsStr;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{
    self, sockopt, AddressFamily, MsgFlags, Shutdown, SockFlag, SockType, UnixAddr,
};
use nix::sys::time::TimeVal;

use crate::diag::{debug, warning};
use crate::logs::Stream;

/// Length of `sun_path` in a unix socket address.
const SUN_PATH_LEN: usize = 108;
/// Largest input message read from a client (conmon's CONN_SOCK_BUF_SIZE).
pub const CLIENT_BUF: usize = 32768;
/// How long a client may stall the monitor before it stops getting output.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The directory the socket is bound in, and whether it is a symlink that
/// the monitor makes (and removes at exit).
pub fn socket_parent(
    bundle: &Path,
    socket_dir: Option<&Path>,
    cuuid: &OsStr,
    full: bool,
) -> (PathBuf, bool) {
    match socket_dir {
        Some(dir) if !full => {
            let mut base = dir.join(cuuid).into_os_string().into_vec();
            // A symlink exactly as long as the longest socket path would
            // leave no room for the socket beside it: shorten it by one, as
            // conmon does (callers compute the same name).
            if base.len() == SUN_PATH_LEN - 1 {
                base.truncate(SUN_PATH_LEN - 2);
            }
            (PathBuf::from(OsStr::from_bytes(&base)), true)
        }
        _ => (bundle.to_path_buf(), false),
    }
}

/// One attached client.
pub struct Client {
    pub fd: OwnedFd,
    /// Still sending input (not shut down for reading).
    pub readable: bool,
    /// Still receiving output.
    pub writable: bool,
    /// Input not yet written to the container's stdin.
    pub pending: Vec<u8>,
}

pub struct Attach {
    /// None once closed at exit.
    listener: Option<OwnedFd>,
    symlink: Option<PathBuf>,
    pub clients: Vec<Client>,
}

impl Attach {
    pub fn bind(
        bundle: &Path,
        socket_dir: Option<&Path>,
        cuuid: &OsStr,
        full: bool,
    ) -> io::Result<Attach> {
        let (parent, is_link) = socket_parent(bundle, socket_dir, cuuid, full);
        if is_link {
            match std::fs::remove_file(&parent) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            std::os::unix::fs::symlink(bundle, &parent)?;
        }
        // Bind through /proc/self/fd/N so that a long bundle path still fits.
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(&parent)?;
        let full_path = parent.join("attach");
        match std::fs::remove_file(&full_path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let listener = socket::socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )?;
        nix::sys::stat::fchmod(
            listener.as_raw_fd(),
            nix::sys::stat::Mode::from_bits_truncate(0o700),
        )?;
        let addr = UnixAddr::new(format!("/proc/self/fd/{}/attach", dir.as_raw_fd()).as_str())?;
        socket::bind(listener.as_raw_fd(), &addr)?;
        std::fs::set_permissions(&full_path, std::fs::Permissions::from_mode(0o700))?;
        socket::listen(
            &listener,
            socket::Backlog::new(10).map_err(io::Error::from)?,
        )?;
        debug!("attach socket at {}", full_path.display());
        Ok(Attach {
            listener: Some(listener),
            symlink: is_link.then_some(parent),
            clients: Vec::new(),
        })
    }

    pub fn listener(&self) -> Option<BorrowedFd<'_>> {
        self.listener.as_ref().map(|l| l.as_fd())
    }

    /// Take every pending connection.
    pub fn accept(&mut self) {
        let Some(listener) = &self.listener else {
            return;
        };
        loop {
            match crate::sys::accept(listener.as_fd(), false) {
                Ok(fd) => {
                    let timeout = TimeVal::new(SEND_TIMEOUT.as_secs() as _, 0);
                    if let Err(e) = socket::setsockopt(&fd, sockopt::SendTimeout, &timeout) {
                        warning!("cannot set a send timeout on an attach client: {e}");
                    }
                    debug!("attach client connected");
                    self.clients.push(Client {
                        fd,
                        readable: true,
                        writable: true,
                        pending: Vec::new(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return warning!("cannot accept an attach client: {e}"),
            }
        }
    }

    /// Send a chunk of output to every client still receiving.
    pub fn broadcast(&mut self, stream: Stream, data: &[u8]) {
        let tag = [stream as u8];
        for c in self.clients.iter_mut().filter(|c| c.writable) {
            let iov = [IoSlice::new(&tag), IoSlice::new(data)];
            loop {
                match socket::sendmsg::<()>(
                    c.fd.as_raw_fd(),
                    &iov,
                    &[],
                    MsgFlags::MSG_NOSIGNAL,
                    None,
                ) {
                    Ok(_) => break,
                    Err(Errno::EINTR) => continue,
                    Err(e) => {
                        warning!("cannot write to an attach client, detaching it: {e}");
                        let _ = socket::shutdown(c.fd.as_raw_fd(), Shutdown::Write);
                        c.writable = false;
                        break;
                    }
                }
            }
        }
    }

    /// Read input from client `i`. Returns false when the client has no more
    /// to send (it shut down its side, or went away).
    pub fn read_client(&mut self, i: usize, buf: &mut [u8]) -> bool {
        let Some(c) = self.clients.get_mut(i) else {
            return false;
        };
        match socket::recv(c.fd.as_raw_fd(), buf, MsgFlags::MSG_DONTWAIT) {
            Ok(0) => {}
            Ok(n) => {
                c.pending.extend_from_slice(&buf[..n]);
                return true;
            }
            Err(Errno::EAGAIN | Errno::EINTR) => return true,
            Err(e) => debug!("attach client read failed: {e}"),
        }
        let _ = socket::shutdown(c.fd.as_raw_fd(), Shutdown::Read);
        c.readable = false;
        false
    }

    /// Drop clients that neither send nor receive any more (between turns of
    /// the loop: the poll set refers to clients by index).
    pub fn prune(&mut self) {
        self.clients
            .retain(|c| c.readable || c.writable || !c.pending.is_empty());
    }

    /// Whether some client input waits for the container's stdin.
    pub fn has_pending(&self) -> bool {
        self.clients.iter().any(|c| !c.pending.is_empty())
    }

    /// Write pending input to `stdin` (non-blocking) until it would block.
    /// Returns an error when stdin is broken (the container closed it).
    pub fn flush_input(&mut self, stdin: BorrowedFd<'_>) -> io::Result<()> {
        for c in self.clients.iter_mut() {
            while !c.pending.is_empty() {
                match nix::unistd::write(stdin, &c.pending) {
                    Ok(n) => {
                        c.pending.drain(..n);
                    }
                    Err(Errno::EINTR) => {}
                    Err(Errno::EAGAIN) => return Ok(()),
                    Err(e) => {
                        c.pending.clear();
                        return Err(e.into());
                    }
                }
            }
            c.pending.shrink_to(CLIENT_BUF);
        }
        Ok(())
    }

    /// Discard pending input (the container has no stdin).
    pub fn discard_input(&mut self) {
        for c in self.clients.iter_mut() {
            c.pending.clear();
        }
    }

    /// Disconnect every client and stop listening (at exit).
    pub fn close(&mut self) {
        self.clients.clear();
        self.listener = None;
    }

    /// Remove the `<socket-dir>/<cuuid>` symlink.
    pub fn remove_symlink(&self) {
        if let Some(link) = &self.symlink {
            match std::fs::remove_file(link) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    warning!("cannot remove the attach symlink {}: {e}", link.display())
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_directory() {
        let b = Path::new("/b/ctr");
        assert_eq!(
            socket_parent(b, Some(Path::new("/run/s")), OsStr::new("abc"), false),
            (PathBuf::from("/run/s/abc"), true)
        );
        assert_eq!(
            socket_parent(b, Some(Path::new("/run/s")), OsStr::new("abc"), true),
            (PathBuf::from("/b/ctr"), false),
            "--full-attach ignores --socket-dir-path"
        );
        assert_eq!(
            socket_parent(b, None, OsStr::new("abc"), false),
            (PathBuf::from("/b/ctr"), false)
        );
        // A link name of exactly 107 bytes is shortened by one.
        let dir = format!("/{}", "d".repeat(102));
        let (p, _) = socket_parent(b, Some(Path::new(&dir)), OsStr::new("abc"), false);
        assert_eq!(p.as_os_str().len(), 106);
        assert!(p.as_os_str().as_bytes().ends_with(b"/ab"));
        let (p, _) = socket_parent(b, Some(Path::new(&dir)), OsStr::new("abcd"), false);
        assert_eq!(
            p.as_os_str().len(),
            108,
            "only the exact length is shortened"
        );
    }
}
