//! Interface addresses.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use nix::errno::Errno;

use super::{family_missing, Netlink, NetlinkError};

/// An address on an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Netlink {
    /// Add `addr/prefix` to a link; an address it already has is fine.
    /// IPv4 addresses get their subnet's broadcast address. IPv6 ones skip
    /// duplicate address detection: they come from skiff's own allocation,
    /// and DAD would keep them unusable for a second or two (a server
    /// binding them would fail meanwhile).
    pub fn add_address(
        &mut self,
        index: u32,
        addr: IpAddr,
        prefix: u8,
    ) -> Result<(), NetlinkError> {
        let step = || format!("adding address {addr}/{prefix} to link {index}");
        check_prefix(addr, prefix).map_err(|e| NetlinkError::new(step(), e))?;
        let mut msg = AddressMessage::default();
        msg.header.index = index;
        msg.header.prefix_len = prefix;
        msg.attributes.push(AddressAttribute::Local(addr));
        msg.attributes.push(AddressAttribute::Address(addr));
        match addr {
            IpAddr::V4(v4) => {
                msg.header.family = AddressFamily::Inet;
                if prefix < 31 {
                    let host_bits = u32::MAX >> prefix;
                    let broadcast = Ipv4Addr::from(u32::from(v4) | host_bits);
                    msg.attributes.push(AddressAttribute::Broadcast(broadcast));
                }
            }
            IpAddr::V6(_) => {
                msg.header.family = AddressFamily::Inet6;
                msg.attributes
                    .push(AddressAttribute::Flags(AddressFlags::Nodad));
            }
        }
        match self.request(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Err(r) if r.errno() != Some(Errno::EEXIST) => Err(r.during(step())),
            _ => Ok(()),
        }
    }

    /// Every IPv4 and IPv6 address of the namespace.
    pub fn addresses(&mut self) -> Result<Vec<Address>, NetlinkError> {
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut msg = AddressMessage::default();
            msg.header.family = family;
            let replies = match self.dump(RouteNetlinkMessage::GetAddress(msg)) {
                Ok(replies) => replies,
                Err(r) if family_missing(&r) => continue,
                Err(r) => return Err(r.during("listing addresses")),
            };
            out.extend(replies.into_iter().filter_map(|r| match r {
                RouteNetlinkMessage::NewAddress(m) => Address::from_message(m),
                _ => None,
            }));
        }
        Ok(out)
    }
}

impl Address {
    fn from_message(msg: AddressMessage) -> Option<Address> {
        // On a point-to-point link IFA_ADDRESS is the peer's and IFA_LOCAL
        // the link's own; elsewhere they are the same.
        let mut local = None;
        let mut address = None;
        for attr in msg.attributes {
            match attr {
                AddressAttribute::Local(ip) => local = Some(ip),
                AddressAttribute::Address(ip) => address = Some(ip),
                _ => {}
            }
        }
        Some(Address {
            index: msg.header.index,
            addr: local.or(address)?,
            prefix: msg.header.prefix_len,
        })
    }
}

pub(super) fn check_prefix(addr: IpAddr, prefix: u8) -> io::Result<()> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix <= max {
        Ok(())
    } else {
        let why = format!("prefix length {prefix} is longer than {max}");
        Err(io::Error::new(io::ErrorKind::InvalidInput, why))
    }
}
