//! The firewall of root bridge networks: one nftables table, `inet skiff`,
//! that skiff owns alone and changes through the `nft` command.
//!
//! Every change is one text batch on nft's standard input (`nft -f -`),
//! which the kernel applies as one transaction: all of it or nothing. The
//! JSON input of nft 1.0.6 (Debian 12) crashes on the maps used here, so
//! text it is; only validated values (parsed addresses, numbers, names of a
//! fixed alphabet) are ever written into it.
//!
//! What a network or a published port adds is a set of map elements and
//! chains named after the network's id, never a rule found by its handle:
//! removing them after a crash needs only what the records say (bridge,
//! id, subnets, addresses, ports), and nothing else's rules are touched.
//! Other tables (iptables-nft's, firewalld's) are left alone, and so is
//! the rest of the ruleset; an accept here does not overrule a drop there
//! (Docker's forward policy, say). The layout is described in `batch.rs`.
//!
//! The caller provides what belongs to the bridge itself: forwarding on,
//! `route_localnet=1` on the bridge (for ports published on 127.0.0.1) and
//! hairpin mode on each port of the bridge (a container reaching its own
//! published port through the host).

mod batch;
mod networks;
mod nft;
mod ports;

use std::net::IpAddr;

use ipnet::IpNet;

use crate::state::container::PortMapping;
use batch::{Batch, Table};
use ports::Check;

/// Traffic between a network and skiff's other bridges, as podman's
/// `--opt isolate=` sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Isolation {
    /// Other networks can be reached (podman's default).
    #[default]
    Off,
    /// `isolate=true`: no traffic to other isolated networks.
    On,
    /// `isolate=strict`: no traffic to any other skiff bridge.
    Strict,
}

/// A bridge network's share of the firewall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRules {
    /// The network's short id (`[a-z0-9]`, at most 64): names its chains.
    pub id: String,
    /// The bridge's interface name (`[a-z0-9_-]`, at most 15).
    pub bridge: String,
    pub subnets: Vec<IpNet>,
    /// No way in or out: traffic is forwarded only between the bridge's
    /// own ports, and nothing is masqueraded.
    pub internal: bool,
    pub isolation: Isolation,
    /// Accept DNS queries (udp and tcp 53) from the subnets to the host,
    /// as netavark does for its resolver.
    pub dns: bool,
}

/// The ports published to one container on one network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRules {
    /// The container's addresses on the network, at most one per family.
    /// A port published on all host addresses goes to each of them; one
    /// published on a given host address goes to the address of its
    /// family.
    pub addrs: Vec<IpAddr>,
    /// `host_ip` is empty for every address of the host, `0.0.0.0` for
    /// every IPv4 one and `::` for every IPv6 one. Host ports must be
    /// chosen (not 0). A host port and address go to one container only.
    pub ports: Vec<PortMapping>,
}

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error("root bridge networks need the nft command (Debian package nftables)")]
    NftMissing,
    #[error("firewall: {what} {value:?} {why}")]
    Invalid {
        what: &'static str,
        value: String,
        why: &'static str,
    },
    #[error("firewall: run {path}")]
    Spawn {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("firewall: {step}: {message}")]
    Nft { step: String, message: String },
}

/// Make the firewall match `n`: the table and its base chains are created
/// when missing, then the network's chains and elements. Running it again
/// with the same description changes nothing; a changed isolation or DNS
/// setting replaces the old one.
pub fn add_network(n: &NetworkRules) -> Result<(), FirewallError> {
    n.validate()?;
    let mut b = Batch::default();
    batch::skeleton(&mut b, Table::Create);
    networks::add(&mut b, n);
    nft::run(&format!("add network {}", n.bridge), &b.text())
}

/// Remove what [`add_network`] added; what is already gone is fine, and
/// so is a missing table (which this does not create again). The ports
/// published on the network are removed by [`remove_ports`] first.
pub fn remove_network(n: &NetworkRules) -> Result<(), FirewallError> {
    n.validate()?;
    teardown(&format!("remove network {}", n.bridge), networks::remove(n))
}

/// Publish a container's ports. A host port and address that already go
/// to another address are refused.
pub fn add_ports(p: &PortRules) -> Result<(), FirewallError> {
    let elements = ports::elements(p, Check::Strict)?;
    let mut b = Batch::default();
    batch::skeleton(&mut b, Table::Create);
    ports::add(&mut b, &elements);
    nft::run(&ports_step("publish", p), &b.text())
}

/// Withdraw a container's published ports; what is already gone is fine,
/// a host port that now goes to another address stays as it is, and a
/// mapping that [`add_ports`] would refuse is passed over (none of it can
/// be in the table: publishing is all or nothing).
pub fn remove_ports(p: &PortRules) -> Result<(), FirewallError> {
    let elements = ports::elements(p, Check::Lenient)?;
    teardown(&ports_step("withdraw", p), ports::remove(&elements))
}

/// Build the whole table again in one transaction (after someone flushed
/// the ruleset, or to start clean): skiff's table is deleted if present,
/// then every network and every container's ports are added.
pub fn reload(networks: &[NetworkRules], ports: &[PortRules]) -> Result<(), FirewallError> {
    let mut b = Batch::default();
    batch::skeleton(&mut b, Table::Recreate);
    for n in networks {
        n.validate()?;
        networks::add(&mut b, n);
    }
    let mut all = Vec::new();
    for p in ports {
        all.extend(ports::elements(p, Check::Strict)?);
    }
    ports::add(&mut b, &all);
    nft::run("reload", &b.text())
}

/// Remove skiff's whole table; a missing one is fine.
pub fn remove_table() -> Result<(), FirewallError> {
    nft::run("remove the table", &batch::table_removal())
}

/// Remove `pieces` in one transaction. When that fails and the table is
/// there, each piece goes alone: a key that another network or container
/// holds now is left to it, and other failures are collected while the
/// rest goes on.
fn teardown(step: &str, pieces: Vec<Batch>) -> Result<(), FirewallError> {
    let with_skeleton = |pieces: &[Batch]| {
        let mut b = Batch::default();
        batch::skeleton(&mut b, Table::Existing);
        for p in pieces {
            b.append(p);
        }
        b.text()
    };
    match nft::run(step, &with_skeleton(&pieces)) {
        Err(FirewallError::Nft { .. }) if !nft::table_exists()? => return Ok(()),
        Err(FirewallError::Nft { .. }) => {}
        other => return other,
    }
    // A table nft cannot even complete fails every piece the same way.
    nft::run(step, &with_skeleton(&[]))?;
    let mut failures = Vec::new();
    for piece in &pieces {
        match nft::run(step, &with_skeleton(std::slice::from_ref(piece))) {
            Err(FirewallError::Nft { message, .. }) if !nft::held_elsewhere(&message) => {
                failures.push(message);
            }
            Err(e @ (FirewallError::NftMissing | FirewallError::Spawn { .. })) => return Err(e),
            _ => {}
        }
    }
    match failures.len() {
        0 => Ok(()),
        n => Err(FirewallError::Nft {
            step: step.to_string(),
            message: match n {
                1 => failures.swap_remove(0),
                _ => format!("{} (and {} more)", failures[0], n - 1),
            },
        }),
    }
}

fn ports_step(verb: &str, p: &PortRules) -> String {
    let addrs: Vec<String> = p.addrs.iter().map(IpAddr::to_string).collect();
    format!("{verb} ports of {}", addrs.join(" and "))
}

fn invalid(what: &'static str, value: &str, why: &'static str) -> FirewallError {
    FirewallError::Invalid {
        what,
        value: value.to_string(),
        why,
    }
}

#[cfg(test)]
mod netns_tests;
#[cfg(test)]
mod testnet;
#[cfg(test)]
mod tests;
