//! The server's sockets on one listen address: UDP and TCP, bound with
//! `IP_FREEBIND` so that a gateway address not yet on its bridge (or an
//! IPv6 address still in duplicate address detection) can be bound all the
//! same, see ip(7).

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrStorage,
};

/// How many TCP connections may wait to be accepted.
const BACKLOG: i32 = 64;

/// UDP and TCP on one address.
#[derive(Debug)]
pub(crate) struct Listener {
    pub addr: IpAddr,
    pub udp: UdpSocket,
    pub tcp: TcpListener,
}

fn socket_on(addr: SocketAddr, kind: SockType) -> io::Result<OwnedFd> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd = socket(
        family,
        kind,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )?;
    // The IP level option applies to IPv6 sockets too.
    setsockopt(&fd, sockopt::IpFreebind, &true)?;
    if family == AddressFamily::Inet6 {
        setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    if kind == SockType::Stream {
        // A restarted server binds again while old connections linger.
        setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    bind(fd.as_raw_fd(), &SockaddrStorage::from(addr))?;
    Ok(fd)
}

impl Listener {
    /// Bind UDP and TCP on `addr`, port `port`; both non-blocking.
    pub fn bind(addr: IpAddr, port: u16) -> io::Result<Listener> {
        let at = SocketAddr::new(addr, port);
        let udp = UdpSocket::from(socket_on(at, SockType::Datagram)?);
        let tcp = socket_on(at, SockType::Stream)?;
        listen(&tcp, Backlog::new(BACKLOG)?)?;
        Ok(Listener {
            addr,
            udp,
            tcp: TcpListener::from(tcp),
        })
    }
}
