//! Links, addresses and routes through rtnetlink, for the bridge networks
//! skiff builds: a bridge per network, a veth pair per container whose
//! inner end is made directly in the container's network namespace, and
//! the sysctls that go with them.
//!
//! One blocking `NETLINK_ROUTE` socket per namespace and one request at a
//! time: skiff forks, so it runs no async runtime. The messages are the
//! rust-netlink crates' (`netlink-packet-route`), the socket is
//! `netlink-sys`'s without its async features.
//!
//! Namespaces are entered by threads, never by the whole process: `setns`
//! with `CLONE_NEWNET` moves only the calling thread, and a netlink socket
//! keeps talking to the namespace it was made in, whichever thread uses it
//! later ([`Netlink::open_in`], [`in_netns`]).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use netlink_packet_core::{
    DecodeError, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NlasIterator,
    NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};
use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::socket::MsgFlags;

mod address;
mod link;
mod route;

pub use address::Address;
pub use link::Link;
pub use route::Route;

/// A step of this module that failed: what was being done to which object,
/// the OS error (inspect it with [`NetlinkError::raw_os_error`], e.g. for
/// `EEXIST` or `ENODEV`) and, when the kernel explained a refusal (its
/// extended ack), that explanation.
///
/// It converts into an `io::Error` of the same kind for callers that work
/// in `io::Result`; the step and the explanation travel along.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {source}{}", explanation(.kernel))]
pub struct NetlinkError {
    step: String,
    #[source]
    source: io::Error,
    kernel: Option<String>,
}

fn explanation(kernel: &Option<String>) -> String {
    kernel
        .as_ref()
        .map(|m| format!(" (kernel: {m})"))
        .unwrap_or_default()
}

impl NetlinkError {
    fn new(step: impl Into<String>, source: io::Error) -> NetlinkError {
        NetlinkError {
            step: step.into(),
            source,
            kernel: None,
        }
    }

    /// What was being done, e.g. "creating bridge skiff0".
    pub fn step(&self) -> &str {
        &self.step
    }

    /// The errno the kernel answered with, if the failure was one.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    /// The kind of the underlying error (`InvalidInput` for arguments
    /// refused before asking the kernel).
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }
}

impl From<NetlinkError> for io::Error {
    fn from(e: NetlinkError) -> io::Error {
        io::Error::new(e.source.kind(), e)
    }
}

/// A request that failed, before the caller names the step.
struct Refusal {
    source: io::Error,
    kernel: Option<String>,
}

impl Refusal {
    fn errno(&self) -> Option<Errno> {
        self.source.raw_os_error().map(Errno::from_raw)
    }

    fn during(self, step: impl Into<String>) -> NetlinkError {
        NetlinkError {
            step: step.into(),
            source: self.source,
            kernel: self.kernel,
        }
    }
}

impl From<io::Error> for Refusal {
    fn from(source: io::Error) -> Refusal {
        Refusal {
            source,
            kernel: None,
        }
    }
}

/// Kernel dumps fill datagrams of up to 32 KiB; larger ones (a single link
/// with many virtual functions) grow the buffer.
const RECEIVE_BUFFER: usize = 32 * 1024;

/// The length of a netlink message header, which an error reply repeats.
const HEADER_LEN: usize = 16;

/// `NLMSGERR_ATTR_MSG`: the kernel's text in an extended ack.
const EXT_ACK_MESSAGE: u16 = 1;

/// How often a dump is read again when the kernel reports that the tables
/// changed while it was being read.
const DUMP_ATTEMPTS: usize = 5;

/// A rtnetlink socket bound in one network namespace.
pub struct Netlink {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> Result<Netlink, NetlinkError> {
        let open = || -> io::Result<Netlink> {
            let mut socket = Socket::new(NETLINK_ROUTE)?;
            socket.bind_auto()?;
            socket.connect(&SocketAddr::new(0, 0))?;
            // Best effort: errors repeat only the request's header, and
            // carry the kernel's explanation when it has one.
            let _ = socket.set_cap_ack(true);
            let _ = socket.set_ext_ack(true);
            Ok(Netlink {
                socket,
                seq: 0,
                buf: vec![0; RECEIVE_BUFFER],
            })
        };
        open().map_err(|e| NetlinkError::new("opening a netlink socket", e))
    }

    /// A socket in the network namespace whose nsfs file (a bind mount or
    /// `/proc/PID/ns/net`) is at `netns`. It is made on a short-lived
    /// thread that joins the namespace; the socket keeps talking to that
    /// namespace from any thread.
    pub fn open_in(netns: &Path) -> Result<Netlink, NetlinkError> {
        in_netns(netns, Netlink::open)?
    }

    /// Send one request and collect the kernel's replies up to its ack, its
    /// refusal or the end of the dump.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, Refusal> {
        self.exchange(msg, flags).map(|(replies, _)| replies)
    }

    /// A dump, read again while the kernel says it changed under it.
    fn dump(&mut self, msg: RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>, Refusal> {
        let mut attempt = 1;
        loop {
            let (replies, interrupted) = self.exchange(msg.clone(), NLM_F_DUMP)?;
            if !interrupted || attempt == DUMP_ATTEMPTS {
                return Ok(replies);
            }
            attempt += 1;
        }
    }

    /// The request/reply loop; also says whether a dump was interrupted.
    fn exchange(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(Vec<RouteNetlinkMessage>, bool), Refusal> {
        self.seq = self.seq.wrapping_add(1);
        let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(msg));
        // Every request is acked (dumps end with DONE instead), so the
        // loop below always has an end.
        packet.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        packet.header.sequence_number = self.seq;
        packet.finalize();
        let mut out = vec![0; packet.buffer_len()];
        packet.serialize(&mut out);
        self.socket.send(&out, 0)?;

        let mut replies = Vec::new();
        let mut interrupted = false;
        // A message the crate cannot decode (an attribute a newer kernel
        // shapes differently) is left out of a dump; a lone answer is not.
        let mut undecodable = None;
        'datagrams: loop {
            let len = self.receive()?;
            let mut offset = 0;
            while offset < len {
                let frame = NetlinkBuffer::new_checked(&self.buf[offset..len]).map_err(invalid)?;
                let start = offset;
                let end = offset + frame.length() as usize;
                offset = (end + 3) & !3;
                // A late answer to an earlier request that was given up on.
                if frame.sequence_number() != self.seq {
                    continue;
                }
                interrupted |= frame.flags() & NLM_F_DUMP_INTR != 0;
                let reply = match NetlinkMessage::deserialize(&self.buf[start..end]) {
                    Ok(reply) => reply,
                    Err(e) => {
                        tracing::debug!("skipping an undecodable netlink message: {e}");
                        undecodable.get_or_insert(e);
                        continue;
                    }
                };
                match reply.payload {
                    NetlinkPayload::InnerMessage(m) => replies.push(m),
                    NetlinkPayload::Error(e) => match e.code {
                        None => break 'datagrams,
                        Some(code) => {
                            return Err(Refusal {
                                source: io::Error::from_raw_os_error(-code.get()),
                                kernel: kernel_message(reply.header.flags, &e.header),
                            })
                        }
                    },
                    NetlinkPayload::Done(done) if done.code < 0 => {
                        return Err(io::Error::from_raw_os_error(-done.code).into())
                    }
                    NetlinkPayload::Done(_) => break 'datagrams,
                    _ => {}
                }
            }
        }
        match undecodable {
            Some(e) if flags & NLM_F_DUMP == 0 => Err(invalid(e).into()),
            _ => Ok((replies, interrupted)),
        }
    }

    /// Read one datagram into the buffer, grown first if it is too small.
    fn receive(&mut self) -> io::Result<usize> {
        loop {
            // MSG_TRUNC makes a peek with no room tell the datagram's size.
            let peek = (MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC).bits();
            let size = match self.socket.recv(&mut &mut [0u8; 0][..], peek) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => result?,
            };
            if size > self.buf.len() {
                self.buf.resize(size, 0);
            }
            match self.socket.recv(&mut &mut self.buf[..], 0) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => return result,
            }
        }
    }
}

/// The kernel's explanation in an error reply (an extended ack), which
/// follows the repeated request: only its header when the ack is capped.
fn kernel_message(flags: u16, payload: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let repeated = if flags & NLM_F_CAPPED != 0 {
        HEADER_LEN
    } else {
        u32::from_ne_bytes(payload.get(..4)?.try_into().ok()?) as usize
    };
    let attributes = payload.get((repeated + 3) & !3..)?;
    NlasIterator::new(attributes)
        .map_while(Result::ok)
        .find(|nla| nla.kind() == EXT_ACK_MESSAGE)
        .map(|nla| {
            String::from_utf8_lossy(nla.value())
                .trim_end_matches('\0')
                .to_string()
        })
}

fn invalid(e: DecodeError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// A kernel without IPv6 refuses IPv6 dumps; that is no error when listing.
fn family_missing(r: &Refusal) -> bool {
    matches!(r.errno(), Some(Errno::EAFNOSUPPORT | Errno::EOPNOTSUPP))
}

/// Run `f` on a thread that joined the network namespace whose nsfs file is
/// at `netns`, and return what it returns. Only the network namespace
/// changes: the thread keeps the caller's mount namespace (so `/sys` is
/// still the caller's), while sockets it opens, [`set_sysctl`] and
/// processes forked from it belong to the joined namespace.
pub fn in_netns<T: Send>(netns: &Path, f: impl FnOnce() -> T + Send) -> Result<T, NetlinkError> {
    let step = || format!("entering network namespace {}", netns.display());
    let file = File::open(netns).map_err(|e| NetlinkError::new(step(), e))?;
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("netns".to_string())
            .spawn_scoped(scope, move || -> io::Result<T> {
                nix::sched::setns(&file, CloneFlags::CLONE_NEWNET)?;
                drop(file);
                Ok(f())
            })
            .map_err(|e| NetlinkError::new(step(), e))?;
        match worker.join() {
            Ok(result) => result.map_err(|e| NetlinkError::new(step(), e)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Write `value` to the sysctl `key`, written with slashes as under
/// `/proc/sys` ("net/ipv4/ip_forward", "net/ipv4/conf/skiff0/rp_filter":
/// interface names may hold dots). The kernel resolves `/proc/sys/net`
/// by the network namespace of the thread that opens the file, so this
/// sets the calling thread's namespace's value (use [`in_netns`] for
/// another's).
pub fn set_sysctl(key: &str, value: &str) -> Result<(), NetlinkError> {
    let step = || format!("setting sysctl {key} to {value}");
    if key.is_empty()
        || key
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
    {
        let why = "not a sysctl key such as net/ipv4/ip_forward";
        return Err(NetlinkError::new(
            step(),
            io::Error::new(io::ErrorKind::InvalidInput, why),
        ));
    }
    let path = Path::new("/proc/sys").join(key);
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut file| file.write_all(value.as_bytes()))
        .map_err(|e| NetlinkError::new(step(), e))
}

/// A random locally administered unicast MAC address.
pub fn random_mac() -> io::Result<[u8; 6]> {
    use std::io::Read;
    let mut mac = [0u8; 6];
    File::open("/dev/urandom")?.read_exact(&mut mac)?;
    // Bit 0 of the first byte clear: unicast; bit 1 set: locally administered.
    mac[0] = (mac[0] & 0xfe) | 0x02;
    Ok(mac)
}

#[cfg(test)]
mod tests;
