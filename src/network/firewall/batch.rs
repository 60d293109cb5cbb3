//! The text of nft transactions on skiff's table, and the table's fixed
//! part. Only validated values reach it (see `networks.rs`, `ports.rs`).
//!
//! Layout of `table inet skiff` (ID is a network's id, BR its bridge):
//!
//! - Published ports are elements of four maps, from what a packet is sent
//!   to, to the container address and port it goes to: `ports4_host`
//!   (`host address . protocol . port`), `ports4_any` (`protocol . port`,
//!   any local address) and their IPv6 twins `ports6_host`, `ports6_any`.
//!   Chains `prerouting` (from outside and from containers) and `output`
//!   (from the host itself, which includes 127.0.0.1) jump to `published`
//!   for packets to a local address, which DNATs through the maps, given
//!   addresses first. A range is one element per port, port to port.
//! - `postrouting` masquerades DNATed packets from 127.0.0.0/8 to a skiff
//!   bridge (else they could not leave the host), and jumps by source
//!   subnet (maps `nat4`, `nat6`) to the network's chain `nat-ID`: packets
//!   leaving the subnet are masqueraded (not multicast, not for internal
//!   networks), and so are DNATed packets that come back into it (hairpin:
//!   the container must see the answer come from the address it asked).
//! - `forward` jumps by input and by output bridge (map `forward_bridges`)
//!   to `fwd-ID`, which holds the drops of internal networks and of
//!   isolation. Sets `bridges` (all of skiff's) and `isolated` (networks
//!   with isolation on or strict) are what isolation compares against.
//!   Nothing else is dropped: bridged traffic between two ports of one
//!   bridge crosses this hook too (br_netfilter), and the policy accepts.
//! - `input` jumps by bridge (map `dns_bridges`) to `dns-ID`, which accepts
//!   DNS queries from the subnets.
//!
//! nft 1.0.6 sends an interval map's elements along with the map's
//! declaration when both are in one batch, so every chain a verdict
//! element names must be declared before the maps: a batch is written as
//! table, chain declarations, set declarations, rules and elements, then
//! chain deletions.

const T: &str = "inet skiff";

/// How a batch treats the table itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Table {
    /// Created when missing.
    Create,
    /// Must be there already: a batch on a missing table fails.
    Existing,
    /// Deleted if present, then created empty.
    Recreate,
}

/// One transaction, kept in the order nft needs (see above).
#[derive(Debug, Clone, Default)]
pub(super) struct Batch {
    table: Vec<String>,
    chains: Vec<String>,
    sets: Vec<String>,
    body: Vec<String>,
    tail: Vec<String>,
}

impl Batch {
    pub(super) fn text(&self) -> String {
        let mut s = String::new();
        for line in [
            &self.table,
            &self.chains,
            &self.sets,
            &self.body,
            &self.tail,
        ]
        .into_iter()
        .flatten()
        {
            s.push_str(line);
            s.push('\n');
        }
        s
    }

    pub(super) fn append(&mut self, other: &Batch) {
        for line in &other.chains {
            self.declare_chain_line(line.clone());
        }
        for line in &other.sets {
            if !self.sets.contains(line) {
                self.sets.push(line.clone());
            }
        }
        self.body.extend(other.body.iter().cloned());
        self.tail.extend(other.tail.iter().cloned());
    }

    fn declare_chain_line(&mut self, line: String) {
        if !self.chains.contains(&line) {
            self.chains.push(line);
        }
    }

    pub(super) fn declare_chain(&mut self, name: &str) {
        self.declare_chain_line(format!("add chain {T} {name}"));
    }

    pub(super) fn rule(&mut self, chain: &str, rule: impl AsRef<str>) {
        self.body
            .push(format!("add rule {T} {chain} {}", rule.as_ref()));
    }

    /// Declare `chain` and replace its rules.
    pub(super) fn chain_with(&mut self, chain: &str, rules: &[String]) {
        self.declare_chain(chain);
        self.body.push(format!("flush chain {T} {chain}"));
        for r in rules {
            self.rule(chain, r);
        }
    }

    pub(super) fn add_element(&mut self, map: &str, element: &str) {
        self.body
            .push(format!("add element {T} {map} {{ {element} }}"));
    }

    /// Make sure `element` (`key` or `key : value`) is absent: adding it
    /// first makes the deletion succeed when it was missing.
    pub(super) fn ensure_absent(&mut self, map: &str, key: &str, element: &str) {
        self.add_element(map, element);
        self.body
            .push(format!("delete element {T} {map} {{ {key} }}"));
    }

    /// Make sure `chain` is gone (after what jumps to it).
    pub(super) fn ensure_no_chain(&mut self, chain: &str) {
        self.declare_chain(chain);
        self.tail.push(format!("flush chain {T} {chain}"));
        self.tail.push(format!("delete chain {T} {chain}"));
    }
}

/// The table, its maps and sets and its base chains with their fixed
/// rules (replaced, so this can be part of every batch).
pub(super) fn skeleton(b: &mut Batch, table: Table) {
    match table {
        Table::Create => b.table.push(format!("add table {T}")),
        Table::Existing => {}
        Table::Recreate => b.table.extend([
            format!("add table {T}"),
            format!("delete table {T}"),
            format!("add table {T}"),
        ]),
    }
    b.declare_chain("published");
    for (name, hook) in [
        ("prerouting", "type nat hook prerouting priority dstnat"),
        ("output", "type nat hook output priority -100"),
        ("postrouting", "type nat hook postrouting priority srcnat"),
        ("forward", "type filter hook forward priority filter"),
        ("input", "type filter hook input priority filter"),
    ] {
        b.declare_chain_line(format!("add chain {T} {name} {{ {hook}; policy accept; }}"));
    }
    for (name, spec) in [
        (
            "ports4_host",
            "type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service;",
        ),
        (
            "ports4_any",
            "type inet_proto . inet_service : ipv4_addr . inet_service;",
        ),
        (
            "ports6_host",
            "type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service;",
        ),
        (
            "ports6_any",
            "type inet_proto . inet_service : ipv6_addr . inet_service;",
        ),
        ("nat4", "type ipv4_addr : verdict; flags interval;"),
        ("nat6", "type ipv6_addr : verdict; flags interval;"),
        ("forward_bridges", "type ifname : verdict;"),
        ("dns_bridges", "type ifname : verdict;"),
    ] {
        b.sets.push(format!("add map {T} {name} {{ {spec} }}"));
    }
    for name in ["bridges", "isolated"] {
        b.sets
            .push(format!("add set {T} {name} {{ type ifname; }}"));
    }
    let fixed: [(&str, &[&str]); 6] = [
        (
            "published",
            &[
                "dnat ip to ip daddr . meta l4proto . th dport map @ports4_host",
                "meta nfproto ipv4 dnat ip to meta l4proto . th dport map @ports4_any",
                "dnat ip6 to ip6 daddr . meta l4proto . th dport map @ports6_host",
                "meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @ports6_any",
            ],
        ),
        ("prerouting", &["fib daddr type local jump published"]),
        ("output", &["fib daddr type local jump published"]),
        (
            "postrouting",
            &[
                "ip saddr 127.0.0.0/8 oifname @bridges ct status dnat masquerade",
                "ip saddr vmap @nat4",
                "ip6 saddr vmap @nat6",
            ],
        ),
        (
            "forward",
            &[
                "iifname vmap @forward_bridges",
                "oifname vmap @forward_bridges",
            ],
        ),
        ("input", &["iifname vmap @dns_bridges"]),
    ];
    for (chain, rules) in fixed {
        b.body.push(format!("flush chain {T} {chain}"));
        for r in rules {
            b.rule(chain, r);
        }
    }
}

/// Delete the table; adding it first makes a missing one fine.
pub(super) fn table_removal() -> String {
    format!("add table {T}\ndelete table {T}\n")
}
