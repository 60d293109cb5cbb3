//! Attaching a container to its bridge networks at start and detaching it
//! when its resources are released.
//!
//! At start the container gets a network namespace bind-mounted on `netns`
//! in its run directory. Under the network lock, for each network: the
//! bridge is made if it is not there (its gateway address, sysctls and
//! firewall chains with it), an address is leased, a veth pair joins the
//! bridge to the namespace (the inside end named eth0, eth1, ...), the
//! addresses and the default route are set inside, the published ports
//! get their firewall elements and, on networks with DNS, the container's
//! names go to the network's resolver.
//!
//! Detaching is computed from the container's id and configuration alone
//! (the host end of each veth is named after the id; the leases hold the
//! addresses), so it works after a crash and is idempotent: `rm -f` after
//! `kill -9` of the monitor, a failed start and a normal exit all take the
//! same path. The last container to leave a network takes its bridge and
//! chains away; for a rootless user the last one to leave any network
//! also stops the rootless network namespace.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::config::paths::Privilege;
use crate::engine::container::usernet;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::network::firewall::{self, Isolation, NetworkRules, PortRules};
use crate::network::netlink::{self, Netlink};
use crate::network::{dns, ipam};
use crate::state::container::{
    ContainerRecord, NetworkAttachment, NetworkMode, NetworkStatus, Status,
};
use crate::state::network::{NetworkRecord, NetworkStore};

/// The namespace file, in a container's run directory and in the rootless
/// network namespace's directory.
pub const NETNS: &str = "netns";

/// The search domain of names on networks with DNS (podman's).
pub const DNS_DOMAIN: &str = "dns.podman";

fn invalid(e: impl std::fmt::Display) -> ContainerError {
    ContainerError::Invalid(e.to_string())
}

/// The directory of the rootless network namespace (and its pasta).
pub fn rootless_dir(engine: &Engine) -> PathBuf {
    engine.paths().runroot.join("networks").join("rootless")
}

/// The resolvers' configuration directory.
fn dns_dir(engine: &Engine) -> PathBuf {
    engine.paths().runroot.join("networks").join("dns")
}

/// Run `f` where this user's bridges live: on this thread for root, on a
/// thread inside the rootless network namespace otherwise (or here, in
/// the host's namespace, while there is none: it copies the host's
/// addresses and routes).
pub fn in_bridge_netns<T: Send>(
    engine: &Engine,
    f: impl FnOnce() -> T + Send,
) -> Result<T, ContainerError> {
    match engine.bridge_netns() {
        Some(ns) if ns.exists() => netlink::in_netns(&ns, f)
            .map_err(|e| invalid(format!("entering {}: {e}", ns.display()))),
        _ => Ok(f()),
    }
}

/// Make sure the rootless network namespace exists and pasta connects it.
fn ensure_rootless_netns(engine: &Engine) -> Result<(), ContainerError> {
    let dir = rootless_dir(engine);
    let ns = dir.join(NETNS);
    let pid_alive = usernet::read_pid(&dir.join(crate::engine::container::pasta::PID_FILE))
        .is_some_and(|p| usernet::is_helper(p, &["pasta", "passt"]));
    if ns.exists() && pid_alive {
        return Ok(());
    }
    crate::config::paths::ensure_private_dir(&dir)
        .map_err(|e| invalid(format!("creating {}: {e}", dir.display())))?;
    crate::engine::container::pasta::spawn(&dir, &[], &[], false)
        .map_err(invalid)?
        .wait()
        .map_err(|e| invalid(format!("connecting the rootless network namespace: {e}")))?;
    // Forwarding between the bridges and pasta's interface.
    netlink::in_netns(&ns, || {
        netlink::set_sysctl("net/ipv4/ip_forward", "1")?;
        let _ = netlink::set_sysctl("net/ipv6/conf/all/forwarding", "1");
        Ok::<(), std::io::Error>(())
    })
    .map_err(|e| invalid(e.to_string()))?
    .map_err(|e| {
        invalid(format!(
            "enabling forwarding in the rootless network namespace: {e}"
        ))
    })
}

/// The name of the host end of a container's veth on `network`: derived
/// from both, so teardown needs no record of it.
pub fn host_veth(id: &str, network: &str) -> String {
    use sha2::Digest as _;
    let h = hex::encode(sha2::Sha256::digest(network.as_bytes()));
    format!("sk{}{}", &id[..8.min(id.len())], &h[..5])
}

fn firewall_rules(n: &NetworkRecord) -> NetworkRules {
    NetworkRules {
        id: n.firewall_id().to_string(),
        bridge: n.network_interface.clone(),
        subnets: n.subnets.iter().map(|s| s.subnet).collect(),
        internal: n.internal,
        isolation: match n.isolate() {
            Some("true") => Isolation::On,
            Some("strict") => Isolation::Strict,
            _ => Isolation::Off,
        },
        dns: n.dns_enabled,
    }
}

/// The host's resolvers, for a network's resolver to forward to: those in
/// the host's resolv.conf (root, whose resolver runs in the host's
/// namespace and reaches loopback ones too), or pasta's forwarder.
fn upstream_servers(engine: &Engine) -> Vec<IpAddr> {
    if engine.privilege() == Privilege::Rootless {
        return crate::engine::container::pasta::DNS_FORWARD
            .parse()
            .into_iter()
            .collect();
    }
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver"))
                .then(|| w.next()?.parse().ok())
                .flatten()
        })
        .collect()
}

/// The bridge of `n`, its gateway addresses, sysctls and firewall chains
/// (kept if already there). `first`: no other container is on the
/// network, so they may be missing; otherwise the bridge is only looked
/// up (they come and go together, under the network lock, and `network
/// reload` restores rules someone else flushed).
fn ensure_bridge(n: &NetworkRecord, first: bool) -> Result<u32, String> {
    let mut nl = Netlink::open().map_err(|e| e.to_string())?;
    if !first {
        if let Some(index) = nl
            .link_index(&n.network_interface)
            .map_err(|e| e.to_string())?
        {
            return Ok(index);
        }
    }
    let index = nl
        .ensure_bridge(&n.network_interface, n.mtu())
        .map_err(|e| e.to_string())?;
    for s in &n.subnets {
        if let Some(gw) = s.gateway {
            nl.add_address(index, gw, s.subnet.prefix_len())
                .map_err(|e| format!("adding {gw} to {}: {e}", n.network_interface))?;
        }
    }
    let br = &n.network_interface;
    let sysctl =
        |k: &str, v: &str| netlink::set_sysctl(k, v).map_err(|e| format!("setting {k}: {e}"));
    if n.subnets.iter().any(|s| s.subnet.network().is_ipv4()) {
        sysctl("net/ipv4/ip_forward", "1")?;
        // Published ports on 127.0.0.1 are forwarded to the bridge.
        sysctl(
            &format!("net/ipv4/conf/{br}/route_localnet"),
            if n.internal { "0" } else { "1" },
        )?;
    }
    if n.ipv6_enabled {
        sysctl("net/ipv6/conf/all/forwarding", "1")?;
        let _ = netlink::set_sysctl(&format!("net/ipv6/conf/{br}/accept_dad"), "0");
    }
    firewall::add_network(&firewall_rules(n)).map_err(|e| e.to_string())?;
    Ok(index)
}

/// Remove the bridge of `n` and its firewall chains (nothing attached).
pub fn remove_bridge(engine: &Engine, n: &NetworkRecord) {
    let result = in_bridge_netns(engine, || {
        if let Err(e) = firewall::remove_network(&firewall_rules(n)) {
            tracing::warn!("removing the firewall rules of network {}: {e}", n.name);
        }
        match Netlink::open().and_then(|mut nl| nl.delete_link_named(&n.network_interface)) {
            Ok(()) => {}
            Err(e) => tracing::warn!("removing bridge {}: {e}", n.network_interface),
        }
    });
    if let Err(e) = result {
        tracing::warn!("{e}");
    }
}

/// The published ports of `rec`, forwarded to `addrs`, for the firewall.
fn port_rules(rec: &ContainerRecord, addrs: &[IpAddr]) -> PortRules {
    PortRules {
        addrs: addrs.to_vec(),
        ports: rec.config.ports.clone(),
    }
}

fn attachments(rec: &ContainerRecord) -> &[NetworkAttachment] {
    match &rec.config.network {
        NetworkMode::Bridge(a) => a,
        _ => &[],
    }
}

/// The pid file of a container's port forwarder, in its run directory.
const FORWARD_PID: &str = "forward.pid";

/// Start the process relaying a rootless container's published ports
/// from the host into the rootless network namespace (`network::forward`);
/// returns once every port is bound, or with its error.
fn start_forwarder(
    engine: &Engine,
    rec: &ContainerRecord,
    rundir: &Path,
    addrs: &[IpAddr],
) -> Result<(), ContainerError> {
    use crate::network::forward::Forward;
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let v4 = addrs.iter().find(|a| a.is_ipv4());
    let v6 = addrs.iter().find(|a| a.is_ipv6());
    let mut forwards = Vec::new();
    for m in &rec.config.ports {
        let host_ip: Option<IpAddr> = match m.host_ip.as_str() {
            "" | "0.0.0.0" => None,
            ip => Some(
                ip.parse()
                    .map_err(|_| invalid(format!("invalid host address {ip}")))?,
            ),
        };
        let target = match host_ip {
            Some(IpAddr::V6(_)) => v6.or(v4),
            _ => v4.or(v6),
        }
        .ok_or_else(|| invalid(format!("{} has no address to forward ports to", rec.name)))?;
        for (c, h) in m.pairs() {
            forwards.push(Forward {
                udp: m.protocol == crate::state::container::Protocol::Udp,
                host_ip,
                host_port: h,
                target: std::net::SocketAddr::new(*target, c),
            });
        }
    }
    let exe =
        std::env::current_exe().map_err(|e| invalid(format!("finding skiff's own binary: {e}")))?;
    let netns = rootless_dir(engine).join(NETNS);
    let mut child = std::process::Command::new(exe)
        .arg("port-forward")
        .arg(&netns)
        .args(forwards.iter().map(Forward::to_arg))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        // Not in the caller's process group: a terminal's hangup is not
        // the container's.
        .process_group(0)
        .spawn()
        .map_err(|e| invalid(format!("starting the port forwarder: {e}")))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    if line.trim() != "ok" {
        let _ = child.kill();
        let _ = child.wait();
        let why = line.trim();
        return Err(invalid(if why.is_empty() {
            "the port forwarder failed".to_string()
        } else {
            why.to_string()
        }));
    }
    crate::storage::record::replace_volatile(
        &rundir.join(FORWARD_PID),
        child.id().to_string().as_bytes(),
    )
    .map_err(|e| invalid(format!("recording the port forwarder's pid: {e}")))
}

/// Stop a container's port forwarder, if it runs (checked by its command
/// line, so a reused pid is left alone).
fn stop_forwarder(rundir: &Path) {
    let pid_file = rundir.join(FORWARD_PID);
    let pid = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|p| *p > 1);
    if let Some(pid) = pid {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("port-forward") {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let _ = std::fs::remove_file(pid_file);
}

/// Parse a MAC address `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || format!("invalid MAC address {s:?}: use six hex bytes such as 92:d0:c6:0a:29:33");
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (m, p) in mac.iter_mut().zip(parts) {
        if p.len() != 2 {
            return Err(bad());
        }
        *m = u8::from_str_radix(p, 16).map_err(|_| bad())?;
    }
    if mac[0] & 1 == 1 {
        return Err(format!(
            "invalid MAC address {s:?}: it is a multicast address"
        ));
    }
    Ok(mac)
}

fn mac_text(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Engine {
    /// Whether the lease holder `id` is gone: no record, or not running
    /// and not being started right now (a start holds the container's
    /// lock throughout).
    fn lease_is_stale(&self, id: &str) -> bool {
        let Ok(store) = self.containers() else {
            return false;
        };
        match store.get(id) {
            Ok(None) => true,
            Ok(Some(r)) if !r.state.status.is_live() => {
                let lock = store.lock_path(id);
                matches!(
                    crate::storage::lock::try_lock(
                        &lock,
                        crate::storage::lock::LockMode::Exclusive
                    ),
                    Ok(Some(_))
                )
            }
            _ => false,
        }
    }

    /// Connect `rec` (being started, its lock held) to its networks in the
    /// namespace bound at `rundir/netns`, made here. On failure everything
    /// done is undone.
    pub fn attach_networks(
        &self,
        rec: &ContainerRecord,
        rundir: &Path,
    ) -> Result<BTreeMap<String, NetworkStatus>, ContainerError> {
        let store = self.networks()?;
        let result = (|| {
            let _lock = store.lock()?;
            let netns = rundir.join(NETNS);
            crate::sys::netns::remove_bound(&netns).ok();
            crate::sys::netns::create_bound(&netns).map_err(|e| {
                invalid(format!(
                    "creating a network namespace on {}: {e}",
                    netns.display()
                ))
            })?;
            if self.privilege() == Privilege::Rootless {
                ensure_rootless_netns(self)?;
            }
            let mut out = BTreeMap::new();
            let mut default_route = (false, false);
            for (i, a) in attachments(rec).iter().enumerate() {
                let n = store.get(&a.network)?.ok_or_else(|| {
                    invalid(format!(
                        "network {} is gone: connect the container to another",
                        a.network
                    ))
                })?;
                let status = self.attach_one(rec, &store, &n, a, i, &netns, &mut default_route)?;
                out.insert(n.name.clone(), status);
            }
            Ok(out)
        })();
        if result.is_err() {
            self.detach_networks(rec, rundir);
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn attach_one(
        &self,
        rec: &ContainerRecord,
        store: &NetworkStore,
        n: &NetworkRecord,
        a: &NetworkAttachment,
        index: usize,
        netns: &Path,
        default_route: &mut (bool, bool),
    ) -> Result<NetworkStatus, ContainerError> {
        let leases = store.leases(&n.name);
        let first = leases.all().iter().all(|(_, holder)| holder == &rec.id);
        let stale = |id: &str| self.lease_is_stale(id);
        let mut addrs: Vec<(IpAddr, u8)> = Vec::new();
        let mut gateways = Vec::new();
        for s in &n.subnets {
            let fixed = a.ips.iter().find(|ip| s.subnet.contains(*ip));
            let addr = match fixed {
                Some(ip) => {
                    ipam::claim_static(&leases, s, *ip, &rec.id, &stale).map_err(invalid)?;
                    *ip
                }
                None => ipam::allocate(&leases, s, &rec.id, &stale).map_err(invalid)?,
            };
            addrs.push((addr, s.subnet.prefix_len()));
            gateways.extend(s.gateway);
        }
        if let Some(ip) = a
            .ips
            .iter()
            .find(|ip| !n.subnets.iter().any(|s| s.subnet.contains(*ip)))
        {
            return Err(invalid(format!(
                "the address {ip} is not in a subnet of network {}",
                n.name
            )));
        }
        let mac = match &a.mac {
            Some(m) => parse_mac(m).map_err(invalid)?,
            None => netlink::random_mac()
                .map_err(|e| invalid(format!("choosing a MAC address: {e}")))?,
        };
        let ifname = a.interface.clone().unwrap_or_else(|| {
            // The first ethN no other network of the container has.
            (index..)
                .map(|i| format!("eth{i}"))
                .find(|n| !rec.state.networks.values().any(|s| &s.interface == n))
                .unwrap_or_else(|| format!("eth{index}"))
        });
        let host = host_veth(&rec.id, &n.name);
        let ns_file = std::fs::File::open(netns)
            .map_err(|e| invalid(format!("opening {}: {e}", netns.display())))?;
        let plain: Vec<IpAddr> = addrs.iter().map(|(a, _)| *a).collect();
        let rootless = self.privilege() == Privilege::Rootless;
        in_bridge_netns(self, || -> Result<(), String> {
            let bridge = ensure_bridge(n, first)?;
            let mut nl = Netlink::open().map_err(|e| e.to_string())?;
            let _ = nl.delete_link_named(&host);
            nl.add_veth(&host, &ifname, ns_file.as_fd(), bridge, n.mtu(), Some(mac))
                .map_err(|e| format!("connecting to bridge {}: {e}", n.network_interface))?;
            if !rec.config.ports.is_empty() && index == 0 && !rootless {
                firewall::add_ports(&port_rules(rec, &plain)).map_err(|e| e.to_string())?;
            }
            Ok(())
        })?
        .map_err(invalid)?;
        if !rec.config.ports.is_empty() && index == 0 && rootless {
            let rundir = netns.parent().unwrap_or(netns);
            start_forwarder(self, rec, rundir, &plain)?;
        }
        // Inside the container's namespace.
        let mut nl = Netlink::open_in(netns)
            .map_err(|e| invalid(format!("entering the container's network namespace: {e}")))?;
        let inside = (|| -> std::io::Result<()> {
            if let Some(lo) = nl.link_index("lo")? {
                nl.set_up(lo)?;
            }
            let idx = nl
                .link_index(&ifname)?
                .ok_or_else(|| std::io::Error::other(format!("{ifname} did not appear")))?;
            for (addr, prefix) in &addrs {
                nl.add_address(idx, *addr, *prefix)?;
            }
            nl.set_up(idx)?;
            if !n.internal {
                for gw in &gateways {
                    let slot = if gw.is_ipv4() {
                        &mut default_route.0
                    } else {
                        &mut default_route.1
                    };
                    if !*slot {
                        nl.add_route(None, Some(*gw), idx)?;
                        *slot = true;
                    }
                }
            }
            Ok(())
        })();
        inside.map_err(|e| invalid(format!("configuring {ifname} of {}: {e}", rec.name)))?;
        if n.dns_enabled {
            let mut names = vec![rec.name.clone()];
            names.extend(a.aliases.iter().cloned());
            names.push(rec.short_id().to_string());
            let entry = dns::Entry {
                id: rec.id.clone(),
                v4: plain.iter().find_map(|a| match a {
                    IpAddr::V4(v) => Some(*v),
                    IpAddr::V6(_) => None,
                }),
                v6: plain.iter().find_map(|a| match a {
                    IpAddr::V6(v) => Some(*v),
                    IpAddr::V4(_) => None,
                }),
                names,
            };
            let dir = dns_dir(self);
            crate::config::paths::ensure_private_dir(&dir)
                .map_err(|e| invalid(format!("creating {}: {e}", dir.display())))?;
            dns::add_entry(&dir, &n.name, &gateways, &upstream_servers(self), &entry).map_err(
                |e| {
                    invalid(format!(
                        "registering {} with the resolver of {}: {e}",
                        rec.name, n.name
                    ))
                },
            )?;
            self.sync_dns_server()?;
        }
        Ok(NetworkStatus {
            interface: ifname,
            mac: mac_text(mac),
            addresses: addrs,
            gateways,
        })
    }

    /// Start, reload or stop the resolver of this user's networks.
    pub(crate) fn sync_dns_server(&self) -> Result<(), ContainerError> {
        let dir = dns_dir(self);
        let exe = std::env::current_exe()
            .map_err(|e| invalid(format!("finding skiff's own binary: {e}")))?;
        let mut args: Vec<std::ffi::OsString> = vec!["dns-server".into()];
        args.push(dir.clone().into());
        in_bridge_netns(self, || dns::sync_server(&dir, &exe, &args))?
            .map_err(|e| invalid(format!("running the network resolver: {e}")))
    }

    /// Disconnect `rec` from its networks and remove its namespace file.
    /// Idempotent; errors are logged.
    pub fn detach_networks(&self, rec: &ContainerRecord, rundir: &Path) {
        let Ok(store) = self.networks() else { return };
        let Ok(_lock) = store.lock() else { return };
        // Whether this call finds anything attached (a second release of
        // the same run finds nothing and leaves the rest alone).
        let attached = attachments(rec)
            .iter()
            .any(|a| !store.leases(&a.network).of(&rec.id).is_empty());
        let mut dns_changed = false;
        for (i, a) in attachments(rec).iter().enumerate() {
            dns_changed |= self.detach_one(rec, &store, &a.network, i == 0);
        }
        if dns_changed {
            if let Err(e) = self.sync_dns_server() {
                tracing::warn!("{e}");
            }
        }
        if let Err(e) = crate::sys::netns::remove_bound(&rundir.join(NETNS)) {
            tracing::warn!("removing {}: {e}", rundir.join(NETNS).display());
        }
        if attached && self.no_leases_left(&store) {
            // Nothing attached anywhere: skiff's table goes too, and a
            // rootless user's network namespace with its pasta.
            match self.privilege() {
                Privilege::Root => {
                    if let Err(e) = firewall::remove_table() {
                        tracing::warn!("removing skiff's firewall table: {e}");
                    }
                }
                Privilege::Rootless => {
                    crate::engine::container::pasta::teardown(&rootless_dir(self))
                }
            }
        }
    }

    /// Take `rec` off `network` (the caller holds the network lock);
    /// `ports`: its published ports are on this network. Returns whether
    /// the resolver's entries changed.
    pub(crate) fn detach_one(
        &self,
        rec: &ContainerRecord,
        store: &NetworkStore,
        network: &str,
        ports: bool,
    ) -> bool {
        let Ok(Some(n)) = store.get(network) else {
            return false;
        };
        let leases = store.leases(&n.name);
        let addrs = leases.of(&rec.id);
        let host = host_veth(&rec.id, &n.name);
        let rootless = self.privilege() == Privilege::Rootless;
        // Leases go last: holding none, the container was detached
        // already (its links and rules went first); for a rootless user
        // without the namespace of bridges, they went with it.
        let gone = addrs.is_empty() || (rootless && !self.bridge_netns_exists());
        if ports && rootless {
            if let Ok(store) = self.containers() {
                stop_forwarder(&store.rundir(&rec.id));
            }
        }
        let result = in_bridge_netns(self, || {
            if gone {
                return;
            }
            if let Ok(mut nl) = Netlink::open() {
                if let Err(e) = nl.delete_link_named(&host) {
                    tracing::warn!("removing {host}: {e}");
                }
            }
            if ports && !rec.config.ports.is_empty() && !addrs.is_empty() && !rootless {
                if let Err(e) = firewall::remove_ports(&port_rules(rec, &addrs)) {
                    tracing::warn!("removing the published ports of {}: {e}", rec.name);
                }
            }
        });
        if let Err(e) = result {
            tracing::warn!("{e}");
        }
        leases.release_all(&rec.id);
        let mut dns_changed = false;
        if n.dns_enabled {
            match dns::remove_entry(&dns_dir(self), &n.name, &rec.id) {
                Ok(()) => dns_changed = true,
                Err(e) => tracing::warn!("removing {} from the resolver: {e}", rec.name),
            }
        }
        if leases.is_empty() && !gone {
            remove_bridge(self, &n);
        }
        dns_changed
    }

    /// Whether the namespace this user's bridges live in is there (always,
    /// for root: the host's).
    fn bridge_netns_exists(&self) -> bool {
        self.bridge_netns().is_none_or(|ns| ns.exists())
    }

    fn no_leases_left(&self, store: &NetworkStore) -> bool {
        store
            .list()
            .map(|l| l.iter().all(|n| store.leases(&n.name).is_empty()))
            .unwrap_or(false)
    }

    /// Whether `rec` is attached to bridge networks now (for teardown).
    pub fn has_bridge_networks(rec: &ContainerRecord) -> bool {
        matches!(rec.config.network, NetworkMode::Bridge(_))
    }

    /// Rebuild the firewall rules of every network with running
    /// containers and of their published ports (`network reload`).
    pub fn reload_firewall(&self) -> Result<Vec<String>, ContainerError> {
        let store = self.networks()?;
        let _lock = store.lock()?;
        let networks = store.list()?;
        let mut nets = Vec::new();
        let mut ports = Vec::new();
        let mut reloaded = Vec::new();
        for c in self.containers()?.list()? {
            if c.state.status != Status::Running && c.state.status != Status::Paused {
                continue;
            }
            if let Some(first) = attachments(&c).first() {
                if let Some(n) = networks.iter().find(|n| n.name == first.network) {
                    let addrs = store.leases(&n.name).of(&c.id);
                    if !c.config.ports.is_empty() && !addrs.is_empty() {
                        ports.push(port_rules(&c, &addrs));
                    }
                }
                reloaded.push(c.id.clone());
            }
        }
        for n in &networks {
            if !store.leases(&n.name).is_empty() {
                nets.push(firewall_rules(n));
            }
        }
        in_bridge_netns(self, || firewall::reload(&nets, &ports))?.map_err(invalid)?;
        Ok(reloaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_fit_and_follow_the_id() {
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let a = host_veth(id, "podman");
        assert!(a.starts_with("sk01234567") && a.len() == 15, "{a}");
        assert_ne!(a, host_veth(id, "n1"));
        assert_eq!(a, host_veth(id, "podman"));
    }

    #[test]
    fn macs_are_checked() {
        assert_eq!(
            parse_mac("92:d0:c6:0a:29:33").expect("mac"),
            [0x92, 0xd0, 0xc6, 0x0a, 0x29, 0x33]
        );
        assert!(parse_mac("01:00:5e:00:00:01").is_err());
        assert!(parse_mac("92:d0:c6:0a:29").is_err());
        assert_eq!(
            mac_text([0x92, 0xd0, 0xc6, 0x0a, 0x29, 0x33]),
            "92:d0:c6:0a:29:33"
        );
    }
}
