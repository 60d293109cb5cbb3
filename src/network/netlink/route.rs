//! Routes.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::address::check_prefix;
use super::{family_missing, Netlink, NetlinkError};

/// A route of any table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The destination network; the unspecified address with prefix 0 for a
    /// default route.
    pub dst: IpAddr,
    pub prefix: u8,
    pub gateway: Option<IpAddr>,
    /// The output interface; none for multipath and unreachable routes.
    pub index: Option<u32>,
    /// 254 is the main table, 255 the local one (the host's own addresses).
    pub table: u32,
}

impl Netlink {
    /// Add a route in the main table through link `index`: to `dst` (a
    /// network and prefix), or the default route when `dst` is none; via
    /// `gateway` when given, else directly on the link.
    pub fn add_route(
        &mut self,
        dst: Option<(IpAddr, u8)>,
        gateway: Option<IpAddr>,
        index: u32,
    ) -> Result<(), NetlinkError> {
        let step = || match dst {
            Some((net, prefix)) => format!("adding route to {net}/{prefix} on link {index}"),
            None => format!("adding default route on link {index}"),
        };
        let family = route_family(dst, gateway).map_err(|e| NetlinkError::new(step(), e))?;
        let mut msg = RouteMessage::default();
        msg.header.address_family = family;
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Static;
        msg.header.kind = RouteType::Unicast;
        // An IPv4 route straight onto the link reaches only its neighbours
        // (as `ip route` sets it); IPv6 has no scopes here.
        msg.header.scope = match (family, gateway) {
            (AddressFamily::Inet, None) => RouteScope::Link,
            _ => RouteScope::Universe,
        };
        if let Some((net, prefix)) = dst {
            check_prefix(net, prefix).map_err(|e| NetlinkError::new(step(), e))?;
            msg.header.destination_prefix_length = prefix;
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(net)));
        }
        if let Some(gateway) = gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(gateway)));
        }
        msg.attributes.push(RouteAttribute::Oif(index));
        self.request(
            RouteNetlinkMessage::NewRoute(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .map(drop)
        .map_err(|r| r.during(step()))
    }

    /// Every IPv4 and IPv6 route of every table (IP address management
    /// avoids the subnets the host already routes).
    pub fn routes(&mut self) -> Result<Vec<Route>, NetlinkError> {
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut msg = RouteMessage::default();
            msg.header.address_family = family;
            let replies = match self.dump(RouteNetlinkMessage::GetRoute(msg)) {
                Ok(replies) => replies,
                Err(r) if family_missing(&r) => continue,
                Err(r) => return Err(r.during("listing routes")),
            };
            out.extend(replies.into_iter().filter_map(|r| match r {
                RouteNetlinkMessage::NewRoute(m) => Route::from_message(m),
                _ => None,
            }));
        }
        Ok(out)
    }
}

impl Route {
    fn from_message(msg: RouteMessage) -> Option<Route> {
        let unspecified = match msg.header.address_family {
            AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            _ => return None,
        };
        let mut route = Route {
            dst: unspecified,
            prefix: msg.header.destination_prefix_length,
            gateway: None,
            index: None,
            table: u32::from(msg.header.table),
        };
        for attr in msg.attributes {
            match attr {
                RouteAttribute::Destination(dst) => route.dst = ip(dst)?,
                RouteAttribute::Gateway(gateway) => route.gateway = ip(gateway),
                RouteAttribute::Oif(index) => route.index = Some(index),
                // Tables above 255 only fit in the attribute.
                RouteAttribute::Table(table) => route.table = table,
                _ => {}
            }
        }
        Some(route)
    }
}

fn ip(addr: RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(v6)),
        _ => None,
    }
}

fn route_family(dst: Option<(IpAddr, u8)>, gateway: Option<IpAddr>) -> io::Result<AddressFamily> {
    let family = |ip: IpAddr| match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    match (dst.map(|(net, _)| family(net)), gateway.map(family)) {
        (Some(a), Some(b)) if a != b => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the destination and the gateway are of different IP versions",
        )),
        (Some(f), _) | (None, Some(f)) => Ok(f),
        (None, None) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a default route without a gateway has no IP version",
        )),
    }
}
