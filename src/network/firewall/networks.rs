//! A network's share of the table: its chains `nat-ID`, `fwd-ID` and
//! `dns-ID` and the elements that jump to them (layout in `batch.rs`).

use ipnet::IpNet;

use super::batch::Batch;
use super::{invalid, FirewallError, Isolation, NetworkRules};

impl NetworkRules {
    pub(super) fn validate(&self) -> Result<(), FirewallError> {
        let id_ok = (1..=64).contains(&self.id.len())
            && self
                .id
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !id_ok {
            return Err(invalid(
                "network id",
                &self.id,
                "is not 1 to 64 of [a-z0-9]",
            ));
        }
        let bridge_ok = (1..=15).contains(&self.bridge.len())
            && self
                .bridge
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-');
        if !bridge_ok {
            return Err(invalid(
                "bridge name",
                &self.bridge,
                "is not 1 to 15 of [a-z0-9_-]",
            ));
        }
        if let Some(s) = self.subnets.iter().find(|s| s.prefix_len() == 0) {
            return Err(invalid("subnet", &s.to_string(), "covers every address"));
        }
        Ok(())
    }
}

fn nat_chain(n: &NetworkRules) -> String {
    format!("nat-{}", n.id)
}

fn fwd_chain(n: &NetworkRules) -> String {
    format!("fwd-{}", n.id)
}

fn dns_chain(n: &NetworkRules) -> String {
    format!("dns-{}", n.id)
}

/// The nat map of a subnet's family, and the subnet as nft writes it.
fn subnet_key(s: &IpNet) -> (&'static str, String) {
    match s {
        IpNet::V4(_) => ("nat4", s.trunc().to_string()),
        IpNet::V6(_) => ("nat6", s.trunc().to_string()),
    }
}

/// `ip` or `ip6`, and the family's multicast range.
fn family(s: &IpNet) -> (&'static str, &'static str) {
    match s {
        IpNet::V4(_) => ("ip", "224.0.0.0/4"),
        IpNet::V6(_) => ("ip6", "ff00::/8"),
    }
}

/// Add `n`'s chains and elements, or bring them to what `n` says.
pub(super) fn add(b: &mut Batch, n: &NetworkRules) {
    let br = &n.bridge;
    let nat = nat_chain(n);
    let mut nat_rules = Vec::new();
    for s in n.subnets.iter().filter(|_| !n.internal) {
        let (ip, multicast) = family(s);
        let net = s.trunc();
        nat_rules.push(format!(
            "{ip} saddr {net} {ip} daddr {net} ct status dnat masquerade"
        ));
        nat_rules.push(format!(
            "{ip} saddr {net} {ip} daddr != {{ {net}, {multicast} }} masquerade"
        ));
    }
    b.chain_with(&nat, &nat_rules);
    for s in &n.subnets {
        let (map, net) = subnet_key(s);
        b.add_element(map, &format!("{net} : jump {nat}"));
    }

    let fwd = fwd_chain(n);
    let mut fwd_rules = Vec::new();
    if n.internal {
        fwd_rules.push(format!("iifname \"{br}\" oifname != \"{br}\" drop"));
        fwd_rules.push(format!("oifname \"{br}\" iifname != \"{br}\" drop"));
    }
    // DNATed traffic (a port published by another network, reached
    // through the host) passes, as podman lets it.
    let others = match n.isolation {
        Isolation::Off => None,
        Isolation::On => Some("@isolated"),
        Isolation::Strict => Some("@bridges"),
    };
    if let Some(set) = others {
        fwd_rules.push(format!(
            "iifname \"{br}\" oifname != \"{br}\" ct status ! dnat oifname {set} drop"
        ));
    }
    b.chain_with(&fwd, &fwd_rules);
    b.add_element("forward_bridges", &format!("\"{br}\" : jump {fwd}"));
    b.add_element("bridges", &format!("\"{br}\""));
    let quoted = format!("\"{br}\"");
    if n.isolation == Isolation::Off {
        b.ensure_absent("isolated", &quoted, &quoted);
    } else {
        b.add_element("isolated", &quoted);
    }

    let dns = dns_chain(n);
    let dns_element = format!("{quoted} : jump {dns}");
    if n.dns {
        let rules: Vec<String> = n
            .subnets
            .iter()
            .map(|s| {
                let (ip, _) = family(s);
                let net = s.trunc();
                format!("{ip} saddr {net} meta l4proto {{ tcp, udp }} th dport 53 accept")
            })
            .collect();
        b.chain_with(&dns, &rules);
        b.add_element("dns_bridges", &dns_element);
    } else {
        b.declare_chain(&dns);
        b.ensure_absent("dns_bridges", &quoted, &dns_element);
        b.ensure_no_chain(&dns);
    }
}

/// What removes `n`, in pieces that can also go one by one: the elements
/// first, then the chains they jumped to.
pub(super) fn remove(n: &NetworkRules) -> Vec<Batch> {
    let quoted = format!("\"{}\"", n.bridge);
    let (nat, fwd, dns) = (nat_chain(n), fwd_chain(n), dns_chain(n));
    let mut pieces = Vec::new();
    let mut piece = |chain: Option<&str>, map: &str, key: &str, element: String| {
        let mut b = Batch::default();
        if let Some(c) = chain {
            b.declare_chain(c);
        }
        b.ensure_absent(map, key, &element);
        pieces.push(b);
    };
    for s in &n.subnets {
        let (map, net) = subnet_key(s);
        piece(Some(&nat), map, &net, format!("{net} : jump {nat}"));
    }
    piece(
        Some(&fwd),
        "forward_bridges",
        &quoted,
        format!("{quoted} : jump {fwd}"),
    );
    piece(
        Some(&dns),
        "dns_bridges",
        &quoted,
        format!("{quoted} : jump {dns}"),
    );
    piece(None, "bridges", &quoted, quoted.clone());
    piece(None, "isolated", &quoted, quoted.clone());
    for chain in [nat, fwd, dns] {
        let mut b = Batch::default();
        b.ensure_no_chain(&chain);
        pieces.push(b);
    }
    pieces
}
