//! The options of `--network slirp4netns:OPT=VALUE,...` (podman's names),
//! checked at create, and the addresses they give the container.

use std::net::{IpAddr, Ipv4Addr};

use crate::state::container::SlirpOptions;

/// The MTU podman gives slirp4netns (slirp4netns's own default is 1500).
pub const DEFAULT_MTU: u32 = 65520;
/// The network slirp4netns uses without `cidr=`.
const DEFAULT_NETWORK: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 0, 2, 0), 24);

/// Parse the text after `slirp4netns:` (podman's option names).
pub fn parse_options(text: &str) -> Result<SlirpOptions, String> {
    let mut o = SlirpOptions {
        allow_host_loopback: false,
        enable_ipv6: true,
        cidr: None,
        mtu: DEFAULT_MTU,
        outbound_addr: None,
        outbound_addr6: None,
    };
    for item in text.split(',').filter(|s| !s.is_empty()) {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not OPTION=VALUE"))?;
        match key {
            "allow_host_loopback" => o.allow_host_loopback = boolean(key, value)?,
            "enable_ipv6" => o.enable_ipv6 = boolean(key, value)?,
            "cidr" => {
                let (net, prefix) = parse_cidr(value)?;
                o.cidr = Some(format!("{net}/{prefix}"));
            }
            "mtu" => {
                o.mtu = value
                    .parse()
                    .ok()
                    .filter(|m| (68..=65521).contains(m))
                    .ok_or_else(|| format!("mtu={value}: the MTU must be from 68 to 65521"))?;
            }
            "outbound_addr" => o.outbound_addr = Some(outbound(key, value, false)?),
            "outbound_addr6" => o.outbound_addr6 = Some(outbound(key, value, true)?),
            "port_handler" => match value {
                "slirp4netns" => {}
                "rootlesskit" => {
                    return Err(
                        "port_handler=rootlesskit is not available: skiff publishes ports through slirp4netns itself (port_handler=slirp4netns)"
                            .into(),
                    )
                }
                _ => {
                    return Err(format!(
                        "port_handler={value}: the only port handler is slirp4netns"
                    ))
                }
            },
            _ => {
                return Err(format!(
                    "unknown option {key:?} (the options are allow_host_loopback, enable_ipv6, cidr, mtu, outbound_addr, outbound_addr6 and port_handler)"
                ))
            }
        }
    }
    if o.outbound_addr6.is_some() && !o.enable_ipv6 {
        return Err("outbound_addr6 needs enable_ipv6=true".into());
    }
    Ok(o)
}

/// A boolean as podman reads one (Go's strconv.ParseBool).
fn boolean(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("{key}={value}: use true or false")),
    }
}

/// `ADDRESS/PREFIX`: an IPv4 network address with a prefix slirp4netns
/// takes (1 to 25, so that the container's .100 fits).
fn parse_cidr(value: &str) -> Result<(Ipv4Addr, u8), String> {
    let bad = || format!("cidr={value}: use an IPv4 network such as 10.0.2.0/24");
    let (addr, prefix) = value.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let prefix: u8 = prefix.parse().map_err(|_| bad())?;
    if !(1..=25).contains(&prefix) {
        return Err(format!(
            "cidr={value}: the prefix length must be from 1 to 25"
        ));
    }
    let mask = u32::MAX << (32 - u32::from(prefix));
    if u32::from(addr) & !mask != 0 {
        return Err(format!(
            "cidr={value}: give the network's address ({}/{prefix}), not a host's",
            Ipv4Addr::from(u32::from(addr) & mask)
        ));
    }
    Ok((addr, prefix))
}

/// An outbound address of the right family, or an interface name
/// (resolved at each start).
fn outbound(key: &str, value: &str, v6: bool) -> Result<String, String> {
    match value.parse::<IpAddr>() {
        Ok(ip) if ip.is_ipv6() == v6 => Ok(ip.to_string()),
        Ok(_) => Err(format!(
            "{key}={value}: give an {} address or an interface name",
            if v6 { "IPv6" } else { "IPv4" }
        )),
        Err(_) => {
            let ok = !value.is_empty()
                && value.len() < 16
                && value != "."
                && value != ".."
                && value
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'/' && b != b':');
            if ok {
                Ok(value.to_string())
            } else {
                Err(format!(
                    "{key}={value}: neither an address nor an interface name"
                ))
            }
        }
    }
}

/// The addresses the container sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// The container's own (network + 100).
    pub guest: Ipv4Addr,
    /// The host (network + 2).
    pub gateway: Ipv4Addr,
    /// slirp4netns's DNS forwarder (network + 3).
    pub dns: Ipv4Addr,
}

/// What the container sees with `opts`.
pub fn addresses(opts: &SlirpOptions) -> Addresses {
    let (net, _) = opts
        .cidr
        .as_deref()
        .and_then(|c| parse_cidr(c).ok())
        .unwrap_or(DEFAULT_NETWORK);
    let at = |n: u32| Ipv4Addr::from(u32::from(net).wrapping_add(n));
    Addresses {
        guest: at(100),
        gateway: at(2),
        dns: at(3),
    }
}

/// The host address an `outbound_addr*` value names now: the value itself,
/// or the interface's first address of the family (not link-local).
pub(super) fn resolve_outbound(value: &str, v6: bool) -> Result<String, String> {
    if value.parse::<IpAddr>().is_ok() {
        return Ok(value.to_string());
    }
    let found = nix::ifaddrs::getifaddrs().ok().and_then(|mut addrs| {
        addrs.find_map(|a| {
            if a.interface_name != value {
                return None;
            }
            let sa = a.address?;
            if v6 {
                let ip = sa.as_sockaddr_in6()?.ip();
                ((ip.segments()[0] & 0xffc0) != 0xfe80).then(|| ip.to_string())
            } else {
                Some(sa.as_sockaddr_in()?.ip().to_string())
            }
        })
    });
    found.ok_or_else(|| {
        format!(
            "slirp4netns:{}={value}: there is no interface {value} with an {} address",
            if v6 {
                "outbound_addr6"
            } else {
                "outbound_addr"
            },
            if v6 { "IPv6" } else { "IPv4" }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_take_podmans_names_and_defaults() {
        let o = parse_options("").expect("defaults");
        assert_eq!(
            o,
            SlirpOptions {
                allow_host_loopback: false,
                enable_ipv6: true,
                cidr: None,
                mtu: 65520,
                outbound_addr: None,
                outbound_addr6: None,
            }
        );
        let o = parse_options(
            "allow_host_loopback=true,enable_ipv6=false,cidr=10.41.0.0/16,mtu=1500,outbound_addr=eth0,port_handler=slirp4netns",
        )
        .expect("valid");
        assert!(o.allow_host_loopback && !o.enable_ipv6);
        assert_eq!(o.cidr.as_deref(), Some("10.41.0.0/16"));
        assert_eq!(o.mtu, 1500);
        assert_eq!(o.outbound_addr.as_deref(), Some("eth0"));
        let o = parse_options("outbound_addr=192.0.2.2,outbound_addr6=fd00::2").expect("valid");
        assert_eq!(o.outbound_addr6.as_deref(), Some("fd00::2"));
    }

    #[test]
    fn bad_options_are_refused_with_the_reason() {
        for (bad, why) in [
            ("nope=1", "unknown option \"nope\""),
            ("mtu", "not OPTION=VALUE"),
            ("allow_host_loopback=yes", "use true or false"),
            ("port_handler=rootlesskit", "rootlesskit is not available"),
            ("port_handler=other", "only port handler"),
            ("cidr=10.0.2.0", "IPv4 network"),
            ("cidr=fd00::/64", "IPv4 network"),
            ("cidr=10.0.2.0/26", "from 1 to 25"),
            ("cidr=10.0.2.100/24", "(10.0.2.0/24)"),
            ("mtu=67", "from 68 to 65521"),
            ("mtu=65522", "from 68 to 65521"),
            ("outbound_addr=fd00::2", "IPv4 address"),
            ("outbound_addr6=192.0.2.2", "IPv6 address"),
            ("outbound_addr=a/b", "neither"),
            (
                "enable_ipv6=false,outbound_addr6=fd00::2",
                "needs enable_ipv6",
            ),
        ] {
            let e = parse_options(bad).expect_err(bad);
            assert!(e.contains(why), "{bad}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn addresses_follow_the_network() {
        let o = parse_options("").expect("defaults");
        assert_eq!(
            addresses(&o),
            Addresses {
                guest: Ipv4Addr::new(10, 0, 2, 100),
                gateway: Ipv4Addr::new(10, 0, 2, 2),
                dns: Ipv4Addr::new(10, 0, 2, 3),
            }
        );
        let o = parse_options("cidr=172.31.128.0/17").expect("valid");
        assert_eq!(addresses(&o).guest, Ipv4Addr::new(172, 31, 128, 100));
        assert_eq!(addresses(&o).dns, Ipv4Addr::new(172, 31, 128, 3));
    }
}
