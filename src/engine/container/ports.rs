//! Published ports: `-p [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTO]` (ranges
//! as `A-B`), `-P` from the image's exposed ports, and the free host
//! ports skiff picks when none is given (bound on port 0, read, closed,
//! as podman does).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

use crate::state::container::{PortMapping, Protocol};

/// `N` or `A-B` (inclusive): (first port, count).
fn port_range(s: &str, what: &str, arg: &str) -> Result<(u16, u16), String> {
    let num = |p: &str| -> Result<u16, String> {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "invalid -p {arg:?}: {what} port {p:?} is not a number from 1 to 65535"
            )),
        }
    };
    match s.split_once('-') {
        None => Ok((num(s)?, 1)),
        Some((a, b)) => {
            let (a, b) = (num(a)?, num(b)?);
            if b < a {
                return Err(format!(
                    "invalid -p {arg:?}: the {what} port range {s} ends before it starts"
                ));
            }
            Ok((a, b - a + 1))
        }
    }
}

/// One `-p` value. A host port of 0 means "pick a free one" (see
/// [`assign_host_ports`]).
pub fn parse_publish(arg: &str) -> Result<Vec<PortMapping>, String> {
    let (spec, protos) = match arg.rsplit_once('/') {
        Some((s, p)) => (s, p),
        None => (arg, "tcp"),
    };
    let mut protocols = Vec::new();
    for p in protos.split(',') {
        protocols.push(match p.to_ascii_lowercase().as_str() {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "sctp" => Protocol::Sctp,
            _ => {
                return Err(format!(
                    "invalid -p {arg:?}: unknown protocol {p:?} (tcp, udp or sctp)"
                ))
            }
        });
    }
    // An IPv6 address is bracketed: [::1]:8080:80.
    let (ip, rest) = if let Some(r) = spec.strip_prefix('[') {
        let (ip, rest) = r
            .split_once("]:")
            .ok_or_else(|| format!("invalid -p {arg:?}: use [IPV6]:HOSTPORT:CONTAINERPORT"))?;
        (Some(ip), rest)
    } else {
        match spec.matches(':').count() {
            0 | 1 => (None, spec),
            2 => {
                let (ip, rest) = spec.split_once(':').unwrap_or(("", spec));
                (Some(ip), rest)
            }
            _ => {
                return Err(format!(
                    "invalid -p {arg:?}: use [[IP:][HOSTPORT]:]CONTAINERPORT[/PROTOCOL] (an IPv6 address in brackets)"
                ))
            }
        }
    };
    let host_ip = match ip {
        None | Some("") => String::new(),
        Some(ip) => {
            let parsed: IpAddr = ip
                .parse()
                .map_err(|_| format!("invalid -p {arg:?}: {ip:?} is not an IP address"))?;
            if parsed.is_unspecified() {
                String::new()
            } else {
                parsed.to_string()
            }
        }
    };
    let (host, container) = match rest.split_once(':') {
        Some((h, c)) => (h, c),
        None => ("", rest),
    };
    if container.is_empty() {
        return Err(format!("invalid -p {arg:?}: no container port"));
    }
    let (cport, count) = port_range(container, "container", arg)?;
    if u32::from(cport) + u32::from(count) - 1 > 65535 {
        return Err(format!("invalid -p {arg:?}: the range passes port 65535"));
    }
    let mut out = Vec::new();
    for protocol in protocols {
        if host.is_empty() {
            // A free host port for each container port.
            for i in 0..count {
                out.push(PortMapping {
                    host_ip: host_ip.clone(),
                    host_port: 0,
                    container_port: cport + i,
                    protocol,
                    range: 1,
                });
            }
            continue;
        }
        let (hport, hcount) = port_range(host, "host", arg)?;
        if hcount != count {
            return Err(format!(
                "invalid -p {arg:?}: the host range has {hcount} ports and the container range {count}"
            ));
        }
        out.push(PortMapping {
            host_ip: host_ip.clone(),
            host_port: hport,
            container_port: cport,
            protocol,
            range: count,
        });
    }
    Ok(out)
}

/// The image's exposed ports (`8080/tcp`, `53/udp`, `80`) as mappings to
/// free host ports (`-P`).
pub fn exposed(keys: impl IntoIterator<Item = String>) -> Result<Vec<PortMapping>, String> {
    let mut out = Vec::new();
    for k in keys {
        out.extend(parse_publish(&k).map_err(|e| format!("the image's exposed port: {e}"))?);
    }
    Ok(out)
}

/// Give every mapping with host port 0 a port the kernel says is free,
/// on its address. The sockets stay open until all are chosen, so no
/// port is handed out twice.
pub fn assign_host_ports(ports: &mut [PortMapping]) -> Result<(), String> {
    enum Held {
        #[allow(dead_code)]
        Tcp(TcpListener),
        #[allow(dead_code)]
        Udp(UdpSocket),
    }
    let mut held = Vec::new();
    for m in ports.iter_mut().filter(|m| m.host_port == 0) {
        let ip: IpAddr = if m.host_ip.is_empty() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            m.host_ip
                .parse()
                .map_err(|_| format!("invalid host address {:?}", m.host_ip))?
        };
        let addr = SocketAddr::new(ip, 0);
        let err = |e: std::io::Error| format!("finding a free host port on {ip}: {e}");
        let port = match m.protocol {
            Protocol::Udp => {
                let s = UdpSocket::bind(addr).map_err(err)?;
                let p = s.local_addr().map_err(err)?.port();
                held.push(Held::Udp(s));
                p
            }
            _ => {
                let s = TcpListener::bind(addr).map_err(err)?;
                let p = s.local_addr().map_err(err)?.port();
                held.push(Held::Tcp(s));
                p
            }
        };
        m.host_port = port;
    }
    Ok(())
}

/// Two mappings that claim the same host port and protocol on
/// overlapping addresses.
pub fn check_conflicts(ports: &[PortMapping]) -> Result<(), String> {
    for (i, a) in ports.iter().enumerate() {
        for b in &ports[i + 1..] {
            if a.protocol != b.protocol
                || a.host_port == 0
                || b.host_port == 0
                || !(a.host_ip == b.host_ip || a.host_ip.is_empty() || b.host_ip.is_empty())
            {
                continue;
            }
            let (a0, a1) = (a.host_port, a.host_port.saturating_add(a.range.max(1) - 1));
            let (b0, b1) = (b.host_port, b.host_port.saturating_add(b.range.max(1) - 1));
            if a0 <= b1 && b0 <= a1 {
                return Err(format!(
                    "host port {}/{} is published twice",
                    a0.max(b0),
                    a.protocol.as_str()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> PortMapping {
        let mut v = parse_publish(s).expect(s);
        assert_eq!(v.len(), 1, "{s}");
        v.remove(0)
    }

    #[test]
    fn publish_forms() {
        let m = one("127.0.0.1:8080:80/udp");
        assert_eq!(
            (
                m.host_ip.as_str(),
                m.host_port,
                m.container_port,
                m.protocol,
                m.range
            ),
            ("127.0.0.1", 8080, 80, Protocol::Udp, 1)
        );
        let m = one("8080-8081:80-81");
        assert_eq!(
            (m.host_ip.as_str(), m.host_port, m.container_port, m.range),
            ("", 8080, 80, 2)
        );
        let m = one("80");
        assert_eq!((m.host_port, m.container_port), (0, 80));
        let m = one("0.0.0.0::80");
        assert_eq!((m.host_ip.as_str(), m.host_port), ("", 0));
        let m = one("[::1]:9000:90");
        assert_eq!(
            (m.host_ip.as_str(), m.host_port, m.container_port),
            ("::1", 9000, 90)
        );
        assert_eq!(parse_publish("80-82").expect("range").len(), 3);
        assert_eq!(parse_publish("53:53/tcp,udp").expect("both").len(), 2);
    }

    #[test]
    fn bad_publish_values_are_refused() {
        for bad in [
            "",
            "x",
            "80:",
            "0",
            "70000",
            "1.2.3:80:80",
            "8080-8081:80",
            "90-80:80-90",
            "80/icmp",
            "a:b:c:d",
            "65535-65535:65535-65535x",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn free_ports_are_distinct_and_conflicts_found() {
        let mut v = parse_publish("127.0.0.1::80-82").expect("range");
        assign_host_ports(&mut v).expect("free ports");
        assert!(v.iter().all(|m| m.host_port != 0));
        assert!(v[0].host_port != v[1].host_port && v[1].host_port != v[2].host_port);
        let mut twice = parse_publish("8080:80").expect("p");
        twice.extend(parse_publish("127.0.0.1:8080:81").expect("p"));
        assert!(check_conflicts(&twice).is_err());
        let mut ok = parse_publish("8080:80").expect("p");
        ok.extend(parse_publish("8080:80/udp").expect("p"));
        assert!(check_conflicts(&ok).is_ok());
    }
}
