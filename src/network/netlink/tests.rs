//! Every test runs on a thread of its own that first moves into a new,
//! empty network namespace: nothing here changes the host's network. The
//! second namespaces are bind mounts in a temporary directory, removed when
//! the test ends.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use netlink_packet_route::link::{
    InfoBridgePort, InfoPortData, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::RouteHeader;
use nix::sched::unshare;

use super::*;
use crate::sys::netns;

const V4_GATEWAY: &str = "10.88.0.1";
const V4_PEER: &str = "10.88.0.2";
const V6_GATEWAY: &str = "fd00:88::1";
const V6_PEER: &str = "fd00:88::2";

fn ip(text: &str) -> IpAddr {
    text.parse().expect("a valid address")
}

/// Run `f` on a new thread in a new network namespace with lo up; `None`,
/// with a note, where this process may not make one.
fn in_private_netns<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    let joined = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
                    eprintln!("skipped: cannot make a network namespace ({e}); run as root");
                    return None;
                }
                lo_up(&mut Netlink::open().expect("netlink socket"));
                Some(f())
            })
            .join()
    });
    joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn lo_up(nl: &mut Netlink) {
    let lo = nl.link_index("lo").expect("look up lo").expect("lo exists");
    nl.set_up(lo).expect("bring lo up");
}

/// A second network namespace bound on a file in a temporary directory,
/// unmounted when dropped.
struct BoundNetns {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl BoundNetns {
    fn new() -> BoundNetns {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("net");
        netns::create_bound(&path).expect("bound network namespace");
        BoundNetns { path, _dir: dir }
    }

    fn file(&self) -> File {
        File::open(&self.path).expect("open the namespace file")
    }
}

impl Drop for BoundNetns {
    fn drop(&mut self) {
        let _ = netns::remove_bound(&self.path);
    }
}

/// The bridge skt0 with the gateway addresses, and a veth pair sktv0 /
/// eth0 into `ns`; returns the bridge's and the host end's indexes.
fn bridge_and_veth(nl: &mut Netlink, ns: &BoundNetns, peer_mac: [u8; 6]) -> (u32, u32) {
    let bridge = nl.ensure_bridge("skt0", None).expect("bridge");
    nl.add_address(bridge, ip(V4_GATEWAY), 24)
        .expect("v4 gateway");
    nl.add_address(bridge, ip(V6_GATEWAY), 64)
        .expect("v6 gateway");
    let ns_file = ns.file();
    let host = nl
        .add_veth(
            "sktv0",
            "eth0",
            ns_file.as_fd(),
            bridge,
            Some(1400),
            Some(peer_mac),
        )
        .expect("veth pair");
    (bridge, host)
}

#[test]
fn a_bridge_is_made_once_and_keeps_its_address() {
    in_private_netns(|| {
        let mut nl = Netlink::open().expect("netlink socket");
        let index = nl.ensure_bridge("skt0", Some(1400)).expect("new bridge");
        let first = nl.link("skt0").expect("look up").expect("bridge exists");
        assert_eq!(first.index, index);
        assert_eq!(first.kind.as_deref(), Some("bridge"));
        assert!(first.up);
        assert_eq!(first.mtu, Some(1400));
        let mac = first.mac.expect("a MAC address");
        assert_eq!(
            mac[0] & 0x03,
            0x02,
            "locally administered unicast: {mac:02x?}"
        );

        assert_eq!(nl.ensure_bridge("skt0", None).expect("same bridge"), index);
        let second = nl.link("skt0").expect("look up").expect("bridge exists");
        assert_eq!(second, first);

        let e = nl.ensure_bridge("lo", None).expect_err("lo is no bridge");
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert!(e.to_string().starts_with("creating bridge lo: "), "{e}");
    });
}

#[test]
fn a_veth_peer_is_made_in_the_other_namespace() {
    in_private_netns(|| {
        let ns = BoundNetns::new();
        let mut nl = Netlink::open().expect("netlink socket");
        let peer_mac = random_mac().expect("random MAC");
        let bridge_mac = nl.ensure_bridge("skt0", None).and_then(|_| nl.link("skt0"));
        let bridge_mac = bridge_mac.expect("bridge").and_then(|l| l.mac);
        let (bridge, host) = bridge_and_veth(&mut nl, &ns, peer_mac);

        let port = nl.link("sktv0").expect("look up").expect("host end exists");
        assert_eq!(port.index, host);
        assert_eq!(port.kind.as_deref(), Some("veth"));
        assert_eq!(port.controller, Some(bridge));
        assert_eq!(port.mtu, Some(1400));
        assert!(port.up);
        assert!(hairpin(&mut nl, host), "hairpin mode is on");
        assert_eq!(nl.link_index("eth0").expect("look up"), None);
        // A bridge without an address of its own would now take its port's
        // lower one.
        set_mac(&mut nl, host, [0x02, 0, 0, 0, 0, 0x01]);
        let bridge_link = nl.link("skt0").expect("look up").expect("bridge");
        assert_eq!(bridge_link.mac, bridge_mac);

        let mut inside = Netlink::open_in(&ns.path).expect("netlink socket inside");
        let peer = inside.link("eth0").expect("look up").expect("peer exists");
        assert_eq!(peer.mac, Some(peer_mac));
        assert_eq!(peer.mtu, Some(1400));
        assert_eq!(peer.kind.as_deref(), Some("veth"));
        assert!(!peer.up);
    });
}

fn set_mac(nl: &mut Netlink, index: u32, mac: [u8; 6]) {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.attributes.push(LinkAttribute::Address(mac.to_vec()));
    let set = nl.request(RouteNetlinkMessage::SetLink(msg), 0);
    assert!(set.is_ok(), "set the MAC of link {index}");
}

/// Whether the bridge port `index` has hairpin mode on, as the kernel
/// reports it in the port's link info.
fn hairpin(nl: &mut Netlink, index: u32) -> bool {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    let Ok(replies) = nl.request(RouteNetlinkMessage::GetLink(msg), 0) else {
        return false;
    };
    replies.iter().any(|reply| {
        let RouteNetlinkMessage::NewLink(link) = reply else {
            return false;
        };
        link.attributes.iter().any(|attr| {
            let LinkAttribute::LinkInfo(infos) = attr else {
                return false;
            };
            infos.iter().any(|info| {
                matches!(info, LinkInfo::PortData(InfoPortData::BridgePort(options))
                    if options.contains(&InfoBridgePort::HairpinMode(true)))
            })
        })
    })
}

#[test]
fn the_container_side_reaches_the_host_through_its_default_routes() {
    in_private_netns(|| {
        let ns = BoundNetns::new();
        let mut nl = Netlink::open().expect("netlink socket");
        let (bridge, _) = bridge_and_veth(&mut nl, &ns, random_mac().expect("random MAC"));
        // Addresses outside the container's subnets: only the default
        // routes lead there.
        nl.add_address(bridge, ip("192.0.2.1"), 32)
            .expect("v4 address");
        nl.add_address(bridge, ip("2001:db8::1"), 128)
            .expect("v6 address");
        let v4 = TcpListener::bind("192.0.2.1:0").expect("v4 listener");
        let v6 = TcpListener::bind("[2001:db8::1]:0").expect("v6 listener");
        let targets = [
            v4.local_addr().expect("v4 port"),
            v6.local_addr().expect("v6 port"),
        ];

        let routes = in_netns(&ns.path, || {
            let mut inside = Netlink::open().expect("netlink socket inside");
            lo_up(&mut inside);
            let eth0 = inside.link_index("eth0").expect("look up").expect("eth0");
            inside
                .add_address(eth0, ip(V4_PEER), 24)
                .expect("v4 address");
            inside
                .add_address(eth0, ip(V6_PEER), 64)
                .expect("v6 address");
            inside.set_up(eth0).expect("eth0 up");
            inside
                .add_route(None, Some(ip(V4_GATEWAY)), eth0)
                .expect("v4 default route");
            inside
                .add_route(None, Some(ip(V6_GATEWAY)), eth0)
                .expect("v6 default route");
            for target in targets {
                say_hello(target);
            }
            inside.routes().expect("routes inside")
        })
        .expect("enter the namespace");

        for (listener, target) in [(v4, targets[0]), (v6, targets[1])] {
            let (mut conn, from) = listener.accept().expect("accept");
            let mut text = String::new();
            conn.read_to_string(&mut text).expect("read");
            assert_eq!(text, "hello", "from {from} to {target}");
            assert!([ip(V4_PEER), ip(V6_PEER)].contains(&from.ip()), "{from}");
        }
        for gateway in [V4_GATEWAY, V6_GATEWAY] {
            let default = routes
                .iter()
                .find(|r| r.prefix == 0 && r.gateway == Some(ip(gateway)));
            let default = default.expect("a default route via the gateway");
            assert_eq!(default.table, u32::from(RouteHeader::RT_TABLE_MAIN));
            assert!(default.dst.is_unspecified());
        }
    });
}

fn say_hello(target: SocketAddr) {
    let mut conn = TcpStream::connect_timeout(&target, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect to {target}: {e}"));
    conn.write_all(b"hello").expect("write");
}

#[test]
fn addresses_and_routes_are_listed() {
    in_private_netns(|| {
        let mut nl = Netlink::open().expect("netlink socket");
        let bridge = nl.ensure_bridge("skt0", None).expect("bridge");
        nl.add_address(bridge, ip(V4_GATEWAY), 24)
            .expect("v4 address");
        nl.add_address(bridge, ip(V4_GATEWAY), 24)
            .expect("the same again");
        nl.add_address(bridge, ip(V6_GATEWAY), 64)
            .expect("v6 address");

        let addresses = nl.addresses().expect("addresses");
        for (addr, prefix) in [(V4_GATEWAY, 24), (V6_GATEWAY, 64)] {
            let want = Address {
                index: bridge,
                addr: ip(addr),
                prefix,
            };
            assert!(addresses.contains(&want), "{want:?} in {addresses:?}");
        }

        let routes = nl.routes().expect("routes");
        let subnet = routes
            .iter()
            .find(|r| r.dst == ip("10.88.0.0") && r.prefix == 24);
        let subnet = subnet.expect("the subnet's route");
        assert_eq!(subnet.index, Some(bridge));
        assert_eq!(subnet.gateway, None);
        assert_eq!(subnet.table, u32::from(RouteHeader::RT_TABLE_MAIN));
        let local = routes
            .iter()
            .find(|r| r.dst == ip(V4_GATEWAY) && r.prefix == 32 && r.table == 255);
        assert!(local.is_some(), "the local table's entry in {routes:?}");
        assert!(routes
            .iter()
            .any(|r| r.dst == ip("fd00:88::") && r.prefix == 64));
    });
}

#[test]
fn deleting_the_host_end_removes_the_peer() {
    in_private_netns(|| {
        let ns = BoundNetns::new();
        let mut nl = Netlink::open().expect("netlink socket");
        let (_, host) = bridge_and_veth(&mut nl, &ns, random_mac().expect("random MAC"));
        let mut inside = Netlink::open_in(&ns.path).expect("netlink socket inside");
        assert!(inside.link_index("eth0").expect("look up").is_some());

        nl.delete_link(host).expect("delete the host end");
        assert_eq!(nl.link_index("sktv0").expect("look up"), None);
        assert_eq!(inside.link_index("eth0").expect("look up"), None);

        nl.delete_link(host).expect("deleting it again is fine");
        nl.delete_link_named("sktv0").expect("by name too");
        nl.delete_link(99_999).expect("an index never used");
    });
}

#[test]
fn errors_name_the_step_and_keep_the_errno() {
    in_private_netns(|| {
        let mut nl = Netlink::open().expect("netlink socket");
        let lo = nl.link_index("lo").expect("look up").expect("lo");
        let e = nl
            .add_route(Some((ip("10.99.0.0"), 24)), Some(ip("10.77.0.1")), lo)
            .expect_err("the gateway is on no link");
        assert_eq!(e.raw_os_error(), Some(Errno::ENETUNREACH as i32));
        let text = e.to_string();
        assert!(
            text.starts_with("adding route to 10.99.0.0/24 on link 1: Network is unreachable"),
            "{text}"
        );
        let io: io::Error = e.into();
        assert_eq!(io.to_string(), text);

        let e = nl
            .ensure_bridge("a-name-far-too-long", None)
            .expect_err("too long");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let e = nl.add_route(None, None, lo).expect_err("no IP version");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    });
}

#[test]
fn sysctls_follow_the_calling_threads_namespace() {
    let key = "net/ipv4/ip_forward";
    let read = |key: &str| {
        std::fs::read_to_string(Path::new("/proc/sys").join(key))
            .unwrap_or_else(|e| panic!("read {key}: {e}"))
    };
    let host_value = read(key);
    let other = if host_value.trim() == "1" { "0" } else { "1" };
    in_private_netns(|| {
        // First make sure /proc/sys/net is this thread's namespace's (only
        // it has skt0) before writing a key the host has too.
        let mut nl = Netlink::open().expect("netlink socket");
        nl.ensure_bridge("skt0", None).expect("bridge");
        let own = "net/ipv4/conf/skt0/route_localnet";
        set_sysctl(own, "1").expect("set the bridge's sysctl");
        assert_eq!(read(own).trim(), "1");

        set_sysctl(key, other).expect("set ip_forward");
        assert_eq!(read(key).trim(), other);
    });
    assert_eq!(read(key), host_value);
    assert!(!Path::new("/proc/sys/net/ipv4/conf/skt0").exists());

    let e = set_sysctl("net/../kernel/hostname", "x").expect_err("not a key");
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
}
