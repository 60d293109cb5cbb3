use super::batch::{self, Batch, Table};
use super::networks;
use super::nft::condense;
use super::ports::{self, Check};
use super::*;
use crate::state::container::Protocol;

fn dual_stack() -> NetworkRules {
    NetworkRules {
        id: "abc".into(),
        bridge: "skbr0".into(),
        subnets: vec![
            "10.99.0.7/24".parse().expect("subnet"),
            "fd99::/64".parse().expect("subnet"),
        ],
        internal: false,
        isolation: Isolation::On,
        dns: true,
    }
}

fn mapping(host_ip: &str, host: u16, ctr: u16, protocol: Protocol, range: u16) -> PortMapping {
    PortMapping {
        host_ip: host_ip.into(),
        host_port: host,
        container_port: ctr,
        protocol,
        range,
    }
}

fn rules(addrs: &[&str], ports: Vec<PortMapping>) -> PortRules {
    PortRules {
        addrs: addrs.iter().map(|a| a.parse().expect("address")).collect(),
        ports,
    }
}

/// The text `f` adds to an empty batch.
fn text(f: impl FnOnce(&mut Batch)) -> String {
    let mut b = Batch::default();
    f(&mut b);
    b.text()
}

const SKELETON_AND_NETWORK: &str = r#"add table inet skiff
add chain inet skiff published
add chain inet skiff prerouting { type nat hook prerouting priority dstnat; policy accept; }
add chain inet skiff output { type nat hook output priority -100; policy accept; }
add chain inet skiff postrouting { type nat hook postrouting priority srcnat; policy accept; }
add chain inet skiff forward { type filter hook forward priority filter; policy accept; }
add chain inet skiff input { type filter hook input priority filter; policy accept; }
add chain inet skiff nat-abc
add chain inet skiff fwd-abc
add chain inet skiff dns-abc
add map inet skiff ports4_host { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
add map inet skiff ports4_any { type inet_proto . inet_service : ipv4_addr . inet_service; }
add map inet skiff ports6_host { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service; }
add map inet skiff ports6_any { type inet_proto . inet_service : ipv6_addr . inet_service; }
add map inet skiff nat4 { type ipv4_addr : verdict; flags interval; }
add map inet skiff nat6 { type ipv6_addr : verdict; flags interval; }
add map inet skiff forward_bridges { type ifname : verdict; }
add map inet skiff dns_bridges { type ifname : verdict; }
add set inet skiff bridges { type ifname; }
add set inet skiff isolated { type ifname; }
flush chain inet skiff published
add rule inet skiff published dnat ip to ip daddr . meta l4proto . th dport map @ports4_host
add rule inet skiff published meta nfproto ipv4 dnat ip to meta l4proto . th dport map @ports4_any
add rule inet skiff published dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6_host
add rule inet skiff published meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @ports6_any
flush chain inet skiff prerouting
add rule inet skiff prerouting fib daddr type local jump published
flush chain inet skiff output
add rule inet skiff output fib daddr type local jump published
flush chain inet skiff postrouting
add rule inet skiff postrouting ip saddr 127.0.0.0/8 oifname @bridges ct status dnat masquerade
add rule inet skiff postrouting ip saddr vmap @nat4
add rule inet skiff postrouting ip6 saddr vmap @nat6
flush chain inet skiff forward
add rule inet skiff forward iifname vmap @forward_bridges
add rule inet skiff forward oifname vmap @forward_bridges
flush chain inet skiff input
add rule inet skiff input iifname vmap @dns_bridges
flush chain inet skiff nat-abc
add rule inet skiff nat-abc ip saddr 10.99.0.0/24 ip daddr 10.99.0.0/24 ct status dnat masquerade
add rule inet skiff nat-abc ip saddr 10.99.0.0/24 ip daddr != { 10.99.0.0/24, 224.0.0.0/4 } masquerade
add rule inet skiff nat-abc ip6 saddr fd99::/64 ip6 daddr fd99::/64 ct status dnat masquerade
add rule inet skiff nat-abc ip6 saddr fd99::/64 ip6 daddr != { fd99::/64, ff00::/8 } masquerade
add element inet skiff nat4 { 10.99.0.0/24 : jump nat-abc }
add element inet skiff nat6 { fd99::/64 : jump nat-abc }
flush chain inet skiff fwd-abc
add rule inet skiff fwd-abc iifname "skbr0" oifname != "skbr0" ct status ! dnat oifname @isolated drop
add element inet skiff forward_bridges { "skbr0" : jump fwd-abc }
add element inet skiff bridges { "skbr0" }
add element inet skiff isolated { "skbr0" }
flush chain inet skiff dns-abc
add rule inet skiff dns-abc ip saddr 10.99.0.0/24 meta l4proto { tcp, udp } th dport 53 accept
add rule inet skiff dns-abc ip6 saddr fd99::/64 meta l4proto { tcp, udp } th dport 53 accept
add element inet skiff dns_bridges { "skbr0" : jump dns-abc }
"#;

#[test]
fn a_network_with_its_table() {
    let n = dual_stack();
    n.validate().expect("valid");
    let got = text(|b| {
        batch::skeleton(b, Table::Create);
        networks::add(b, &n);
    });
    assert_eq!(got, SKELETON_AND_NETWORK);
}

#[test]
fn an_internal_strict_network_without_dns() {
    let n = NetworkRules {
        internal: true,
        isolation: Isolation::Strict,
        dns: false,
        subnets: vec!["10.99.0.0/24".parse().expect("subnet")],
        ..dual_stack()
    };
    let got = text(|b| networks::add(b, &n));
    assert_eq!(
        got,
        r#"add chain inet skiff nat-abc
add chain inet skiff fwd-abc
add chain inet skiff dns-abc
flush chain inet skiff nat-abc
add element inet skiff nat4 { 10.99.0.0/24 : jump nat-abc }
flush chain inet skiff fwd-abc
add rule inet skiff fwd-abc iifname "skbr0" oifname != "skbr0" drop
add rule inet skiff fwd-abc oifname "skbr0" iifname != "skbr0" drop
add rule inet skiff fwd-abc iifname "skbr0" oifname != "skbr0" ct status ! dnat oifname @bridges drop
add element inet skiff forward_bridges { "skbr0" : jump fwd-abc }
add element inet skiff bridges { "skbr0" }
add element inet skiff isolated { "skbr0" }
add element inet skiff dns_bridges { "skbr0" : jump dns-abc }
delete element inet skiff dns_bridges { "skbr0" }
flush chain inet skiff dns-abc
delete chain inet skiff dns-abc
"#
    );
}

#[test]
fn without_isolation_a_bridge_leaves_the_isolated_set() {
    let n = NetworkRules {
        isolation: Isolation::Off,
        ..dual_stack()
    };
    let got = text(|b| networks::add(b, &n));
    assert!(got.contains(
        "add element inet skiff isolated { \"skbr0\" }\ndelete element inet skiff isolated { \"skbr0\" }\n"
    ));
    assert!(!got.contains(" drop"));
}

#[test]
fn removing_a_network_adds_each_piece_back_first() {
    let got = text(|b| {
        for piece in networks::remove(&dual_stack()) {
            b.append(&piece);
        }
    });
    assert_eq!(
        got,
        r#"add chain inet skiff nat-abc
add chain inet skiff fwd-abc
add chain inet skiff dns-abc
add element inet skiff nat4 { 10.99.0.0/24 : jump nat-abc }
delete element inet skiff nat4 { 10.99.0.0/24 }
add element inet skiff nat6 { fd99::/64 : jump nat-abc }
delete element inet skiff nat6 { fd99::/64 }
add element inet skiff forward_bridges { "skbr0" : jump fwd-abc }
delete element inet skiff forward_bridges { "skbr0" }
add element inet skiff dns_bridges { "skbr0" : jump dns-abc }
delete element inet skiff dns_bridges { "skbr0" }
add element inet skiff bridges { "skbr0" }
delete element inet skiff bridges { "skbr0" }
add element inet skiff isolated { "skbr0" }
delete element inet skiff isolated { "skbr0" }
flush chain inet skiff nat-abc
delete chain inet skiff nat-abc
flush chain inet skiff fwd-abc
delete chain inet skiff fwd-abc
flush chain inet skiff dns-abc
delete chain inet skiff dns-abc
"#
    );
}

#[test]
fn teardown_batches_never_create_the_table_and_reload_starts_afresh() {
    let existing = text(|b| batch::skeleton(b, Table::Existing));
    assert!(!existing.contains("add table"));
    let fresh = text(|b| batch::skeleton(b, Table::Recreate));
    assert!(fresh.starts_with(
        "add table inet skiff\ndelete table inet skiff\nadd table inet skiff\nadd chain"
    ));
    assert_eq!(
        batch::table_removal(),
        "add table inet skiff\ndelete table inet skiff\n"
    );
}

#[test]
fn published_ports_as_map_elements() {
    let p = rules(
        &["10.99.0.2", "fd99::2"],
        vec![
            mapping("", 8080, 80, Protocol::Tcp, 0),
            mapping("127.0.0.1", 9000, 90, Protocol::Udp, 3),
            mapping("fd00::1", 8443, 443, Protocol::Tcp, 1),
            mapping("0.0.0.0", 132, 132, Protocol::Sctp, 1),
            // The same port twice is one element.
            mapping("", 8080, 80, Protocol::Tcp, 1),
        ],
    );
    let elements = ports::elements(&p, Check::Strict).expect("valid");
    let got = text(|b| ports::add(b, &elements));
    assert_eq!(
        got,
        "add element inet skiff ports4_any { sctp . 132 : 10.99.0.2 . 132, tcp . 8080 : 10.99.0.2 . 80 }\n\
         add element inet skiff ports4_host { 127.0.0.1 . udp . 9000 : 10.99.0.2 . 90, 127.0.0.1 . udp . 9001 : 10.99.0.2 . 91, 127.0.0.1 . udp . 9002 : 10.99.0.2 . 92 }\n\
         add element inet skiff ports6_any { tcp . 8080 : fd99::2 . 80 }\n\
         add element inet skiff ports6_host { fd00::1 . tcp . 8443 : fd99::2 . 443 }\n"
    );
    let withdraw = text(|b| {
        for piece in ports::remove(&elements[..1]) {
            b.append(&piece);
        }
    });
    assert_eq!(
        withdraw,
        "add element inet skiff ports4_any { sctp . 132 : 10.99.0.2 . 132 }\n\
         delete element inet skiff ports4_any { sctp . 132 }\n"
    );
}

#[test]
fn a_wildcard_port_goes_to_the_families_the_container_has() {
    let p = rules(
        &["10.99.0.2"],
        vec![mapping("", 8080, 80, Protocol::Tcp, 1)],
    );
    let elements = ports::elements(&p, Check::Strict).expect("valid");
    let got = text(|b| ports::add(b, &elements));
    assert_eq!(
        got,
        "add element inet skiff ports4_any { tcp . 8080 : 10.99.0.2 . 80 }\n"
    );
}

#[test]
fn bad_ports_are_refused() {
    let cases: &[(&[&str], PortMapping, &str)] = &[
        (
            &["10.99.0.2"],
            mapping("", 0, 80, Protocol::Tcp, 1),
            "has port 0",
        ),
        (
            &["10.99.0.2"],
            mapping("", 65535, 80, Protocol::Tcp, 2),
            "passes port 65535",
        ),
        (
            &["10.99.0.2"],
            mapping("", 8080, 65535, Protocol::Tcp, 2),
            "passes port 65535",
        ),
        (
            &["10.99.0.2"],
            mapping("::1", 8080, 80, Protocol::Tcp, 1),
            "IPv6 keeps ::1",
        ),
        (
            &["10.99.0.2"],
            mapping("fd00::1", 8080, 80, Protocol::Tcp, 1),
            "no container address",
        ),
        (
            &["fd99::2"],
            mapping("0.0.0.0", 8080, 80, Protocol::Tcp, 1),
            "no container address",
        ),
        (
            &["10.99.0.2"],
            mapping("1.2.3.4 . tcp", 1, 80, Protocol::Tcp, 1),
            "not an IP address",
        ),
        (
            &["10.99.0.2"],
            mapping("[::1]", 1, 80, Protocol::Tcp, 1),
            "not an IP address",
        ),
        (
            &["10.99.0.2", "10.99.0.3"],
            mapping("", 8080, 80, Protocol::Tcp, 1),
            "second one",
        ),
        (
            &["0.0.0.0"],
            mapping("", 8080, 80, Protocol::Tcp, 1),
            "unspecified",
        ),
    ];
    for (addrs, m, why) in cases {
        let err =
            ports::elements(&rules(addrs, vec![m.clone()]), Check::Strict).expect_err("refused");
        assert!(err.to_string().contains(why), "{m:?}: {err}");
    }
    let twice = rules(
        &["10.99.0.2"],
        vec![
            mapping("", 8080, 80, Protocol::Tcp, 1),
            mapping("", 8079, 81, Protocol::Tcp, 2),
        ],
    );
    let err = ports::elements(&twice, Check::Strict).expect_err("8080 twice");
    assert!(err.to_string().contains("published twice"), "{err}");
}

#[test]
fn names_outside_their_alphabet_are_refused() {
    let long = "a".repeat(65);
    for (id, bridge) in [
        ("", "skbr0"),
        ("ABC", "skbr0"),
        ("a-b", "skbr0"),
        (long.as_str(), "skbr0"),
        ("abc", ""),
        ("abc", "br0\" ; flush ruleset"),
        ("abc", "Br0"),
        ("abc", "sixteen-chars-xx"),
        ("abc", "br 0"),
    ] {
        let n = NetworkRules {
            id: id.into(),
            bridge: bridge.into(),
            ..dual_stack()
        };
        assert!(
            matches!(n.validate(), Err(FirewallError::Invalid { .. })),
            "{id:?} {bridge:?}"
        );
    }
    let every = NetworkRules {
        subnets: vec!["0.0.0.0/0".parse().expect("subnet")],
        ..dual_stack()
    };
    assert!(every.validate().is_err());
    let fine = NetworkRules {
        id: "0123456789ab".into(),
        bridge: "podman_1-x".into(),
        ..dual_stack()
    };
    fine.validate().expect("valid names");
}

#[test]
fn nft_errors_become_one_line() {
    let stderr = "/dev/stdin:4:32-43: Error: Could not process rule: File exists\n\
add element inet skiff ports4_any { tcp . 8080 : 10.99.0.3 . 80 }\n\
                                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n";
    assert_eq!(
        condense(stderr),
        "Could not process rule: File exists (add element inet skiff ports4_any { tcp . 8080 : 10.99.0.3 . 80 })"
    );
    let many = "Error: a\nx\n  ^\nError: b\nError: c\nError: d\nError: e\n";
    assert_eq!(condense(many), "a (x); b; c; and 2 more");
    assert_eq!(
        condense("netlink: Error: Operation not permitted\n"),
        "Operation not permitted"
    );
}

#[test]
fn the_missing_nft_is_named_with_its_package() {
    assert_eq!(
        FirewallError::NftMissing.to_string(),
        "root bridge networks need the nft command (Debian package nftables)"
    );
}

#[test]
fn withdrawing_passes_over_what_publishing_refuses() {
    let p = rules(
        &["10.99.0.2"],
        vec![
            mapping("fd00::1", 8080, 80, Protocol::Tcp, 1),
            mapping("", 0, 80, Protocol::Tcp, 1),
            mapping("", 8081, 80, Protocol::Tcp, 1),
        ],
    );
    assert!(ports::elements(&p, Check::Strict).is_err());
    let kept = ports::elements(&p, Check::Lenient).expect("lenient");
    assert_eq!(
        text(|b| ports::add(b, &kept)),
        "add element inet skiff ports4_any { tcp . 8081 : 10.99.0.2 . 80 }\n"
    );
    let two_v4 = rules(
        &["10.99.0.2", "10.99.0.3"],
        vec![mapping("", 8081, 80, Protocol::Tcp, 1)],
    );
    let none = ports::elements(&two_v4, Check::Lenient).expect("lenient");
    assert!(none.is_empty());
}
