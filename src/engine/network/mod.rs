//! Networks: `network create|ls|inspect|rm|prune|exists|reload`, the
//! default network, and where their bridges live.
//!
//! Root's bridges live in the host's network namespace. A rootless user's
//! live in one network namespace of skiff's own (made inside skiff's user
//! and mount namespaces, bind-mounted on `<runroot>/networks/rootless/netns`),
//! which pasta connects to the outside: the same bridge code runs there.
//!
//! A network's bridge, its gateway address and its firewall chains exist
//! only while some container is attached; the last one to leave takes
//! them away (`attach`).

pub mod attach;
pub mod mode;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use chrono::Utc;
use ipnet::IpNet;

use crate::config::paths::Privilege;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::network::ipam;
use crate::state::container::NetworkMode;
use crate::state::network::{validate_name, NetworkRecord, NetworkStore, Subnet, DEFAULT_NETWORK};

/// Typed options of `network create`.
#[derive(Debug, Clone, Default)]
pub struct NetworkCreateOptions {
    /// A name is generated when none is given.
    pub name: Option<String>,
    /// `bridge` (the only driver).
    pub driver: Option<String>,
    pub subnets: Vec<String>,
    pub gateways: Vec<IpAddr>,
    pub ip_ranges: Vec<String>,
    pub internal: bool,
    pub ipv6: bool,
    pub disable_dns: bool,
    pub labels: BTreeMap<String, String>,
    /// `--opt`: `mtu`, `isolate` (`true`, `strict`), `vlan` is refused.
    pub options: BTreeMap<String, String>,
    /// `--interface-name`: the bridge's name.
    pub interface_name: Option<String>,
    /// `--ignore`: an existing network of that name is fine.
    pub ignore: bool,
}

/// The bridge names skiff gives: `skiff0` for the default network,
/// `skiffN` for others.
const BRIDGE_PREFIX: &str = "skiff";

fn invalid(e: impl std::fmt::Display) -> ContainerError {
    ContainerError::Invalid(e.to_string())
}

/// Whether `name` may be used as an interface name.
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

impl Engine {
    /// The network records of this store.
    pub fn networks(&self) -> Result<NetworkStore, ContainerError> {
        let p = self.paths();
        Ok(NetworkStore::open(&p.root, &p.runroot)?)
    }

    /// Where this user's bridges live: `None` for the host's namespace
    /// (root), the rootless network namespace's file otherwise.
    pub fn bridge_netns(&self) -> Option<PathBuf> {
        match self.privilege() {
            Privilege::Root => None,
            Privilege::Rootless => Some(attach::rootless_dir(self).join(attach::NETNS)),
        }
    }

    /// Subnets that are in use: routed where the bridges live, or held by
    /// a network record.
    fn taken_subnets(&self, store: &NetworkStore) -> Result<Vec<IpNet>, ContainerError> {
        let mut taken: Vec<IpNet> = store
            .list()?
            .iter()
            .flat_map(|n| n.subnets.iter().map(|s| s.subnet))
            .collect();
        let routes = attach::in_bridge_netns(self, || {
            crate::network::netlink::Netlink::open().and_then(|mut nl| nl.routes())
        })?
        .map_err(|e| invalid(format!("reading the routing table: {e}")))?;
        taken.extend(
            routes
                .into_iter()
                .filter_map(|r| IpNet::new(r.dst, r.prefix).ok().map(|n| n.trunc())),
        );
        Ok(taken)
    }

    /// A bridge name no network has and no link uses.
    fn free_bridge_name(&self, store: &NetworkStore) -> Result<String, ContainerError> {
        let records = store.list()?;
        let links = attach::in_bridge_netns(self, || {
            crate::network::netlink::Netlink::open().and_then(|mut nl| nl.links())
        })?
        .map_err(|e| invalid(format!("listing the network interfaces: {e}")))?;
        (1u32..10_000)
            .map(|i| format!("{BRIDGE_PREFIX}{i}"))
            .find(|n| {
                !records.iter().any(|r| &r.network_interface == n)
                    && !links.iter().any(|l| &l.name == n)
            })
            .ok_or_else(|| invalid("no free bridge name is left"))
    }

    /// Create a network.
    pub fn create_network(
        &self,
        opts: &NetworkCreateOptions,
    ) -> Result<NetworkRecord, ContainerError> {
        let driver = opts.driver.as_deref().unwrap_or("bridge");
        if driver != "bridge" {
            return Err(invalid(format!(
                "unsupported driver {driver}: skiff has the bridge driver only"
            )));
        }
        for (k, v) in &opts.options {
            match k.as_str() {
                "mtu" => {
                    let ok = v.parse::<u32>().is_ok_and(|m| (68..=65535).contains(&m));
                    if !ok {
                        return Err(invalid(format!(
                            "invalid mtu {v:?}: give a number of bytes from 68 to 65535"
                        )));
                    }
                }
                "isolate" => {
                    if !matches!(v.as_str(), "true" | "false" | "strict") {
                        return Err(invalid(format!(
                            "invalid isolate option {v:?}: use true, false or strict"
                        )));
                    }
                }
                other => {
                    return Err(invalid(format!(
                        "unsupported bridge network option {other}: skiff knows mtu and isolate"
                    )))
                }
            }
        }
        if opts.gateways.len() > opts.subnets.len() || opts.ip_ranges.len() > opts.subnets.len() {
            return Err(invalid(
                "--gateway and --ip-range need a --subnet each, given in the same order",
            ));
        }
        if let Some(i) = &opts.interface_name {
            if !valid_ifname(i) {
                return Err(invalid(format!(
                    "invalid interface name {i:?}: at most 15 letters, digits, - or _"
                )));
            }
        }
        let mut subnets = Vec::new();
        for (i, text) in opts.subnets.iter().enumerate() {
            let net: IpNet = text.parse().map_err(|_| {
                invalid(format!(
                    "invalid subnet {text:?}: give a CIDR such as 10.5.0.0/24"
                ))
            })?;
            let net = net.trunc();
            let max = if net.network().is_ipv4() { 30 } else { 126 };
            if net.prefix_len() > max {
                return Err(invalid(format!("subnet {net} is too small for a network")));
            }
            let gateway = match opts.gateways.get(i) {
                Some(g) if !ipam::usable(&net, *g) => {
                    return Err(invalid(format!(
                        "gateway {g} is not a host address of {net}"
                    )))
                }
                Some(g) => *g,
                None => ipam::first_host(&net)
                    .ok_or_else(|| invalid(format!("subnet {net} has no address for a gateway")))?,
            };
            let lease_range = opts
                .ip_ranges
                .get(i)
                .map(|r| ipam::parse_range(&net, r).map_err(invalid))
                .transpose()?;
            subnets.push(Subnet {
                subnet: net,
                gateway: Some(gateway),
                lease_range,
            });
        }
        let store = self.networks()?;
        let _lock = store.lock()?;
        let name = match &opts.name {
            Some(n) => {
                validate_name(n).map_err(invalid)?;
                if n == DEFAULT_NETWORK || n == "none" || n == "host" || n == "bridge" {
                    return Err(invalid(format!(
                        "network name {n} is reserved: choose another"
                    )));
                }
                if let Some(existing) = store.get(n)? {
                    if opts.ignore {
                        return Ok(existing);
                    }
                    return Err(invalid(format!(
                        "network name {n} already used: network already exists"
                    )));
                }
                n.clone()
            }
            None => (1..10_000)
                .map(|i| format!("skiff{i}"))
                .find(|n| store.get(n).ok().flatten().is_none())
                .ok_or_else(|| invalid("no free network name is left"))?,
        };
        let taken = self.taken_subnets(&store)?;
        for s in &subnets {
            if let Some(t) = taken
                .iter()
                .find(|t| t.prefix_len() > 0 && ipam::overlaps(&s.subnet, t))
            {
                return Err(invalid(format!(
                    "subnet {} is already used on the host or by another network ({t})",
                    s.subnet
                )));
            }
        }
        // Without --subnet an IPv4 one is picked (a network given only
        // IPv6 subnets stays IPv6 only).
        if subnets.is_empty() {
            let net = ipam::pick_subnet(ipam::user_candidates(), &taken).ok_or_else(|| {
                invalid("no free subnet is left in 10.89.0.0-10.255.255.0: give --subnet")
            })?;
            subnets.insert(
                0,
                Subnet {
                    subnet: net,
                    gateway: ipam::first_host(&net),
                    lease_range: None,
                },
            );
        }
        if opts.ipv6 && !subnets.iter().any(|s| !s.subnet.network().is_ipv4()) {
            let net = ipam::pick_subnet(ipam::v6_candidates(), &taken)
                .ok_or_else(|| invalid("no free IPv6 subnet found: give --subnet"))?;
            subnets.push(Subnet {
                subnet: net,
                gateway: ipam::first_host(&net),
                lease_range: None,
            });
        }
        let interface = match &opts.interface_name {
            Some(i) => {
                if store.list()?.iter().any(|r| &r.network_interface == i) {
                    return Err(invalid(format!(
                        "bridge name {i} already used by another network"
                    )));
                }
                i.clone()
            }
            None => self.free_bridge_name(&store)?,
        };
        let rec = NetworkRecord {
            name,
            id: crate::state::names::new_id().map_err(invalid)?,
            driver: "bridge".into(),
            network_interface: interface,
            created: Utc::now(),
            ipv6_enabled: subnets.iter().any(|s| !s.subnet.network().is_ipv4()),
            subnets,
            internal: opts.internal,
            dns_enabled: !opts.disable_dns,
            labels: opts.labels.clone(),
            options: opts.options.clone(),
            ipam_options: BTreeMap::from([("driver".into(), "host-local".into())]),
        };
        store.put(&rec)?;
        Ok(rec)
    }

    /// The default network's record, made (and written) the first time it
    /// is needed; the caller holds the network lock.
    fn default_network_locked(
        &self,
        store: &NetworkStore,
    ) -> Result<NetworkRecord, ContainerError> {
        if let Some(r) = store.get(DEFAULT_NETWORK)? {
            return Ok(r);
        }
        let taken = self.taken_subnets(store)?;
        let net = ipam::pick_subnet(ipam::default_candidates(), &taken)
            .ok_or_else(|| invalid("no free subnet for the default network"))?;
        let rec = NetworkRecord {
            name: DEFAULT_NETWORK.into(),
            // podman's default network has this id too.
            id: {
                use sha2::Digest as _;
                hex::encode(sha2::Sha256::digest(DEFAULT_NETWORK.as_bytes()))
            },
            driver: "bridge".into(),
            network_interface: format!("{BRIDGE_PREFIX}0"),
            created: Utc::now(),
            subnets: vec![Subnet {
                subnet: net,
                gateway: ipam::first_host(&net),
                lease_range: None,
            }],
            ipv6_enabled: false,
            internal: false,
            // As podman's default network.
            dns_enabled: false,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            ipam_options: BTreeMap::from([("driver".into(), "host-local".into())]),
        };
        store.put(&rec)?;
        Ok(rec)
    }

    /// A network by name, id or id prefix (the default network always
    /// exists).
    pub fn find_network(&self, input: &str) -> Result<NetworkRecord, ContainerError> {
        let store = self.networks()?;
        if input == DEFAULT_NETWORK {
            if let Some(r) = store.get(input)? {
                return Ok(r);
            }
            let _lock = store.lock()?;
            return self.default_network_locked(&store);
        }
        store.lookup(input).map_err(invalid)?.ok_or_else(|| {
            invalid(format!(
                "unable to find network with name or ID {input}: network not found"
            ))
        })
    }

    /// Every network, the default one included, by name.
    pub fn list_networks(&self) -> Result<Vec<NetworkRecord>, ContainerError> {
        let store = self.networks()?;
        if store.get(DEFAULT_NETWORK)?.is_none() {
            let _lock = store.lock()?;
            self.default_network_locked(&store)?;
        }
        Ok(store.list()?)
    }

    /// The containers attached to `network` (by record, whatever their
    /// state).
    pub fn network_users(
        &self,
        network: &str,
    ) -> Result<Vec<crate::state::container::ContainerRecord>, ContainerError> {
        Ok(self
            .containers()?
            .list()?
            .into_iter()
            .filter(|c| match &c.config.network {
                NetworkMode::Bridge(a) => a.iter().any(|a| a.network == network),
                _ => false,
            })
            .collect())
    }

    /// Remove a network; with `force` its containers go first.
    pub fn remove_network(
        &self,
        input: &str,
        force: bool,
        timeout: Option<u64>,
    ) -> Result<String, ContainerError> {
        let rec = self.find_network(input)?;
        if rec.name == DEFAULT_NETWORK {
            return Err(invalid(format!(
                "default network {DEFAULT_NETWORK} cannot be removed"
            )));
        }
        let users = self.network_users(&rec.name)?;
        if !users.is_empty() {
            if !force {
                return Err(invalid(format!(
                    "network {} is being used by {}: remove them first or use --force",
                    rec.name,
                    users
                        .iter()
                        .map(|u| u.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            for u in &users {
                self.remove_container(
                    &u.id,
                    crate::engine::container::remove::RemoveOptions {
                        force: true,
                        timeout,
                        depend: true,
                        infra: false,
                        volumes: false,
                    },
                )?;
            }
        }
        let store = self.networks()?;
        let _lock = store.lock()?;
        attach::remove_bridge(self, &rec);
        store.remove(&rec.name)?;
        Ok(rec.name)
    }

    /// Remove every network no container uses (not the default one);
    /// returns their names.
    pub fn prune_networks(
        &self,
        keep: &dyn Fn(&NetworkRecord) -> bool,
    ) -> Result<Vec<String>, ContainerError> {
        let mut removed = Vec::new();
        for n in self.networks()?.list()? {
            if n.name == DEFAULT_NETWORK || keep(&n) || !self.network_users(&n.name)?.is_empty() {
                continue;
            }
            removed.push(self.remove_network(&n.name, false, None)?);
        }
        Ok(removed)
    }
}

impl Engine {
    /// A container's record, read again under its lock (held until the
    /// guard goes).
    fn locked_container(
        &self,
        container: &str,
    ) -> Result<
        (
            crate::state::ContainerStore,
            crate::storage::lock::LockGuard,
            crate::state::container::ContainerRecord,
        ),
        ContainerError,
    > {
        let found = self.find_container(container)?;
        let store = self.containers()?.clone();
        let lock = store.lock(&found.id)?;
        let rec = store
            .get(&found.id)?
            .ok_or_else(|| crate::state::StateError::NoSuchContainer(container.to_string()))?;
        Ok((store, lock, rec))
    }

    /// Put a container on one more network (`network connect`); a running
    /// container is attached at once.
    pub fn connect_network(
        &self,
        network: &str,
        container: &str,
        mut wish: crate::state::container::NetworkAttachment,
    ) -> Result<(), ContainerError> {
        let n = self.find_network(network)?;
        let (store, _lock, mut rec) = self.locked_container(container)?;
        let NetworkMode::Bridge(attached) = &rec.config.network else {
            return Err(invalid(format!(
                "container {} uses the network mode {}, which cannot be connected to networks",
                rec.name,
                rec.config.network.display()
            )));
        };
        if attached.iter().any(|a| a.network == n.name) {
            return Err(invalid(format!(
                "container {} is already connected to network {}",
                rec.name, n.name
            )));
        }
        if attached.len() >= 16 {
            return Err(invalid("a container can be on at most 16 networks"));
        }
        wish.network = n.name.clone();
        if let Some(m) = &wish.mac {
            attach::parse_mac(m).map_err(invalid)?;
        }
        let index = attached.len();
        if rec.state.status.is_live() {
            let rundir = store.rundir(&rec.id);
            let nets = self.networks()?;
            let status = {
                let _nlock = nets.lock()?;
                let mut routes = (true, true);
                let r = self.attach_one(
                    &rec,
                    &nets,
                    &n,
                    &wish,
                    index,
                    &rundir.join(attach::NETNS),
                    &mut routes,
                );
                if r.is_err() {
                    self.detach_one(&rec, &nets, &n.name, false);
                }
                r?
            };
            rec.state.networks.insert(n.name.clone(), status);
        }
        if let NetworkMode::Bridge(attached) = &mut rec.config.network {
            attached.push(wish);
        }
        store.put(&rec)?;
        Ok(())
    }

    /// Take a container off a network (`network disconnect`).
    pub fn disconnect_network(&self, network: &str, container: &str) -> Result<(), ContainerError> {
        let n = self.find_network(network)?;
        let (store, _lock, mut rec) = self.locked_container(container)?;
        let NetworkMode::Bridge(attached) = &rec.config.network else {
            return Err(invalid(format!(
                "container {} is not connected to network {}",
                rec.name, n.name
            )));
        };
        let Some(pos) = attached.iter().position(|a| a.network == n.name) else {
            return Err(invalid(format!(
                "container {} is not connected to network {}",
                rec.name, n.name
            )));
        };
        if rec.state.status.is_live() {
            let nets = self.networks()?;
            let _nlock = nets.lock()?;
            if self.detach_one(&rec, &nets, &n.name, pos == 0) {
                self.sync_dns_server()?;
            }
            rec.state.networks.remove(&n.name);
        }
        if let NetworkMode::Bridge(attached) = &mut rec.config.network {
            attached.remove(pos);
            // podman leaves such a container with no network at all.
            if attached.is_empty() {
                rec.config.network = NetworkMode::None;
            }
        }
        store.put(&rec)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_fit_the_kernel() {
        assert!(valid_ifname("skiff12"));
        assert!(!valid_ifname("a-very-long-name-x"));
        assert!(!valid_ifname("a b"));
        assert!(!valid_ifname(""));
    }
}
