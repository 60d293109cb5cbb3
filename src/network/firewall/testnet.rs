//! Test topology in network namespaces of the test's own: a "host"
//! namespace that a test thread moves into (only that thread moves, and
//! what it spawns, `nft` and `ip` included, inherits it), bridges in it,
//! and containers in further namespaces joined to the bridges by veths.
//! Namespaces are held by file descriptors, never mounted, so they are
//! gone once the test's descriptors and sockets are.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sched::{setns, unshare, CloneFlags};

/// The namespace the calling thread is in.
pub fn current_ns() -> OwnedFd {
    std::fs::File::open("/proc/thread-self/ns/net")
        .expect("open the thread's network namespace")
        .into()
}

pub fn ns_inode(path: &str) -> u64 {
    std::fs::metadata(path).expect("stat a namespace").ino()
}

/// Run `body` on a thread of its own in a new network namespace with `lo`
/// up; `None` (and a line saying why) when this host cannot.
pub fn in_new_host<T: Send>(test: &str, body: impl FnOnce() -> T + Send) -> Option<T> {
    if super::nft::program().is_err() {
        eprintln!("skipping {test}: the nft command is not installed");
        return None;
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            let before = ns_inode("/proc/thread-self/ns/net");
            if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
                eprintln!("skipping {test}: cannot make a network namespace ({e})");
                return None;
            }
            // Nothing below may run in the namespace the thread came from.
            assert_ne!(ns_inode("/proc/thread-self/ns/net"), before);
            run("ip link set lo up");
            Some(body())
        })
        .join()
        .expect("the test thread panicked")
    })
}

/// Run `f` on a thread that joined `ns`.
pub fn in_ns<T: Send>(ns: BorrowedFd<'_>, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            setns(ns, CloneFlags::CLONE_NEWNET).expect("join a test namespace");
            f()
        })
        .join()
        .expect("a thread in a test namespace panicked")
    })
}

/// Run a command line (no quoting) in the calling thread's namespace.
pub fn run(line: &str) -> String {
    run_with_ns_fd(line, None)
}

/// Run a command line with the namespace `fd` at descriptor 3.
fn run_with_ns_fd(line: &str, fd: Option<BorrowedFd<'_>>) -> String {
    let mut words = line.split_whitespace();
    let mut cmd = Command::new(words.next().expect("a command"));
    cmd.args(words)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let fds: Vec<(BorrowedFd<'_>, i32)> = fd.into_iter().map(|f| (f, 3)).collect();
    let out = crate::sys::process::spawn_with_fds(cmd, &fds)
        .and_then(|c| c.wait_with_output())
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A bridge in the calling thread's namespace with the gateway addresses
/// (`10.99.0.1/24`, `fd99::1/64`), set up as skiff's caller would.
pub fn bridge(name: &str, gateways: &[&str]) {
    run(&format!("ip link add name {name} type bridge"));
    for gw in gateways {
        run(&format!("ip addr add {gw} dev {name} nodad"));
    }
    run(&format!("ip link set {name} up"));
    run(&format!(
        "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.{name}.route_localnet=1"
    ));
}

/// A container's namespace, joined to a bridge of the calling thread's
/// namespace through `veth`, with `addrs` (`10.99.0.2/24`) and default
/// routes through `gateways` (`10.99.0.1`).
pub struct Ctr {
    pub ns: OwnedFd,
}

pub fn container(bridge: &str, veth: &str, addrs: &[&str], gateways: &[&str]) -> Ctr {
    let ns = std::thread::spawn(|| {
        unshare(CloneFlags::CLONE_NEWNET).expect("make a container namespace");
        current_ns()
    })
    .join()
    .expect("the namespace thread panicked");
    run_with_ns_fd(
        &format!("ip link add name {veth} type veth peer name eth0 netns /proc/self/fd/3"),
        Some(ns.as_fd()),
    );
    run(&format!("ip link set {veth} master {bridge}"));
    run(&format!("ip link set {veth} type bridge_slave hairpin on"));
    run(&format!("ip link set {veth} up"));
    in_ns(ns.as_fd(), || {
        run("ip link set lo up");
        for a in addrs {
            run(&format!("ip addr add {a} dev eth0 nodad"));
        }
        run("ip link set eth0 up");
        for gw in gateways {
            run(&format!("ip route add default via {gw}"));
        }
    });
    Ctr { ns }
}

impl Ctr {
    pub fn ask_tcp(&self, to: &str) -> Option<String> {
        in_ns(self.ns.as_fd(), || ask_tcp(to))
    }

    pub fn ask_tcp_within(&self, to: &str, patience: Duration) -> Option<String> {
        in_ns(self.ns.as_fd(), || ask_tcp_within(to, patience))
    }

    pub fn ask_udp_within(&self, to: &str, patience: Duration) -> Option<String> {
        in_ns(self.ns.as_fd(), || ask_udp_within(to, patience))
    }

    pub fn serve_tcp(&self, at: &str, name: &str) -> Server {
        let l = in_ns(self.ns.as_fd(), || TcpListener::bind(at).expect("bind"));
        Server::tcp(l, name)
    }

    pub fn serve_udp(&self, at: &str, name: &str) -> Server {
        let s = in_ns(self.ns.as_fd(), || UdpSocket::bind(at).expect("bind"));
        Server::udp(s, name)
    }
}

/// Answers each TCP connection or UDP datagram with `NAME PEER-ADDRESS`,
/// until dropped, and counts them.
pub struct Server {
    stop: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

const POLL: Duration = Duration::from_millis(5);
/// Long enough for a first ARP or neighbour resolution.
const PATIENCE: Duration = Duration::from_secs(3);
/// How long a connection that should not get through is given.
pub const BLOCKED: Duration = Duration::from_millis(700);

impl Server {
    fn tcp(l: TcpListener, name: &str) -> Server {
        l.set_nonblocking(true).expect("nonblocking listener");
        let name = name.to_string();
        Server::spawn(move |stop, hits| {
            while !stop.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((mut c, peer)) => {
                        hits.fetch_add(1, Ordering::Relaxed);
                        let _ = c.write_all(format!("{name} {}\n", peer.ip()).as_bytes());
                    }
                    Err(_) => std::thread::sleep(POLL),
                }
            }
        })
    }

    fn udp(s: UdpSocket, name: &str) -> Server {
        s.set_read_timeout(Some(POLL)).expect("socket timeout");
        let name = name.to_string();
        Server::spawn(move |stop, hits| {
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                if let Ok((_, peer)) = s.recv_from(&mut buf) {
                    hits.fetch_add(1, Ordering::Relaxed);
                    let _ = s.send_to(format!("{name} {}\n", peer.ip()).as_bytes(), peer);
                }
            }
        })
    }

    fn spawn(f: impl FnOnce(&AtomicBool, &AtomicUsize) + Send + 'static) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (Arc::clone(&stop), Arc::clone(&hits));
        let thread = std::thread::spawn(move || f(&flag, &count));
        Server {
            stop,
            hits,
            thread: Some(thread),
        }
    }

    /// How many connections or datagrams reached it.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The answer of the TCP server at `to` (`10.99.0.1:8080`), from the
/// calling thread's namespace; `None` when nothing answers in time.
pub fn ask_tcp(to: &str) -> Option<String> {
    ask_tcp_within(to, PATIENCE)
}

pub fn ask_tcp_within(to: &str, patience: Duration) -> Option<String> {
    let addr: SocketAddr = to.parse().expect("a socket address");
    let mut c = TcpStream::connect_timeout(&addr, patience).ok()?;
    c.set_read_timeout(Some(patience)).ok()?;
    let mut s = String::new();
    c.read_to_string(&mut s).ok()?;
    Some(s.trim_end().to_string()).filter(|s| !s.is_empty())
}

/// The answer of the UDP server at `to`.
pub fn ask_udp(to: &str) -> Option<String> {
    ask_udp_within(to, PATIENCE)
}

pub fn ask_udp_within(to: &str, patience: Duration) -> Option<String> {
    let addr: SocketAddr = to.parse().expect("a socket address");
    let any: IpAddr = if addr.is_ipv4() {
        "0.0.0.0".parse().expect("an address")
    } else {
        "::".parse().expect("an address")
    };
    let s = UdpSocket::bind((any, 0)).ok()?;
    s.set_read_timeout(Some(patience)).ok()?;
    s.send_to(b"?", addr).ok()?;
    let mut buf = [0u8; 64];
    let (n, _) = s.recv_from(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).trim_end().to_string())
}

/// `nft list ruleset` of the calling thread's namespace.
pub fn ruleset() -> String {
    run("nft list ruleset")
}
