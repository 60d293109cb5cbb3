//! Published ports of a rootless user's containers on bridge networks.
//!
//! Those bridges live in skiff's rootless network namespace, which the
//! host's ports do not reach; so a small process per container (the hidden
//! `skiff port-forward` command) listens on the host's ports and, for
//! every connection (TCP) or client (UDP), opens a socket inside that
//! namespace to the container's address and relays the bytes. The sockets
//! inside are made by one thread that joined the namespace: a socket
//! belongs to the namespace of the thread that creates it.
//!
//! The process reports on standard output, once, `ok` when every port is
//! bound or the first error, then runs until it is killed.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket,
};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a UDP client's relay lives without traffic.
const UDP_IDLE: Duration = Duration::from_secs(60);

/// One forwarded port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub udp: bool,
    /// None: every address.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub target: SocketAddr,
}

impl Forward {
    /// `tcp|udp/HOSTIP|-/HOSTPORT/TARGETIP/TARGETPORT`, as passed on the
    /// command line.
    pub fn to_arg(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            if self.udp { "udp" } else { "tcp" },
            self.host_ip.map_or("-".to_string(), |i| i.to_string()),
            self.host_port,
            self.target.ip(),
            self.target.port()
        )
    }

    pub fn parse(s: &str) -> Result<Forward, String> {
        let bad = || format!("invalid forward {s:?}");
        let parts: Vec<&str> = s.split('/').collect();
        let [proto, host_ip, host_port, ip, port] = parts[..] else {
            return Err(bad());
        };
        Ok(Forward {
            udp: match proto {
                "tcp" => false,
                "udp" => true,
                _ => return Err(bad()),
            },
            host_ip: match host_ip {
                "-" => None,
                ip => Some(ip.parse().map_err(|_| bad())?),
            },
            host_port: host_port.parse().map_err(|_| bad())?,
            target: SocketAddr::new(
                ip.parse().map_err(|_| bad())?,
                port.parse().map_err(|_| bad())?,
            ),
        })
    }

    fn bind_addr(&self) -> SocketAddr {
        let ip = self.host_ip.unwrap_or(match self.target.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        });
        SocketAddr::new(ip, self.host_port)
    }
}

/// What the namespace thread is asked to make.
enum Request {
    Tcp(SocketAddr, mpsc::Sender<io::Result<TcpStream>>),
    Udp(SocketAddr, mpsc::Sender<io::Result<UdpSocket>>),
}

/// The thread inside the namespace, making sockets on request.
#[derive(Clone)]
struct Inside(Arc<Mutex<mpsc::Sender<Request>>>);

impl Inside {
    fn start(netns: &Path) -> io::Result<Inside> {
        let file = std::fs::File::open(netns)?;
        let (tx, rx) = mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = mpsc::channel::<io::Result<()>>();
        std::thread::Builder::new()
            .name("netns".into())
            .spawn(move || {
                let joined = nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(io::Error::from);
                let ok = joined.is_ok();
                let _ = ready_tx.send(joined);
                if !ok {
                    return;
                }
                for req in rx {
                    match req {
                        Request::Tcp(to, reply) => {
                            let _ = reply
                                .send(TcpStream::connect_timeout(&to, Duration::from_secs(10)));
                        }
                        Request::Udp(to, reply) => {
                            let bind: SocketAddr = match to {
                                SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                                SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
                            };
                            let sock =
                                UdpSocket::bind(bind).and_then(|s| s.connect(to).map(|()| s));
                            let _ = reply.send(sock);
                        }
                    }
                }
            })?;
        ready_rx
            .recv()
            .map_err(|_| io::Error::other("the namespace thread died"))??;
        Ok(Inside(Arc::new(Mutex::new(tx))))
    }

    fn ask<T>(&self, make: impl FnOnce(mpsc::Sender<io::Result<T>>) -> Request) -> io::Result<T> {
        let (tx, rx) = mpsc::channel();
        self.0
            .lock()
            .map_err(|_| io::Error::other("lock poisoned"))?
            .send(make(tx))
            .map_err(|_| io::Error::other("the namespace thread is gone"))?;
        rx.recv()
            .map_err(|_| io::Error::other("the namespace thread is gone"))?
    }
}

/// Relay bytes both ways between two TCP streams until both ends close.
fn relay(a: TcpStream, b: TcpStream) {
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let one = std::thread::spawn(move || {
        let (mut from, mut to) = (a, b);
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
    let (mut from, mut to) = (b2, a2);
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
    let _ = one.join();
}

fn serve_tcp(listener: TcpListener, target: SocketAddr, inside: Inside) {
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let inside = inside.clone();
        std::thread::spawn(move || match inside.ask(|r| Request::Tcp(target, r)) {
            Ok(up) => relay(conn, up),
            Err(e) => tracing::debug!("connecting to {target}: {e}"),
        });
    }
}

fn serve_udp(outer: UdpSocket, target: SocketAddr, inside: Inside) {
    let outer = Arc::new(outer);
    let clients: Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>> = Arc::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, from)) = outer.recv_from(&mut buf) else {
            continue;
        };
        let known = clients.lock().ok().and_then(|c| c.get(&from).cloned());
        let sock = match known {
            Some(s) => s,
            None => {
                let Ok(s) = inside.ask(|r| Request::Udp(target, r)) else {
                    continue;
                };
                let s = Arc::new(s);
                if let Ok(mut c) = clients.lock() {
                    c.insert(from, s.clone());
                }
                // Replies go back to this client until it falls silent.
                let (outer, clients, back) = (outer.clone(), clients.clone(), s.clone());
                std::thread::spawn(move || {
                    let _ = back.set_read_timeout(Some(UDP_IDLE));
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = back.recv(&mut buf) {
                        let _ = outer.send_to(&buf[..n], from);
                    }
                    if let Ok(mut c) = clients.lock() {
                        c.remove(&from);
                    }
                });
                s
            }
        };
        let _ = sock.send(&buf[..n]);
    }
}

/// Bind every port, say so on `ready`, and relay until killed.
pub fn serve(netns: &Path, forwards: &[Forward], mut ready: impl Write) -> io::Result<()> {
    let bound = (|| -> io::Result<_> {
        let inside = Inside::start(netns)
            .map_err(|e| io::Error::new(e.kind(), format!("entering {}: {e}", netns.display())))?;
        let mut tcp = Vec::new();
        let mut udp = Vec::new();
        for f in forwards {
            let at = f.bind_addr();
            let what = |e: io::Error| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot listen on {} port {at}: {e}",
                        if f.udp { "udp" } else { "tcp" }
                    ),
                )
            };
            if f.udp {
                udp.push((UdpSocket::bind(at).map_err(what)?, f.target));
            } else {
                tcp.push((TcpListener::bind(at).map_err(what)?, f.target));
            }
        }
        Ok((inside, tcp, udp))
    })();
    let (inside, tcp, udp) = match bound {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(ready, "{e}");
            return Err(e);
        }
    };
    writeln!(ready, "ok")?;
    ready.flush()?;
    drop(ready);
    let mut threads = Vec::new();
    for (l, target) in tcp {
        let inside = inside.clone();
        threads.push(std::thread::spawn(move || serve_tcp(l, target, inside)));
    }
    for (s, target) in udp {
        let inside = inside.clone();
        threads.push(std::thread::spawn(move || serve_udp(s, target, inside)));
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_round_trip_through_their_argument() {
        for f in [
            Forward {
                udp: false,
                host_ip: Some("127.0.0.1".parse().expect("ip")),
                host_port: 8080,
                target: "10.89.0.2:80".parse().expect("addr"),
            },
            Forward {
                udp: true,
                host_ip: None,
                host_port: 53,
                target: "[fd00::2]:5353".parse().expect("addr"),
            },
        ] {
            assert_eq!(Forward::parse(&f.to_arg()), Ok(f.clone()));
        }
        assert!(Forward::parse("sctp/-/1/10.0.0.1/2").is_err());
        assert!(Forward::parse("tcp/-/1/10.0.0.1").is_err());
    }

    /// TCP and UDP relayed into another network namespace, whose servers
    /// are on loopback there.
    #[test]
    fn bytes_reach_the_namespace_and_come_back() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let d = tempfile::tempdir().expect("tempdir");
        let ns = d.path().join("ns");
        crate::sys::netns::create_bound(&ns).expect("netns");
        let (tcp_port, udp_port) = (39471u16, 39472u16);
        // Echo servers inside, on its loopback.
        let nsfile = std::fs::File::open(&ns).expect("open ns");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            nix::sched::setns(&nsfile, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            std::process::Command::new("ip")
                .args(["link", "set", "lo", "up"])
                .status()
                .expect("ip");
            let l = TcpListener::bind(("127.0.0.1", 80)).expect("bind tcp");
            let u = UdpSocket::bind(("127.0.0.1", 53)).expect("bind udp");
            tx.send(()).expect("ready");
            std::thread::spawn(move || {
                let mut b = [0u8; 64];
                while let Ok((n, from)) = u.recv_from(&mut b) {
                    let _ = u.send_to(&b[..n], from);
                }
            });
            for c in l.incoming().flatten() {
                let mut r = c.try_clone().expect("clone");
                let mut w = c;
                let _ = io::copy(&mut r, &mut w);
            }
        });
        rx.recv().expect("servers up");
        let forwards = vec![
            Forward {
                udp: false,
                host_ip: Some("127.0.0.1".parse().expect("ip")),
                host_port: tcp_port,
                target: "127.0.0.1:80".parse().expect("addr"),
            },
            Forward {
                udp: true,
                host_ip: Some("127.0.0.1".parse().expect("ip")),
                host_port: udp_port,
                target: "127.0.0.1:53".parse().expect("addr"),
            },
        ];
        let (rtx, rrx) = mpsc::channel::<Vec<u8>>();
        struct Pipe(mpsc::Sender<Vec<u8>>);
        impl Write for Pipe {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                let _ = self.0.send(b.to_vec());
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let nspath = ns.clone();
        std::thread::spawn(move || serve(&nspath, &forwards, Pipe(rtx)));
        assert_eq!(rrx.recv().expect("ready"), b"ok\n");
        let mut c = TcpStream::connect(("127.0.0.1", tcp_port)).expect("connect");
        c.write_all(b"over tcp").expect("write");
        c.shutdown(Shutdown::Write).expect("shutdown");
        let mut got = String::new();
        io::Read::read_to_string(&mut c, &mut got).expect("read");
        assert_eq!(got, "over tcp");
        let u = UdpSocket::bind("127.0.0.1:0").expect("bind");
        u.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        u.send_to(b"over udp", ("127.0.0.1", udp_port))
            .expect("send");
        let mut b = [0u8; 64];
        let n = u.recv(&mut b).expect("udp answer");
        assert_eq!(&b[..n], b"over udp");
        let _ = crate::sys::netns::remove_bound(&ns);
    }
}
