//! Published ports: each mapping checked and spelled out as elements of
//! the ports maps (layout in `batch.rs`), one element per port.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::batch::Batch;
use super::{invalid, FirewallError, PortRules};
use crate::state::container::PortMapping;

/// One published port: a key of a ports map and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PortElement {
    map: &'static str,
    key: String,
    value: String,
}

/// What a mapping that cannot be published does to the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// It is refused, and the others with it (publishing).
    Strict,
    /// It is skipped: publishing refused it, so none of it can be in the
    /// table (withdrawing, even after a failed start).
    Lenient,
}

/// The container's address of each family.
type Addrs = (Option<Ipv4Addr>, Option<Ipv6Addr>);

/// Check `p` and spell out its elements.
pub(super) fn elements(p: &PortRules, check: Check) -> Result<Vec<PortElement>, FirewallError> {
    let addrs = match container_addrs(&p.addrs) {
        Err(_) if check == Check::Lenient => return Ok(Vec::new()),
        a => a?,
    };
    let mut out: BTreeMap<(&'static str, String), String> = BTreeMap::new();
    for m in &p.ports {
        let elements = match mapping_elements(m, addrs) {
            Err(_) if check == Check::Lenient => continue,
            e => e?,
        };
        for e in elements {
            match out.get(&(e.map, e.key.clone())) {
                Some(v) if *v != e.value && check == Check::Strict => {
                    return Err(invalid("port mapping", &spell(m), "is published twice"))
                }
                Some(_) => {}
                None => {
                    out.insert((e.map, e.key), e.value);
                }
            }
        }
    }
    Ok(out
        .into_iter()
        .map(|((map, key), value)| PortElement { map, key, value })
        .collect())
}

fn container_addrs(addrs: &[IpAddr]) -> Result<Addrs, FirewallError> {
    let (mut v4, mut v6) = (None, None);
    for a in addrs {
        let taken = match a {
            IpAddr::V4(a) => v4.replace(*a).is_some(),
            IpAddr::V6(a) => v6.replace(*a).is_some(),
        };
        if taken || a.is_unspecified() {
            return Err(invalid(
                "container address",
                &a.to_string(),
                "is unspecified or a second one of its family",
            ));
        }
    }
    Ok((v4, v6))
}

fn spell(m: &PortMapping) -> String {
    format!("{}:{}/{}", m.host_ip, m.host_port, m.protocol.as_str())
}

/// The elements of one mapping: for each family it is published on
/// (and the container has), one per port of its range.
fn mapping_elements(m: &PortMapping, (v4, v6): Addrs) -> Result<Vec<PortElement>, FirewallError> {
    let count = m.range.max(1);
    if m.host_port == 0 || m.container_port == 0 {
        return Err(invalid("port mapping", &spell(m), "has port 0"));
    }
    let last = |first: u16| u32::from(first) + u32::from(count) - 1;
    if last(m.host_port) > 65535 || last(m.container_port) > 65535 {
        return Err(invalid("port mapping", &spell(m), "passes port 65535"));
    }
    // (map, key prefix, container address) for each family served.
    let mut dests: Vec<(&'static str, String, IpAddr)> = Vec::new();
    let (any4, any6) = match m.host_ip.as_str() {
        "" => (true, true),
        ip => match ip.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) if a.is_unspecified() => (true, false),
            Ok(IpAddr::V6(a)) if a.is_unspecified() => (false, true),
            Ok(IpAddr::V6(a)) if a.is_loopback() => {
                return Err(invalid(
                    "host address",
                    ip,
                    "cannot be forwarded to a bridge (IPv6 keeps ::1 on the host)",
                ))
            }
            Ok(h) => {
                match (h, v4, v6) {
                    (IpAddr::V4(_), Some(a), _) => {
                        dests.push(("ports4_host", format!("{h} . "), a.into()))
                    }
                    (IpAddr::V6(_), _, Some(a)) => {
                        dests.push(("ports6_host", format!("{h} . "), a.into()))
                    }
                    _ => {}
                }
                (false, false)
            }
            Err(_) => return Err(invalid("host address", ip, "is not an IP address")),
        },
    };
    if let (true, Some(a)) = (any4, v4) {
        dests.push(("ports4_any", String::new(), a.into()));
    }
    if let (true, Some(a)) = (any6, v6) {
        dests.push(("ports6_any", String::new(), a.into()));
    }
    if dests.is_empty() {
        return Err(invalid(
            "port mapping",
            &spell(m),
            "has no container address of its family",
        ));
    }
    let proto = m.protocol.as_str();
    let mut out = Vec::new();
    for (map, prefix, addr) in dests {
        for (cport, hport) in m.pairs() {
            out.push(PortElement {
                map,
                key: format!("{prefix}{proto} . {hport}"),
                value: format!("{addr} . {cport}"),
            });
        }
    }
    Ok(out)
}

/// Add `elements`, one command per map.
pub(super) fn add(b: &mut Batch, elements: &[PortElement]) {
    let mut by_map: BTreeMap<&str, String> = BTreeMap::new();
    for e in elements {
        let list = by_map.entry(e.map).or_default();
        if !list.is_empty() {
            list.push_str(", ");
        }
        let _ = write!(list, "{} : {}", e.key, e.value);
    }
    for (map, list) in by_map {
        b.add_element(map, &list);
    }
}

/// What withdraws `elements`, one piece per port.
pub(super) fn remove(elements: &[PortElement]) -> Vec<Batch> {
    elements
        .iter()
        .map(|e| {
            let mut b = Batch::default();
            b.ensure_absent(e.map, &e.key, &format!("{} : {}", e.key, e.value));
            b
        })
        .collect()
}
