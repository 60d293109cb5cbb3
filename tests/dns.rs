//! The DNS server as the engine runs it: `sync_server` starting the real
//! `skiff dns-server`, making it reread its files, and stopping it. Each
//! test runs in a network namespace of its own (root only), so the server
//! binds loopback addresses nobody else sees.

mod common;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use common::*;
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, Question, CLASS, QCLASS, QTYPE, RCODE, TYPE};
use skiff::network::dns::{add_entry, remove_entry, sync_server, Entry, SyncError};

/// Run `f` on a thread in a new network namespace with `lo` up; false
/// (after saying why) when this is not root.
fn in_netns(f: impl FnOnce() + Send + 'static) -> bool {
    if !require_root() || !require_tool("ip") {
        return false;
    }
    let thread = std::thread::spawn(move || {
        nix::sched::unshare(CloneFlags::CLONE_NEWNET).expect("a network namespace");
        // Processes started from this thread are in its namespace.
        let ok = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .expect("ip link");
        assert!(ok.success());
        f();
    });
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
    true
}

fn entry(id: &str, v4: &str, name: &str) -> Entry {
    Entry {
        id: id.to_string(),
        v4: Some(v4.parse().expect("test address")),
        v6: None,
        names: vec![name.to_string()],
    }
}

fn ip(a: &str) -> IpAddr {
    a.parse().expect("test address")
}

/// The A records for `name` from the server on `server`, port 53.
fn lookup(server: &str, name: &str) -> (RCODE, Vec<Ipv4Addr>) {
    let s = UdpSocket::bind("127.0.0.1:0").expect("client socket");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.connect((ip(server), 53)).expect("connect");
    let mut q = Packet::new_query(7);
    q.questions.push(Question::new(
        Name::new_unchecked(name),
        QTYPE::TYPE(TYPE::A),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    s.send(&q.build_bytes_vec().expect("query")).expect("send");
    let mut buf = [0u8; 1500];
    let n = s.recv(&mut buf).expect("an answer");
    let p = Packet::parse(&buf[..n]).expect("the answer parses");
    let addrs = p
        .answers
        .iter()
        .filter_map(|rr| match &rr.rdata {
            RData::A(a) => Some(Ipv4Addr::from(a.clone())),
            _ => None,
        })
        .collect();
    (p.rcode(), addrs)
}

/// The pid in the server's status file, if there is one.
fn server_pid(dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(dir.join(".server.pid")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Kills a server a failed test leaves behind.
struct Reaper<'a>(&'a Path);

impl Drop for Reaper<'_> {
    fn drop(&mut self) {
        if let Some(pid) = server_pid(self.0) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

fn sync(dir: &Path) -> Result<(), SyncError> {
    let args = ["dns-server".into(), dir.as_os_str().to_owned()];
    sync_server(dir, Path::new(env!("CARGO_BIN_EXE_skiff")), &args)
}

#[test]
fn sync_server_starts_reloads_and_stops_the_server() {
    in_netns(|| {
        let scratch = scratch_dir("dns");
        let dir = scratch.path();
        let _reaper = Reaper(dir);
        // Nothing to serve: nothing started.
        sync(dir).expect("sync without networks");
        assert_eq!(server_pid(dir), None);

        add_entry(
            dir,
            "n",
            &[ip("127.0.0.2")],
            &[],
            &entry("c1", "10.89.0.2", "web"),
        )
        .expect("add");
        sync(dir).expect("start");
        let pid = server_pid(dir).expect("a server");
        // It answers at once, and runs detached, in a session of its own.
        assert_eq!(
            lookup("127.0.0.2", "web"),
            (RCODE::NoError, vec![Ipv4Addr::new(10, 89, 0, 2)])
        );
        let sid = nix::unistd::getsid(Some(Pid::from_raw(pid))).expect("its session");
        assert_eq!(sid.as_raw(), pid);

        // A container on a new network: the same server, listening there
        // by the time sync returns.
        add_entry(
            dir,
            "m",
            &[ip("127.0.0.3")],
            &[],
            &entry("c2", "10.90.0.2", "db"),
        )
        .expect("add");
        sync(dir).expect("reload");
        assert_eq!(server_pid(dir), Some(pid));
        assert_eq!(
            lookup("127.0.0.3", "db.dns.podman"),
            (RCODE::NoError, vec![Ipv4Addr::new(10, 90, 0, 2)])
        );
        remove_entry(dir, "n", "c1").expect("remove");
        sync(dir).expect("reload");
        assert_eq!(lookup("127.0.0.3", "web.dns.podman").0, RCODE::NameError);

        // The last container goes: so does the server.
        remove_entry(dir, "m", "c2").expect("remove");
        sync(dir).expect("stop");
        assert_eq!(server_pid(dir), None);
        let status = nix::sys::wait::waitpid(Pid::from_raw(pid), None).expect("its end");
        assert!(
            matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)),
            "{status:?}"
        );
        let log = std::fs::read_to_string(dir.join(".server.log")).expect("its log");
        assert!(!log.contains("ERROR"), "{log}");
    });
}

#[test]
fn a_pid_that_is_no_longer_the_server_is_never_signalled() {
    in_netns(|| {
        let scratch = scratch_dir("dns");
        let dir = scratch.path();
        let _reaper = Reaper(dir);
        // A status left by a server killed outright, whose pid is now this
        // test's (a SIGHUP would end the test binary).
        let me = std::process::id();
        std::fs::write(dir.join(".server.pid"), format!("{me} 1 7\n")).expect("write");
        add_entry(
            dir,
            "n",
            &[ip("127.0.0.2")],
            &[],
            &entry("c1", "10.89.0.2", "web"),
        )
        .expect("add");
        sync(dir).expect("start");
        let pid = server_pid(dir).expect("a server");
        assert_ne!(pid as u32, me);
        assert_eq!(lookup("127.0.0.2", "web").0, RCODE::NoError);
        remove_entry(dir, "n", "c1").expect("remove");
        sync(dir).expect("stop");
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
    });
}

#[test]
fn an_address_taken_by_another_program_is_reported() {
    in_netns(|| {
        let scratch = scratch_dir("dns");
        let dir = scratch.path();
        let _reaper = Reaper(dir);
        let _taken = UdpSocket::bind("127.0.0.4:53").expect("the other program's socket");
        add_entry(
            dir,
            "n",
            &[ip("127.0.0.2")],
            &[],
            &entry("c1", "10.89.0.2", "web"),
        )
        .expect("add");
        add_entry(
            dir,
            "t",
            &[ip("127.0.0.4")],
            &[],
            &entry("c2", "10.91.0.2", "x"),
        )
        .expect("add");
        let err = sync(dir).expect_err("127.0.0.4 is taken");
        assert!(err.to_string().contains("127.0.0.4 port 53"), "{err}");
        // The other network is served all the same.
        let pid = server_pid(dir).expect("a server");
        assert_eq!(lookup("127.0.0.2", "web").0, RCODE::NoError);
        remove_entry(dir, "n", "c1").expect("remove");
        remove_entry(dir, "t", "c2").expect("remove");
        sync(dir).expect("stop");
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), None);
    });
}
