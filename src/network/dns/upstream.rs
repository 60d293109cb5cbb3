//! Queries on their way to a network's resolvers: each goes out on a socket
//! of its own (a fresh source port, connected, so only the resolver asked
//! can answer), under an id of the server's choosing, to one resolver after
//! the other until one answers in time.

use std::fs::File;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::PORT;

/// How long one resolver gets to answer.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(2);

/// How many queries may be on their way at once; past that, new ones fail
/// at once rather than pile up.
pub(crate) const MAX_PENDING: usize = 512;

/// Whom an answer goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Client {
    /// Over UDP, from the listener on `local`.
    Udp { local: IpAddr, peer: SocketAddr },
    /// Over the TCP connection numbered so.
    Tcp { conn: u64 },
}

/// One query waiting for a resolver.
#[derive(Debug)]
pub(crate) struct Pending {
    pub client: Client,
    pub socket: UdpSocket,
    pub deadline: Instant,
    /// The client's query, under the client's id.
    query: Vec<u8>,
    /// The id the resolvers see.
    id: u16,
    /// The resolvers still to try after the current one.
    rest: Vec<IpAddr>,
}

/// Ids for queries sent upstream, from the kernel's random source.
#[derive(Debug)]
pub(crate) struct Ids(File);

impl Ids {
    pub fn open() -> io::Result<Ids> {
        File::open("/dev/urandom").map(Ids)
    }

    fn next(&mut self) -> u16 {
        let mut b = [0u8; 2];
        let _ = self.0.read_exact(&mut b);
        u16::from_be_bytes(b)
    }
}

fn send_to(resolver: IpAddr, query: &[u8], id: u16) -> io::Result<UdpSocket> {
    let any = match resolver {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0))?;
    socket.set_nonblocking(true)?;
    socket.connect(SocketAddr::new(resolver, PORT))?;
    let mut out = query.to_vec();
    out[..2].copy_from_slice(&id.to_be_bytes());
    socket.send(&out)?;
    Ok(socket)
}

/// What became of a pending query.
#[derive(Debug)]
pub(crate) enum Progress {
    /// Still waiting (maybe on the next resolver).
    Waiting(Pending),
    /// The answer, under the client's id.
    Answered(Client, Vec<u8>),
    /// No resolver answered.
    Failed(Client, Vec<u8>),
}

impl Pending {
    /// Send `query` to the first of `resolvers` that takes it.
    pub fn start(client: Client, query: &[u8], resolvers: &[IpAddr], ids: &mut Ids) -> Progress {
        let mut rest = resolvers.to_vec();
        rest.reverse();
        Pending::next(client, query.to_vec(), rest, ids)
    }

    fn next(client: Client, query: Vec<u8>, mut rest: Vec<IpAddr>, ids: &mut Ids) -> Progress {
        while let Some(resolver) = rest.pop() {
            let id = ids.next();
            match send_to(resolver, &query, id) {
                Ok(socket) => {
                    return Progress::Waiting(Pending {
                        client,
                        socket,
                        deadline: Instant::now() + TIMEOUT,
                        query,
                        id,
                        rest,
                    })
                }
                Err(e) => tracing::debug!("forwarding to {resolver}: {e}"),
            }
        }
        Progress::Failed(client, query)
    }

    /// The socket is readable: an answer, or an error the kernel reported
    /// (a resolver that refused the port), which moves to the next one.
    pub fn readable(self, ids: &mut Ids) -> Progress {
        let mut buf = vec![0u8; 65535];
        loop {
            match self.socket.recv(&mut buf) {
                Ok(n) if n >= 12 && buf[..2] == self.id.to_be_bytes() && buf[2] & 0x80 != 0 => {
                    buf.truncate(n);
                    buf[..2].copy_from_slice(&self.query[..2]);
                    return Progress::Answered(self.client, buf);
                }
                // Not the answer: keep waiting.
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Waiting(self),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::debug!("forwarding: {e}");
                    return Pending::next(self.client, self.query, self.rest, ids);
                }
            }
        }
    }

    /// The deadline passed: the next resolver, if any.
    pub fn timed_out(self, ids: &mut Ids) -> Progress {
        Pending::next(self.client, self.query, self.rest, ids)
    }
}
