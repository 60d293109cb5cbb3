//! The server against real sockets: each test runs in a network namespace of
//! its own (a thread that unshared one, with only loopback, brought up), so
//! nothing reaches the host's network; "resolvers" are stubs on loopback.
//! Skipped, with the reason printed, where namespaces cannot be made.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sched::CloneFlags;
use nix::sys::pthread::{pthread_kill, pthread_self, Pthread};
use nix::sys::signal::Signal;
use simple_dns::rdata::{RData, A};
use simple_dns::{
    Name, Packet, PacketFlag, Question, ResourceRecord, CLASS, QCLASS, QTYPE, RCODE, TYPE,
};

use super::status::Status;
use super::{add_entry, remove_entry, serve, Entry, ServeError};

/// Say why a test skips itself; as root under `CI=true` (the root pass,
/// which must cover these tests) fail instead.
fn skip(why: String) {
    let ci = matches!(std::env::var("CI").as_deref(), Ok("true" | "1"));
    assert!(
        !(ci && crate::sys::euid() == 0),
        "{why}, and CI must not skip"
    );
    eprintln!("SKIP: {why}");
}

/// Run `f` on a thread of its own in a new network namespace with `lo` up;
/// `None` when that cannot be done here.
fn in_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    std::thread::spawn(move || {
        if let Err(e) = nix::sched::unshare(CloneFlags::CLONE_NEWNET) {
            skip(format!("cannot make a network namespace ({e}); needs root"));
            return None;
        }
        // A process started from this thread is in its namespace.
        match std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
        {
            Ok(s) if s.success() => Some(f()),
            other => {
                skip(format!("cannot bring lo up with ip(8): {other:?}"));
                None
            }
        }
    })
    .join()
    .expect("the test thread")
}

fn ip(a: &str) -> IpAddr {
    a.parse().expect("test address")
}

fn entry(id: &str, v4: Option<&str>, v6: Option<&str>, names: &[&str]) -> Entry {
    Entry {
        id: id.to_string(),
        v4: v4.map(|a| a.parse().expect("test address")),
        v6: v6.map(|a| a.parse().expect("test address")),
        names: names.iter().map(|n| n.to_string()).collect(),
    }
}

/// A server on a thread of its own, which the signals are sent to.
struct TestServer {
    dir: PathBuf,
    thread: Pthread,
    handle: JoinHandle<Result<(), ServeError>>,
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < until, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn generation(dir: &Path) -> u64 {
    Status::read(dir)
        .expect("status")
        .map_or(0, |s| s.generation)
}

impl TestServer {
    fn start(dir: &Path) -> TestServer {
        let (tx, rx) = mpsc::channel();
        let d = dir.to_owned();
        let handle = std::thread::spawn(move || {
            tx.send(pthread_self()).expect("test channel");
            serve(&d)
        });
        let thread = rx.recv().expect("the server's thread");
        // The status is written once the signals are blocked and the
        // sockets bound: from then on signals are safe to send.
        wait_until("the server listens", || generation(dir) >= 1);
        TestServer {
            dir: dir.to_owned(),
            thread,
            handle,
        }
    }

    fn reload(&self) {
        let before = generation(&self.dir);
        pthread_kill(self.thread, Signal::SIGHUP).expect("SIGHUP");
        wait_until("the server reread its files", || {
            generation(&self.dir) > before || self.handle.is_finished()
        });
    }

    fn stop(self) {
        pthread_kill(self.thread, Signal::SIGTERM).expect("SIGTERM");
        self.handle
            .join()
            .expect("the server's thread")
            .expect("the server");
        assert!(!super::status::path(&self.dir).exists());
    }
}

/// What came back for a query.
#[derive(Debug)]
struct Reply {
    rcode: RCODE,
    /// The addresses, or names pointed to, in order.
    data: Vec<String>,
}

fn build_query(id: u16, name: &str, qtype: TYPE) -> Vec<u8> {
    let mut p = Packet::new_query(id);
    p.set_flags(PacketFlag::RECURSION_DESIRED);
    p.questions.push(Question::new(
        Name::new_unchecked(name),
        QTYPE::TYPE(qtype),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    p.build_bytes_vec().expect("query bytes")
}

fn read_reply(id: u16, bytes: &[u8]) -> Reply {
    let p = Packet::parse(bytes).expect("the reply parses");
    assert_eq!(p.id(), id, "the reply carries the query's id");
    let data = p
        .answers
        .iter()
        .map(|rr| match &rr.rdata {
            RData::A(a) => Ipv4Addr::from(a.clone()).to_string(),
            RData::AAAA(a) => std::net::Ipv6Addr::from(a.clone()).to_string(),
            RData::PTR(n) => n.0.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    Reply {
        rcode: p.rcode(),
        data,
    }
}

fn udp(server: &str, name: &str, qtype: TYPE) -> Reply {
    let server = ip(server);
    let local: SocketAddr = match server {
        IpAddr::V4(_) => "127.0.0.1:0".parse().expect("address"),
        IpAddr::V6(_) => "[::1]:0".parse().expect("address"),
    };
    let s = UdpSocket::bind(local).expect("client socket");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.connect(SocketAddr::new(server, 53)).expect("connect");
    let id = 0x4d2;
    s.send(&build_query(id, name, qtype)).expect("send");
    let mut buf = [0u8; 4096];
    let n = s.recv(&mut buf).expect("a reply");
    read_reply(id, &buf[..n])
}

fn tcp(server: &str, name: &str, qtype: TYPE) -> Reply {
    let mut s = TcpStream::connect((ip(server), 53)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let id = 0x1e61;
    // Two queries on one connection, the second answered too.
    for _ in 0..2 {
        let q = build_query(id, name, qtype);
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        s.write_all(&framed).expect("send");
    }
    let mut replies = Vec::new();
    for _ in 0..2 {
        let mut len = [0u8; 2];
        s.read_exact(&mut len).expect("length");
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        s.read_exact(&mut msg).expect("message");
        replies.push(read_reply(id, &msg));
    }
    assert_eq!(replies[0].data, replies[1].data);
    replies.remove(0)
}

/// A TCP client that closes its side right after the query still gets
/// the answer.
fn half_closed_tcp(server: &str, name: &str) -> (RCODE, Vec<String>) {
    let mut s = TcpStream::connect((ip(server), 53)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let q = build_query(9, name, TYPE::A);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    s.write_all(&framed).expect("send");
    s.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let mut all = Vec::new();
    s.read_to_end(&mut all).expect("the answer, then the end");
    let reply = read_reply(9, &all[2..]);
    (reply.rcode, reply.data)
}

fn addrs(r: &Reply) -> (RCODE, Vec<&str>) {
    (r.rcode, r.data.iter().map(String::as_str).collect())
}

#[test]
fn answers_the_containers_of_the_network_asked() {
    in_netns(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let ipv6 = Path::new("/proc/sys/net/ipv6").exists();
        let mut listen_a = vec![ip("127.0.0.2")];
        if ipv6 {
            listen_a.push(ip("::1"));
        }
        let web = entry("c1", Some("10.89.0.2"), Some("fd00::2"), &["web", "www"]);
        let db = entry("c2", Some("10.89.0.3"), None, &["db"]);
        add_entry(d, "net-a", &listen_a, &[], &web).expect("add");
        add_entry(d, "net-a", &listen_a, &[], &db).expect("add");
        let other = entry("c3", Some("10.90.0.2"), None, &["other", "Mixed"]);
        add_entry(d, "net-b", &[ip("127.0.0.3")], &[], &other).expect("add");
        let server = TestServer::start(d);

        use RCODE::{NameError, NoError, Refused};
        let a = "127.0.0.2";
        assert_eq!(addrs(&udp(a, "web", TYPE::A)), (NoError, vec!["10.89.0.2"]));
        assert_eq!(
            addrs(&udp(a, "www", TYPE::AAAA)),
            (NoError, vec!["fd00::2"])
        );
        assert_eq!(
            addrs(&udp(a, "WEB.Dns.Podman", TYPE::A)),
            (NoError, vec!["10.89.0.2"])
        );
        assert_eq!(
            addrs(&udp(a, "2.0.89.10.in-addr.arpa", TYPE::PTR)),
            (NoError, vec!["web.dns.podman", "www.dns.podman"])
        );
        // Known, but no record of the type; unknown under the domain;
        // unknown elsewhere, with no resolver to ask.
        assert_eq!(addrs(&udp(a, "db", TYPE::AAAA)), (NoError, vec![]));
        assert_eq!(
            addrs(&udp(a, "nope.dns.podman", TYPE::A)),
            (NameError, vec![])
        );
        assert_eq!(addrs(&udp(a, "example.org", TYPE::A)), (Refused, vec![]));
        // Each network sees its own containers only.
        assert_eq!(addrs(&udp(a, "other.dns.podman", TYPE::A)).0, NameError);
        assert_eq!(
            addrs(&udp("127.0.0.3", "mixed", TYPE::A)),
            (NoError, vec!["10.90.0.2"])
        );
        assert_eq!(
            addrs(&udp("127.0.0.3", "web.dns.podman", TYPE::A)).0,
            NameError
        );
        // Over TCP, and over IPv6.
        assert_eq!(addrs(&tcp(a, "db", TYPE::A)), (NoError, vec!["10.89.0.3"]));
        assert_eq!(
            half_closed_tcp(a, "db"),
            (NoError, vec!["10.89.0.3".to_string()])
        );
        if ipv6 {
            assert_eq!(
                addrs(&udp("::1", "web", TYPE::A)),
                (NoError, vec!["10.89.0.2"])
            );
            assert_eq!(
                addrs(&tcp("::1", "web", TYPE::AAAA)),
                (NoError, vec!["fd00::2"])
            );
        } else {
            eprintln!("no IPv6 here: the IPv6 listener is not tested");
        }
        server.stop();
    });
}

/// A resolver of the test's own on `addr`: every A query gets 192.0.2.1,
/// under the id it came with. Returns the ids it saw when stopped.
struct Stub {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<u16>>,
}

impl Stub {
    fn start(addr: &str) -> Stub {
        let socket = UdpSocket::bind((ip(addr), 53)).expect("stub socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut ids = Vec::new();
            let mut buf = [0u8; 4096];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, peer)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let q = Packet::parse(&buf[..n]).expect("the forwarded query parses");
                ids.push(q.id());
                let mut r = Packet::new_reply(q.id());
                r.questions = q.questions.clone();
                r.answers.push(ResourceRecord::new(
                    q.questions[0].qname.clone(),
                    CLASS::IN,
                    300,
                    RData::A(A::from(Ipv4Addr::new(192, 0, 2, 1))),
                ));
                let bytes = r.build_bytes_vec().expect("reply bytes");
                socket.send_to(&bytes, peer).expect("stub reply");
            }
            ids
        });
        Stub { stop, handle }
    }

    fn stop(self) -> Vec<u16> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("the stub")
    }
}

#[test]
fn other_names_are_forwarded_to_the_networks_resolvers() {
    in_netns(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let stub = Stub::start("127.0.0.9");
        let web = entry("c1", Some("10.89.0.2"), None, &["web"]);
        add_entry(d, "n", &[ip("127.0.0.2")], &[ip("127.0.0.9")], &web).expect("add");
        // The first resolver of this one refuses (nothing listens there):
        // the next is asked.
        let db = entry("c2", Some("10.91.0.2"), None, &["db"]);
        let up = [ip("127.0.0.10"), ip("127.0.0.9")];
        add_entry(d, "m", &[ip("127.0.0.3")], &up, &db).expect("add");
        // This one has only a resolver that refuses.
        let x = entry("c3", Some("10.92.0.2"), None, &["x"]);
        add_entry(d, "k", &[ip("127.0.0.4")], &[ip("127.0.0.10")], &x).expect("add");
        // And this one names the server itself (a host whose resolv.conf
        // points at a gateway): no resolver is left.
        let y = entry("c4", Some("10.93.0.2"), None, &["y"]);
        let up = [ip("127.0.0.6"), ip("127.0.0.2")];
        add_entry(d, "loop", &[ip("127.0.0.6")], &up, &y).expect("add");
        let server = TestServer::start(d);

        use RCODE::{NameError, NoError, ServerFailure};
        let a = "127.0.0.2";
        assert_eq!(
            addrs(&udp(a, "example.org", TYPE::A)),
            (NoError, vec!["192.0.2.1"])
        );
        assert_eq!(
            addrs(&tcp(a, "example.org", TYPE::A)),
            (NoError, vec!["192.0.2.1"])
        );
        // The network's own names stay its own.
        assert_eq!(addrs(&udp(a, "web", TYPE::A)), (NoError, vec!["10.89.0.2"]));
        assert_eq!(addrs(&udp(a, "nope.dns.podman", TYPE::A)).0, NameError);
        assert_eq!(
            addrs(&udp("127.0.0.3", "example.org", TYPE::A)),
            (NoError, vec!["192.0.2.1"])
        );
        assert_eq!(
            addrs(&udp("127.0.0.4", "example.org", TYPE::A)).0,
            ServerFailure
        );
        server.stop();
        let ids = stub.stop();
        // Four queries got there, under ids of the server's choosing.
        assert_eq!(ids.len(), 4, "{ids:?}");
    });
}

#[test]
fn sighup_rereads_the_directory_and_the_last_file_ends_the_server() {
    in_netns(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let web = entry("c1", Some("10.89.0.2"), None, &["web"]);
        add_entry(d, "n", &[ip("127.0.0.2")], &[], &web).expect("add");
        let server = TestServer::start(d);
        assert_eq!(udp("127.0.0.2", "db", TYPE::A).rcode, RCODE::Refused);

        // A container joins; a second network appears.
        let db = entry("c2", Some("10.89.0.3"), None, &["db"]);
        add_entry(d, "n", &[ip("127.0.0.2")], &[], &db).expect("add");
        let m = entry("c3", Some("10.95.0.2"), None, &["m1"]);
        add_entry(d, "m", &[ip("127.0.0.5")], &[], &m).expect("add");
        server.reload();
        assert_eq!(
            addrs(&udp("127.0.0.2", "db", TYPE::A)),
            (RCODE::NoError, vec!["10.89.0.3"])
        );
        assert_eq!(
            addrs(&udp("127.0.0.5", "m1", TYPE::A)),
            (RCODE::NoError, vec!["10.95.0.2"])
        );

        // A container leaves; then the whole second network.
        remove_entry(d, "n", "c1").expect("remove");
        remove_entry(d, "m", "c3").expect("remove");
        server.reload();
        assert_eq!(
            udp("127.0.0.2", "web.dns.podman", TYPE::A).rcode,
            RCODE::NameError
        );
        let gone = UdpSocket::bind("127.0.0.1:0").expect("socket");
        gone.connect("127.0.0.5:53").expect("connect");
        gone.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        gone.send(&build_query(1, "m1", TYPE::A)).expect("send");
        // Nothing listens there any more: the kernel refuses the port.
        assert!(gone.recv(&mut [0u8; 512]).is_err());

        // The last entry goes: the server ends by itself on the next HUP.
        remove_entry(d, "n", "c2").expect("remove");
        server.reload();
        server
            .handle
            .join()
            .expect("the server's thread")
            .expect("the server");
        assert!(!super::status::path(d).exists());
    });
}
