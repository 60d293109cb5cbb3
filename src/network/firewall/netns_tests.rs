//! The firewall with the real nft and real traffic, each test on a host
//! namespace of its own (see `testnet.rs`): nothing here reaches the
//! host's network or ruleset.

use super::testnet::{
    ask_tcp, ask_tcp_within, ask_udp, bridge, container, in_new_host, ns_inode, ruleset, run, Ctr,
    BLOCKED,
};
use super::*;
use crate::state::container::Protocol;

fn net(id: &str, bridge: &str, subnets: &[&str]) -> NetworkRules {
    NetworkRules {
        id: id.into(),
        bridge: bridge.into(),
        subnets: subnets
            .iter()
            .map(|s| s.parse().expect("a subnet"))
            .collect(),
        internal: false,
        isolation: Isolation::Off,
        dns: false,
    }
}

fn port(host_ip: &str, host: u16, ctr: u16, protocol: Protocol, range: u16) -> PortMapping {
    PortMapping {
        host_ip: host_ip.into(),
        host_port: host,
        container_port: ctr,
        protocol,
        range,
    }
}

fn ports(addrs: &[&str], ports: Vec<PortMapping>) -> PortRules {
    PortRules {
        addrs: addrs
            .iter()
            .map(|a| a.parse().expect("an address"))
            .collect(),
        ports,
    }
}

fn table() -> String {
    run("nft list table inet skiff")
}

/// Network `abc` on bridge skbr0 (10.99.0.0/24) with container c1 at
/// 10.99.0.2, serving TCP on port 80.
fn one_network() -> (NetworkRules, Ctr) {
    bridge("skbr0", &["10.99.0.1/24"]);
    let c1 = container("skbr0", "veth1", &["10.99.0.2/24"], &["10.99.0.1"]);
    let n = net("abc", "skbr0", &["10.99.0.0/24"]);
    add_network(&n).expect("add the network");
    (n, c1)
}

#[test]
fn nft_runs_in_the_test_threads_namespace() {
    let process_ns = ns_inode("/proc/self/ns/net");
    in_new_host("nft_runs_in_the_test_threads_namespace", || {
        let thread_ns = ns_inode("/proc/thread-self/ns/net");
        assert_ne!(thread_ns, process_ns);
        // A process started from this thread is in the thread's namespace.
        let child = run("readlink /proc/self/ns/net");
        assert_eq!(child.trim(), format!("net:[{thread_ns}]"));
        add_network(&net("abc", "skbr0", &["10.99.0.0/24"])).expect("add");
        assert!(run("nft list tables").contains("table inet skiff"));
        remove_table().expect("remove");
        assert_eq!(ruleset(), "");
    });
    assert_eq!(ns_inode("/proc/self/ns/net"), process_ns);
}

#[test]
fn a_port_on_127_0_0_1_reaches_the_container() {
    in_new_host("a_port_on_127_0_0_1_reaches_the_container", || {
        let (_, c1) = one_network();
        let _web = c1.serve_tcp("10.99.0.2:80", "c1");
        let p = ports(
            &["10.99.0.2"],
            vec![port("127.0.0.1", 18080, 80, Protocol::Tcp, 1)],
        );
        add_ports(&p).expect("publish");
        // Masqueraded: the answer goes back to the bridge's address.
        assert_eq!(ask_tcp("127.0.0.1:18080").as_deref(), Some("c1 10.99.0.1"));
        // Published on 127.0.0.1 only.
        assert_eq!(ask_tcp_within("10.99.0.1:18080", BLOCKED), None);
    });
}

#[test]
fn wildcards_ranges_host_addresses_and_udp() {
    in_new_host("wildcards_ranges_host_addresses_and_udp", || {
        let (_, c1) = one_network();
        // Another address of the host.
        run("ip addr add 192.0.2.1/32 dev lo");
        let _web80 = c1.serve_tcp("10.99.0.2:80", "c1:80");
        let _web81 = c1.serve_tcp("10.99.0.2:81", "c1:81");
        let _dns = c1.serve_udp("10.99.0.2:53", "c1:53");
        let p = ports(
            &["10.99.0.2"],
            vec![
                port("", 18081, 80, Protocol::Tcp, 1),
                port("", 19000, 80, Protocol::Tcp, 2),
                port("192.0.2.1", 18082, 80, Protocol::Tcp, 1),
                port("", 15353, 53, Protocol::Udp, 1),
            ],
        );
        add_ports(&p).expect("publish");
        assert_eq!(
            ask_tcp("10.99.0.1:18081").as_deref(),
            Some("c1:80 10.99.0.1")
        );
        assert_eq!(
            ask_tcp("127.0.0.1:18081").as_deref(),
            Some("c1:80 10.99.0.1")
        );
        assert_eq!(
            ask_tcp("192.0.2.1:18081").as_deref(),
            Some("c1:80 192.0.2.1")
        );
        // Port to port.
        assert_eq!(
            ask_tcp("10.99.0.1:19000").as_deref(),
            Some("c1:80 10.99.0.1")
        );
        assert_eq!(
            ask_tcp("10.99.0.1:19001").as_deref(),
            Some("c1:81 10.99.0.1")
        );
        assert_eq!(
            ask_tcp("192.0.2.1:18082").as_deref(),
            Some("c1:80 192.0.2.1")
        );
        assert_eq!(ask_tcp_within("10.99.0.1:18082", BLOCKED), None);
        assert_eq!(
            ask_udp("10.99.0.1:15353").as_deref(),
            Some("c1:53 10.99.0.1")
        );
        assert_eq!(
            ask_udp("127.0.0.1:15353").as_deref(),
            Some("c1:53 10.99.0.1")
        );
    });
}

#[test]
fn containers_reach_published_ports_of_their_own_network() {
    in_new_host(
        "containers_reach_published_ports_of_their_own_network",
        || {
            let (_, c1) = one_network();
            let c2 = container("skbr0", "veth2", &["10.99.0.3/24"], &["10.99.0.1"]);
            let _web = c1.serve_tcp("10.99.0.2:80", "c1");
            add_ports(&ports(
                &["10.99.0.2"],
                vec![port("", 18080, 80, Protocol::Tcp, 1)],
            ))
            .expect("publish");
            // Hairpin: c1 through the host to itself, and c2 to c1; both
            // answers come back through the host.
            assert_eq!(
                c1.ask_tcp("10.99.0.1:18080").as_deref(),
                Some("c1 10.99.0.1")
            );
            assert_eq!(
                c2.ask_tcp("10.99.0.1:18080").as_deref(),
                Some("c1 10.99.0.1")
            );
        },
    );
}

#[test]
fn isolation_between_networks() {
    in_new_host("isolation_between_networks", || {
        let (mut a, c1) = one_network();
        bridge("skbr1", &["10.98.0.1/24"]);
        let c2 = container("skbr1", "veth2", &["10.98.0.2/24"], &["10.98.0.1"]);
        let mut b = net("def", "skbr1", &["10.98.0.0/24"]);
        add_network(&b).expect("add network def");
        let _web1 = c1.serve_tcp("10.99.0.2:80", "c1");
        let dns1 = c1.serve_udp("10.99.0.2:53", "c1");
        let _web2 = c2.serve_tcp("10.98.0.2:80", "c2");
        add_ports(&ports(
            &["10.98.0.2"],
            vec![port("", 18090, 80, Protocol::Tcp, 1)],
        ))
        .expect("publish");
        let mut set = |ia, ib| {
            a.isolation = ia;
            b.isolation = ib;
            add_network(&a).expect("update abc");
            add_network(&b).expect("update def");
        };
        // Off (the default): each way, masqueraded on the way out.
        assert_eq!(c1.ask_tcp("10.98.0.2:80").as_deref(), Some("c2 10.98.0.1"));
        assert_eq!(c2.ask_tcp("10.99.0.2:80").as_deref(), Some("c1 10.99.0.1"));

        set(Isolation::On, Isolation::On);
        assert_eq!(c1.ask_tcp_within("10.98.0.2:80", BLOCKED), None);
        assert_eq!(c2.ask_tcp_within("10.99.0.2:80", BLOCKED), None);
        // A published port, reached through the host, is not isolated.
        assert_eq!(
            c1.ask_tcp("10.99.0.1:18090").as_deref(),
            Some("c2 10.98.0.1")
        );

        // Isolation keeps apart isolated networks only.
        set(Isolation::On, Isolation::Off);
        assert_eq!(c1.ask_tcp("10.98.0.2:80").as_deref(), Some("c2 10.98.0.1"));

        // Strict: no other bridge, not even as an answer.
        set(Isolation::Strict, Isolation::Off);
        assert_eq!(c1.ask_tcp_within("10.98.0.2:80", BLOCKED), None);
        assert_eq!(c2.ask_tcp_within("10.99.0.2:80", BLOCKED), None);
        assert_eq!(c2.ask_udp_within("10.99.0.2:53", BLOCKED), None);
        assert_eq!(dns1.hits(), 1, "the question gets through, the answer not");

        set(Isolation::Off, Isolation::Off);
        assert_eq!(c1.ask_tcp("10.98.0.2:80").as_deref(), Some("c2 10.98.0.1"));
        assert!(!table().contains("drop"));
    });
}

#[test]
fn an_internal_network_forwards_only_within_its_bridge() {
    in_new_host(
        "an_internal_network_forwards_only_within_its_bridge",
        || {
            bridge("skbr0", &["10.99.0.1/24"]);
            let c1 = container("skbr0", "veth1", &["10.99.0.2/24"], &["10.99.0.1"]);
            let c3 = container("skbr0", "veth3", &["10.99.0.3/24"], &["10.99.0.1"]);
            let mut a = net("abc", "skbr0", &["10.99.0.0/24"]);
            a.internal = true;
            add_network(&a).expect("add the internal network");
            bridge("skbr1", &["10.98.0.1/24"]);
            let c2 = container("skbr1", "veth2", &["10.98.0.2/24"], &["10.98.0.1"]);
            add_network(&net("def", "skbr1", &["10.98.0.0/24"])).expect("add def");
            let _web1 = c1.serve_tcp("10.99.0.2:80", "c1");
            let _web2 = c2.serve_tcp("10.98.0.2:80", "c2");
            let _web3 = c3.serve_tcp("10.99.0.3:80", "c3");
            let dns1 = c1.serve_udp("10.99.0.2:53", "c1");
            let dns2 = c2.serve_udp("10.98.0.2:53", "c2");
            assert_eq!(c1.ask_tcp("10.99.0.3:80").as_deref(), Some("c3 10.99.0.2"));
            assert_eq!(c1.ask_tcp_within("10.98.0.2:80", BLOCKED), None);
            assert_eq!(c2.ask_tcp_within("10.99.0.2:80", BLOCKED), None);
            // Not one datagram gets through, either way.
            assert_eq!(c1.ask_udp_within("10.98.0.2:53", BLOCKED), None);
            assert_eq!(c2.ask_udp_within("10.99.0.2:53", BLOCKED), None);
            assert_eq!((dns1.hits(), dns2.hits()), (0, 0));
            assert!(!run("nft list chain inet skiff nat-abc").contains("masquerade"));
        },
    );
}

#[test]
fn ipv6_ports_and_masquerade() {
    in_new_host("ipv6_ports_and_masquerade", || {
        bridge("skbr0", &["10.99.0.1/24", "fd99::1/64"]);
        let c1 = container(
            "skbr0",
            "veth1",
            &["10.99.0.2/24", "fd99::2/64"],
            &["10.99.0.1", "fd99::1"],
        );
        add_network(&net("abc", "skbr0", &["10.99.0.0/24", "fd99::/64"])).expect("add abc");
        bridge("skbr1", &["fd98::1/64"]);
        let c2 = container("skbr1", "veth2", &["fd98::2/64"], &["fd98::1"]);
        add_network(&net("def", "skbr1", &["fd98::/64"])).expect("add def");
        let _web4 = c1.serve_tcp("10.99.0.2:80", "c1");
        let _web6 = c1.serve_tcp("[fd99::2]:80", "c1");
        let _web2 = c2.serve_tcp("[fd98::2]:80", "c2");
        let p = ports(
            &["10.99.0.2", "fd99::2"],
            vec![port("", 18080, 80, Protocol::Tcp, 1)],
        );
        add_ports(&p).expect("publish");
        assert_eq!(ask_tcp("[fd99::1]:18080").as_deref(), Some("c1 fd99::1"));
        assert_eq!(ask_tcp("10.99.0.1:18080").as_deref(), Some("c1 10.99.0.1"));
        assert_eq!(c1.ask_tcp("[fd99::1]:18080").as_deref(), Some("c1 fd99::1"));
        assert_eq!(c1.ask_tcp("[fd98::2]:80").as_deref(), Some("c2 fd98::1"));
    });
}

#[test]
fn removal_leaves_nothing_and_may_be_repeated() {
    in_new_host("removal_leaves_nothing_and_may_be_repeated", || {
        let (mut n, c1) = one_network();
        n.isolation = Isolation::On;
        n.dns = true;
        add_network(&n).expect("update the network");
        let _web = c1.serve_tcp("10.99.0.2:80", "c1");
        let p = ports(
            &["10.99.0.2"],
            vec![
                port("", 18080, 80, Protocol::Tcp, 3),
                port("127.0.0.1", 18081, 80, Protocol::Tcp, 1),
                port("", 15353, 53, Protocol::Udp, 1),
            ],
        );
        add_ports(&p).expect("publish");
        assert!(table().contains("10.99.0.2 . 80"));
        remove_ports(&p).expect("withdraw");
        assert!(!table().contains("10.99.0.2"), "{}", table());
        assert_eq!(ask_tcp_within("127.0.0.1:18081", BLOCKED), None);
        remove_ports(&p).expect("withdraw again");

        assert!(table().contains("skbr0"));
        remove_network(&n).expect("remove the network");
        let left = table();
        assert!(!left.contains("skbr0") && !left.contains("-abc") && !left.contains("10.99."));
        remove_network(&n).expect("remove the network again");

        remove_table().expect("remove the table");
        assert_eq!(ruleset(), "");
        remove_table().expect("remove the table again");
        // Removals do not bring back a table that is gone.
        remove_ports(&p).expect("withdraw without a table");
        remove_network(&n).expect("remove without a table");
        assert_eq!(ruleset(), "");
    });
}

#[test]
fn reload_rebuilds_a_flushed_firewall() {
    in_new_host("reload_rebuilds_a_flushed_firewall", || {
        let (n, c1) = one_network();
        let _web = c1.serve_tcp("10.99.0.2:80", "c1");
        let p = ports(&["10.99.0.2"], vec![port("", 18080, 80, Protocol::Tcp, 1)]);
        add_ports(&p).expect("publish");
        let stale = ports(&["10.99.0.2"], vec![port("", 18099, 80, Protocol::Tcp, 1)]);
        add_ports(&stale).expect("publish a port a record no longer has");
        assert!(ask_tcp("10.99.0.1:18080").is_some());
        run("nft flush ruleset");
        assert_eq!(ask_tcp_within("10.99.0.1:18080", BLOCKED), None);
        reload(std::slice::from_ref(&n), std::slice::from_ref(&p)).expect("reload");
        assert_eq!(ask_tcp("10.99.0.1:18080").as_deref(), Some("c1 10.99.0.1"));
        reload(&[n], &[p]).expect("reload again");
        assert_eq!(ask_tcp("10.99.0.1:18080").as_deref(), Some("c1 10.99.0.1"));
        assert!(!table().contains("18099"));
    });
}

#[test]
fn a_host_port_goes_to_one_container() {
    in_new_host("a_host_port_goes_to_one_container", || {
        let (_, c1) = one_network();
        let _c2 = container("skbr0", "veth2", &["10.99.0.3/24"], &["10.99.0.1"]);
        let _web = c1.serve_tcp("10.99.0.2:80", "c1");
        add_ports(&ports(
            &["10.99.0.2"],
            vec![port("", 18080, 80, Protocol::Tcp, 1)],
        ))
        .expect("publish for c1");
        let both = vec![
            port("", 18081, 80, Protocol::Tcp, 1),
            port("", 18080, 80, Protocol::Tcp, 1),
        ];
        let err = add_ports(&ports(&["10.99.0.3"], both.clone())).expect_err("a taken port");
        assert!(err.to_string().contains("File exists"), "{err}");
        // All or nothing: the free port was not published either.
        assert!(!table().contains("18081"));
        add_ports(&ports(&["10.99.0.3"], vec![both[0].clone()])).expect("publish for c2");
        // A stale record of c2 that claims both: c1 keeps its port.
        remove_ports(&ports(&["10.99.0.3"], both)).expect("withdraw c2's ports");
        assert!(!table().contains("18081"));
        assert_eq!(ask_tcp("10.99.0.1:18080").as_deref(), Some("c1 10.99.0.1"));
    });
}
