//! The files a container's network identity lives in: /etc/hosts,
//! /etc/resolv.conf and /etc/hostname, written in its run directory at
//! each start and bind-mounted over the image's (podman's layout).
//!
//! - hosts: the `--add-host` entries, then the host's /etc/hosts, then
//!   `host.containers.internal` (the host's first address), then, with a
//!   network namespace of its own, the container's hostname and name on
//!   127.0.0.1 (slirp4netns: on the container's address). `--no-hosts`
//!   leaves the image's file alone.
//! - resolv.conf: `--dns*`, else the host's lines; loopback name servers
//!   are dropped where they cannot be reached (a namespace of its own).
//!   A container without a network (`none`) gets none, as with podman.
//! - hostname: the container's hostname.
//!
//! With `container:NAME` the other container's files are used.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::engine::container::userns::write_container_file;
use crate::state::container::{ContainerConfig, DnsConfig, HostEntry, NetworkMode};

pub const HOSTS: &str = "hosts";
pub const RESOLV_CONF: &str = "resolv.conf";
pub const HOSTNAME: &str = "hostname";

/// What /etc/hosts gets; `own` is the container's address, hostname and
/// name.
pub fn hosts(
    base: &str,
    add: &[HostEntry],
    host_address: Option<IpAddr>,
    own: Option<(&str, &str)>,
    own_address: Option<IpAddr>,
) -> String {
    let mut out = String::new();
    for e in add {
        let _ = writeln!(out, "{}\t{}", e.ip, e.names.join(" "));
    }
    for line in base.lines() {
        let line = line.trim_end();
        if !line.is_empty() {
            out.push_str(line);
            out.push('\n');
        }
    }
    if let Some(ip) = host_address {
        let _ = writeln!(out, "{ip}\thost.containers.internal");
    }
    if let Some((hostname, name)) = own {
        let addr = own_address.map_or("127.0.0.1".to_string(), |a| a.to_string());
        if hostname == name {
            let _ = writeln!(out, "{addr}\t{hostname}");
        } else {
            let _ = writeln!(out, "{addr}\t{hostname} {name}");
        }
    }
    out
}

/// What /etc/resolv.conf gets: `dns` over the host's `base`; loopback
/// servers dropped unless `loopback_reachable`; `net`'s servers (a
/// forwarder of the network's, such as pasta's, or the resolvers of the
/// container's networks) ahead of the host's, and its search domains
/// ahead of the host's.
pub fn resolv_conf(
    base: &str,
    dns: &DnsConfig,
    loopback_reachable: bool,
    net: &NetFacts,
) -> String {
    let mut servers: Vec<String> = Vec::new();
    let mut search: Vec<String> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    for line in base.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => servers.extend(words.next().map(str::to_string)),
            Some("search") | Some("domain") => {
                search = words.map(str::to_string).collect();
            }
            Some("options") => options.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    if !dns.servers.is_empty() {
        servers = dns.servers.iter().map(IpAddr::to_string).collect();
    } else {
        if !loopback_reachable {
            servers.retain(|s| s.parse::<IpAddr>().map_or(true, |ip| !ip.is_loopback()));
        }
        servers.retain(|s| !net.servers.contains(s));
        servers.splice(0..0, net.servers.iter().cloned());
    }
    if !dns.search.is_empty() {
        // "." alone means no search domains at all.
        search = dns.search.iter().filter(|s| *s != ".").cloned().collect();
    } else {
        search.retain(|s| !net.search.contains(s));
        search.splice(0..0, net.search.iter().cloned());
    }
    if !dns.options.is_empty() {
        options = dns.options.clone();
    }
    let mut out = String::new();
    if !search.is_empty() {
        let _ = writeln!(out, "search {}", search.join(" "));
    }
    for s in servers {
        let _ = writeln!(out, "nameserver {s}");
    }
    if !options.is_empty() {
        let _ = writeln!(out, "options {}", options.join(" "));
    }
    out
}

/// The host's first address that is neither loopback nor link-local,
/// IPv4 first (what host.containers.internal names).
pub fn host_address() -> Option<IpAddr> {
    let addrs: Vec<IpAddr> = nix::ifaddrs::getifaddrs()
        .ok()?
        .filter_map(|a| {
            let sa = a.address?;
            if let Some(v4) = sa.as_sockaddr_in() {
                Some(IpAddr::V4(v4.ip()))
            } else {
                sa.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            }
        })
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local(),
            IpAddr::V6(v6) => !v6.is_loopback() && (v6.segments()[0] & 0xffc0) != 0xfe80,
        })
        .collect();
    addrs
        .iter()
        .find(|ip| ip.is_ipv4())
        .or(addrs.first())
        .copied()
}

/// What a container's network says about its files.
#[derive(Debug, Clone, Default)]
pub struct NetFacts {
    /// Name servers that come first (pasta's forwarder, the resolvers of
    /// the container's networks).
    pub servers: Vec<String>,
    /// Search domains that come first.
    pub search: Vec<String>,
    /// The container's own address, for its names (else 127.0.0.1).
    pub own_address: Option<IpAddr>,
    /// What host.containers.internal names (none: no such line).
    pub host_address: Option<IpAddr>,
}

impl NetFacts {
    /// The facts of modes with nothing of their own: the host's first
    /// address for host.containers.internal.
    pub fn plain() -> NetFacts {
        NetFacts {
            host_address: host_address(),
            ..NetFacts::default()
        }
    }

    /// pasta: its DNS forwarder first; it gives the container the host's
    /// own addresses, so the host's first address would name the
    /// container itself.
    pub fn pasta() -> NetFacts {
        NetFacts {
            servers: vec![crate::engine::container::pasta::DNS_FORWARD.into()],
            ..NetFacts::default()
        }
    }

    /// slirp4netns: its DNS forwarder first, the container's own address
    /// for its names, and the gateway for host.containers.internal when
    /// it leads to the host's loopback (podman's choices).
    pub fn slirp(o: &crate::state::container::SlirpOptions) -> NetFacts {
        let a = crate::engine::container::slirp::addresses(o);
        NetFacts {
            servers: vec![a.dns.to_string()],
            search: Vec::new(),
            own_address: Some(IpAddr::V4(a.guest)),
            host_address: if o.allow_host_loopback {
                Some(IpAddr::V4(a.gateway))
            } else {
                host_address()
            },
        }
    }
}

/// The files a container gets, written into `dir`: (file name, path in
/// the container) of each, for bind mounts. `hostname` is the container's;
/// `name` its name.
pub fn write(
    dir: &Path,
    c: &ContainerConfig,
    hostname: &str,
    name: &str,
    owner: Option<(u32, u32)>,
    net: &NetFacts,
) -> std::io::Result<Vec<(PathBuf, &'static str)>> {
    let put = |path: &Path, text: &str| write_container_file(path, text.as_bytes(), owner);
    let mut out = Vec::new();
    let own_netns = !matches!(c.network, NetworkMode::Host);
    if !c.no_hosts {
        let base = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let own = own_netns.then_some((hostname, name));
        let text = hosts(&base, &c.add_hosts, net.host_address, own, net.own_address);
        let path = dir.join(HOSTS);
        put(&path, &text)?;
        out.push((path, "/etc/hosts"));
    }
    if c.network != NetworkMode::None {
        let base = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let text = resolv_conf(&base, &c.dns, !own_netns, net);
        let path = dir.join(RESOLV_CONF);
        put(&path, &text)?;
        out.push((path, "/etc/resolv.conf"));
    }
    let path = dir.join(HOSTNAME);
    put(&path, &format!("{hostname}\n"))?;
    out.push((path, "/etc/hostname"));
    Ok(out)
}

/// `--add-host NAME[;NAME...]:IP` (an IPv6 address may be bracketed).
pub fn parse_add_host(arg: &str) -> Result<HostEntry, String> {
    let (names, ip) = arg
        .split_once(':')
        .ok_or_else(|| format!("invalid --add-host {arg:?}: use NAME:IP"))?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| format!("invalid --add-host {arg:?}: {ip:?} is not an IP address"))?;
    let names: Vec<String> = names.split(';').map(str::to_string).collect();
    for n in &names {
        let ok = !n.is_empty()
            && n.len() <= 253
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if !ok {
            return Err(format!(
                "invalid --add-host {arg:?}: {n:?} is not a host name"
            ));
        }
    }
    Ok(HostEntry { names, ip })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_puts_added_entries_first_and_the_container_last() {
        let add = [parse_add_host("foo;bar:1.2.3.4").expect("valid")];
        let text = hosts(
            "# comment\n127.0.0.1 localhost\n\n",
            &add,
            Some("192.0.2.2".parse().expect("ip")),
            Some(("hh", "web")),
            None,
        );
        assert_eq!(
            text,
            "1.2.3.4\tfoo bar\n# comment\n127.0.0.1 localhost\n192.0.2.2\thost.containers.internal\n127.0.0.1\thh web\n"
        );
        // On a bridge: its own address.
        let text = hosts("", &[], None, Some(("c1", "c1")), "10.89.0.2".parse().ok());
        assert_eq!(text, "10.89.0.2\tc1\n");
    }

    #[test]
    fn resolv_conf_takes_the_users_settings_over_the_hosts() {
        let host =
            "search corp.example\nnameserver 127.0.0.53\nnameserver 10.0.0.1\noptions edns0\n";
        assert_eq!(
            resolv_conf(host, &DnsConfig::default(), false, &NetFacts::default()),
            "search corp.example\nnameserver 10.0.0.1\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf(host, &DnsConfig::default(), true, &NetFacts::default()),
            "search corp.example\nnameserver 127.0.0.53\nnameserver 10.0.0.1\noptions edns0\n"
        );
        let dns = DnsConfig {
            servers: vec!["9.9.9.9".parse().expect("ip")],
            search: vec![".".into()],
            options: vec!["ndots:2".into()],
        };
        assert_eq!(
            resolv_conf(host, &dns, false, &NetFacts::default()),
            "nameserver 9.9.9.9\noptions ndots:2\n"
        );
    }

    #[test]
    fn pastas_forwarder_comes_first() {
        let host = "search a\nnameserver 10.0.0.1\nnameserver 169.254.1.1\noptions x\n";
        assert_eq!(
            resolv_conf(host, &DnsConfig::default(), false, &NetFacts::pasta()),
            "search a\nnameserver 169.254.1.1\nnameserver 10.0.0.1\noptions x\n"
        );
        assert_eq!(
            resolv_conf("", &DnsConfig::default(), false, &NetFacts::pasta()),
            "nameserver 169.254.1.1\n"
        );
    }

    #[test]
    fn network_resolvers_and_their_domain_come_first() {
        let host = "search a\nnameserver 10.0.0.1\n";
        let net = NetFacts {
            servers: vec!["10.89.0.1".into()],
            search: vec!["dns.podman".into()],
            ..NetFacts::default()
        };
        assert_eq!(
            resolv_conf(host, &DnsConfig::default(), false, &net),
            "search dns.podman a\nnameserver 10.89.0.1\nnameserver 10.0.0.1\n"
        );
    }

    #[test]
    fn add_host_is_checked() {
        let e = parse_add_host("db:[::1]").expect("v6");
        assert_eq!(e.ip, "::1".parse::<IpAddr>().expect("ip"));
        for bad in ["nohost", "x:1.2.3", ":1.2.3.4", "a b:1.2.3.4"] {
            assert!(parse_add_host(bad).is_err(), "{bad}");
        }
    }
}
