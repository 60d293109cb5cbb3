//! Address management: which subnet a new network gets and which address
//! a container gets on a network.
//!
//! A subnet is never one the host already routes (another engine may use
//! 10.88.0.0/16) nor one another network of skiff's has; an address is
//! never one a live container holds. The caller holds the network lock
//! (`state::network`), so concurrent invocations see each other's choices.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::state::network::{LeaseRange, Leases, Subnet};

/// Whether two subnets share any address.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first candidate that overlaps nothing in `taken`. Default routes
/// in `taken` are ignored (they cover everything).
pub fn pick_subnet(candidates: impl IntoIterator<Item = IpNet>, taken: &[IpNet]) -> Option<IpNet> {
    let taken: Vec<&IpNet> = taken.iter().filter(|t| t.prefix_len() > 0).collect();
    candidates
        .into_iter()
        .find(|c| !taken.iter().any(|t| overlaps(c, t)))
}

/// Subnets for the default network: podman's 10.88.0.0/16 first.
pub fn default_candidates() -> impl Iterator<Item = IpNet> {
    std::iter::once(88u8)
        .chain(90..=99)
        .filter_map(|b| Ipv4Net::new(Ipv4Addr::new(10, b, 0, 0), 16).ok())
        .map(IpNet::V4)
}

/// Subnets for new networks, as podman hands them out: 10.89.0.0/24,
/// 10.89.1.0/24, ... up to 10.255.255.0/24.
pub fn user_candidates() -> impl Iterator<Item = IpNet> {
    (89u8..=255)
        .flat_map(|b| (0u8..=255).map(move |c| (b, c)))
        .filter_map(|(b, c)| Ipv4Net::new(Ipv4Addr::new(10, b, c, 0), 24).ok())
        .map(IpNet::V4)
}

/// IPv6 subnets for new networks: /64s of a unique local prefix chosen
/// at random (RFC 4193), a few to pick from.
pub fn v6_candidates() -> Vec<IpNet> {
    let r = crate::state::names::random_bytes::<5>().unwrap_or([0x5c, 0x1f, 0, 0, 0]);
    (0u16..16)
        .filter_map(|i| {
            let a = Ipv6Addr::new(
                0xfd00 | u16::from(r[0]),
                u16::from_be_bytes([r[1], r[2]]),
                u16::from_be_bytes([r[3], r[4]]),
                i,
                0,
                0,
                0,
                0,
            );
            Ipv6Net::new(a, 64).ok().map(IpNet::V6)
        })
        .collect()
}

/// The first address after the network's own: podman's gateway.
pub fn first_host(net: &IpNet) -> Option<IpAddr> {
    step(net.network(), 1).filter(|a| usable(net, *a))
}

/// Whether `a` may be given to a host on `net` (inside it, not the
/// network's address, not the IPv4 broadcast).
pub fn usable(net: &IpNet, a: IpAddr) -> bool {
    if !net.contains(&a) || a == net.network() {
        return false;
    }
    match net {
        IpNet::V4(n) => n.prefix_len() >= 31 || a != IpAddr::V4(n.broadcast()),
        IpNet::V6(_) => true,
    }
}

fn step(a: IpAddr, by: u128) -> Option<IpAddr> {
    match a {
        IpAddr::V4(v) => u32::from(v)
            .checked_add(u32::try_from(by).ok()?)
            .map(|n| IpAddr::V4(n.into())),
        IpAddr::V6(v) => u128::from(v).checked_add(by).map(|n| IpAddr::V6(n.into())),
    }
}

fn as_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(v).into(),
        IpAddr::V6(v) => v.into(),
    }
}

/// Parse `--ip-range`: a CIDR inside the subnet, or `FIRST-LAST`.
pub fn parse_range(subnet: &IpNet, text: &str) -> Result<LeaseRange, String> {
    let bad = || format!("invalid --ip-range {text:?}: give a CIDR or FIRST-LAST inside {subnet}");
    let (start, end) = if let Some((a, b)) = text.split_once('-') {
        let a: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let b: IpAddr = b.trim().parse().map_err(|_| bad())?;
        (a, b)
    } else {
        let n: IpNet = text.parse().map_err(|_| bad())?;
        let n = n.trunc();
        let first = if usable(subnet, n.network()) {
            n.network()
        } else {
            step(n.network(), 1).ok_or_else(bad)?
        };
        let last = match n {
            IpNet::V4(v) if usable(subnet, IpAddr::V4(v.broadcast())) => IpAddr::V4(v.broadcast()),
            IpNet::V4(v) => IpAddr::V4(u32::from(v.broadcast()).saturating_sub(1).into()),
            IpNet::V6(v) => IpAddr::V6(v.broadcast()),
        };
        (first, last)
    };
    if !usable(subnet, start) || !usable(subnet, end) || as_u128(start) > as_u128(end) {
        return Err(bad());
    }
    Ok(LeaseRange {
        start_ip: start,
        end_ip: end,
    })
}

/// The addresses containers may get on `s`: its lease range, or every
/// usable address; the gateway is never among them.
fn bounds(s: &Subnet) -> (u128, u128) {
    match &s.lease_range {
        Some(r) => (as_u128(r.start_ip), as_u128(r.end_ip)),
        None => {
            let first = as_u128(s.subnet.network()) + 1;
            let last = match s.subnet {
                IpNet::V4(n) => u128::from(u32::from(n.broadcast())).saturating_sub(1),
                IpNet::V6(n) => n.broadcast().into(),
            };
            (first, last)
        }
    }
}

fn from_u128(v4: bool, n: u128) -> Option<IpAddr> {
    if v4 {
        u32::try_from(n).ok().map(|n| IpAddr::V4(n.into()))
    } else {
        Some(IpAddr::V6(n.into()))
    }
}

/// Hand `id` an address on subnet `s`: the lowest free one. A lease whose
/// holder `stale` says is gone is taken back. Errors when the subnet is
/// full.
pub fn allocate(
    leases: &Leases,
    s: &Subnet,
    id: &str,
    stale: &dyn Fn(&str) -> bool,
) -> Result<IpAddr, String> {
    let v4 = s.subnet.network().is_ipv4();
    if let Some(mine) = leases.of(id).into_iter().find(|a| s.subnet.contains(a)) {
        return Ok(mine);
    }
    let held: std::collections::BTreeMap<u128, String> = leases
        .all()
        .into_iter()
        .filter(|(a, _)| s.subnet.contains(a))
        .map(|(a, holder)| (as_u128(a), holder))
        .collect();
    let gateway = s.gateway.map(as_u128);
    let (first, last) = bounds(s);
    let mut n = first;
    while n <= last {
        let candidate = from_u128(v4, n).ok_or("address out of range")?;
        let free = Some(n) != gateway
            && usable(&s.subnet, candidate)
            && match held.get(&n) {
                None => true,
                Some(holder) => {
                    if stale(holder) {
                        leases.release(candidate, holder);
                        true
                    } else {
                        false
                    }
                }
            };
        if free {
            match leases.claim(candidate, id) {
                Ok(()) => return Ok(candidate),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("recording the lease of {candidate}: {e}")),
            }
        }
        n += 1;
    }
    Err(format!("no address is free on {}", s.subnet))
}

/// Give `id` the address it asked for (`--ip`).
pub fn claim_static(
    leases: &Leases,
    s: &Subnet,
    addr: IpAddr,
    id: &str,
    stale: &dyn Fn(&str) -> bool,
) -> Result<(), String> {
    if !usable(&s.subnet, addr) || Some(addr) == s.gateway {
        return Err(format!(
            "the address {addr} cannot be given to a container on {}",
            s.subnet
        ));
    }
    match leases.claim(addr, id) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let holder = leases
                .all()
                .into_iter()
                .find(|(a, _)| *a == addr)
                .map(|(_, h)| h)
                .unwrap_or_default();
            if !holder.is_empty() && stale(&holder) {
                leases.release(addr, &holder);
                leases
                    .claim(addr, id)
                    .map_err(|e| format!("recording the lease of {addr}: {e}"))
            } else {
                Err(format!(
                    "the address {addr} is already in use by another container"
                ))
            }
        }
        Err(e) => Err(format!("recording the lease of {addr}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::network::NetworkStore;

    fn net(s: &str) -> IpNet {
        s.parse().expect("net")
    }

    #[test]
    fn subnets_already_routed_or_used_are_skipped() {
        let taken = [net("0.0.0.0/0"), net("10.88.0.0/16"), net("10.89.0.0/24")];
        assert_eq!(
            pick_subnet(default_candidates(), &taken),
            Some(net("10.90.0.0/16"))
        );
        assert_eq!(
            pick_subnet(user_candidates(), &taken),
            Some(net("10.89.1.0/24"))
        );
        // A wider route covers the candidates inside it.
        assert_eq!(
            pick_subnet(user_candidates(), &[net("10.89.0.0/16")]),
            Some(net("10.90.0.0/24"))
        );
        assert_eq!(pick_subnet(user_candidates(), &[net("10.0.0.0/8")]), None);
    }

    #[test]
    fn gateways_and_ranges() {
        assert_eq!(first_host(&net("10.89.3.0/24")), "10.89.3.1".parse().ok());
        assert!(!usable(
            &net("10.89.3.0/24"),
            "10.89.3.255".parse().expect("ip")
        ));
        let r = parse_range(&net("10.5.0.0/24"), "10.5.0.128/25").expect("range");
        assert_eq!(r.start_ip.to_string(), "10.5.0.128");
        assert_eq!(r.end_ip.to_string(), "10.5.0.254");
        let r = parse_range(&net("10.5.0.0/24"), "10.5.0.10-10.5.0.20").expect("range");
        assert_eq!(r.end_ip.to_string(), "10.5.0.20");
        assert!(parse_range(&net("10.5.0.0/24"), "10.6.0.0/25").is_err());
        assert!(parse_range(&net("10.5.0.0/24"), "10.5.0.20-10.5.0.10").is_err());
        let v6 = v6_candidates();
        assert!(v6
            .iter()
            .all(|n| n.prefix_len() == 64 && n.to_string().starts_with("fd")));
    }

    #[test]
    fn addresses_are_handed_out_once_and_taken_back_from_the_dead() {
        let d = tempfile::tempdir().expect("tempdir");
        let store = NetworkStore::open(&d.path().join("r"), &d.path().join("run")).expect("open");
        let leases = store.leases("n");
        let s = Subnet {
            subnet: net("10.89.0.0/29"),
            gateway: Some("10.89.0.1".parse().expect("ip")),
            lease_range: None,
        };
        let live = |_: &str| false;
        let got: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|id| allocate(&leases, &s, id, &live).expect("free").to_string())
            .collect();
        assert_eq!(
            got,
            [
                "10.89.0.2",
                "10.89.0.3",
                "10.89.0.4",
                "10.89.0.5",
                "10.89.0.6"
            ]
        );
        // Asking again gives the same address.
        assert_eq!(
            allocate(&leases, &s, "c", &live).expect("same").to_string(),
            "10.89.0.4"
        );
        assert!(allocate(&leases, &s, "f", &live).is_err(), "full");
        // "b" died without giving its address back.
        let dead = |id: &str| id == "b";
        assert_eq!(
            allocate(&leases, &s, "f", &dead)
                .expect("reused")
                .to_string(),
            "10.89.0.3"
        );
        assert!(claim_static(&leases, &s, "10.89.0.1".parse().expect("ip"), "g", &live).is_err());
        assert!(claim_static(&leases, &s, "10.89.0.2".parse().expect("ip"), "g", &live).is_err());
        leases.release_all("a");
        claim_static(&leases, &s, "10.89.0.2".parse().expect("ip"), "g", &live).expect("free");
    }
}
