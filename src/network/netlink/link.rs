//! Links: bridges, veth pairs into other namespaces, and their state.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind, InfoVeth, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;
use nix::errno::Errno;

use super::{random_mac, Netlink, NetlinkError, Refusal};

/// A network interface as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
    /// Administratively up (`IFF_UP`), whether or not it has a carrier.
    pub up: bool,
    /// The driver's kind ("bridge", "veth", ...); none for physical and
    /// loopback interfaces.
    pub kind: Option<String>,
    /// The index of the bridge (or bond) this link is a port of.
    pub controller: Option<u32>,
}

impl Netlink {
    /// The index of the link called `name`, if there is one.
    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>, NetlinkError> {
        Ok(self.link(name)?.map(|l| l.index))
    }

    /// The link called `name`, if there is one.
    pub fn link(&mut self, name: &str) -> Result<Option<Link>, NetlinkError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(RouteNetlinkMessage::GetLink(msg), 0) {
            Ok(replies) => Ok(replies.into_iter().find_map(|r| match r {
                RouteNetlinkMessage::NewLink(m) => Some(Link::from_message(m)),
                _ => None,
            })),
            Err(r) if r.errno() == Some(Errno::ENODEV) => Ok(None),
            Err(r) => Err(r.during(format!("looking up link {name}"))),
        }
    }

    /// Every link of the namespace.
    pub fn links(&mut self) -> Result<Vec<Link>, NetlinkError> {
        let replies = self
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
            .map_err(|r| r.during("listing links"))?;
        Ok(replies
            .into_iter()
            .filter_map(|r| match r {
                RouteNetlinkMessage::NewLink(m) => Some(Link::from_message(m)),
                _ => None,
            })
            .collect())
    }

    /// The bridge called `name`, created if missing, and up; returns its
    /// index. An existing bridge is reused as it is (`mtu` applies only to
    /// a new one); an existing link of another kind is an error.
    ///
    /// A new bridge gets a random MAC address of its own: a bridge without
    /// one takes the lowest of its ports' and changes it as containers come
    /// and go, which leaves stale ARP entries in the other containers.
    pub fn ensure_bridge(&mut self, name: &str, mtu: Option<u32>) -> Result<u32, NetlinkError> {
        let step = || format!("creating bridge {name}");
        check_name(name).map_err(|e| NetlinkError::new(step(), e))?;
        let link = match self.link(name)? {
            Some(link) => link,
            None => {
                self.create_bridge(name, mtu)
                    .map_err(|r| r.during(step()))?;
                self.link(name)?
                    .ok_or_else(|| NetlinkError::new(step(), Errno::ENODEV.into()))?
            }
        };
        if link.kind.as_deref() != Some("bridge") {
            let why = match &link.kind {
                Some(kind) => format!("a {kind} link of that name exists, not a bridge"),
                None => "a link of that name exists and is not a bridge".to_string(),
            };
            return Err(NetlinkError::new(
                step(),
                io::Error::new(io::ErrorKind::AlreadyExists, why),
            ));
        }
        if !link.up {
            self.set_up(link.index)?;
        }
        Ok(link.index)
    }

    fn create_bridge(&mut self, name: &str, mtu: Option<u32>) -> Result<(), Refusal> {
        let mut msg = LinkMessage::default();
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes
            .push(LinkAttribute::Address(random_mac()?.to_vec()));
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        msg.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        match self.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL) {
            // Another skiff made it meanwhile: that one is used.
            Err(r) if r.errno() != Some(Errno::EEXIST) => Err(r),
            _ => Ok(()),
        }
    }

    /// A veth pair: the `host` end in this namespace, a port of `bridge`
    /// with hairpin mode on (a container reaching its own published port is
    /// sent back out of the port it came in by) and up; the `peer` end made
    /// directly in the namespace open at `peer_netns`, with `peer_mac` if
    /// given, and left down for the caller to configure there. `mtu`
    /// applies to both ends. Returns the host end's index.
    pub fn add_veth(
        &mut self,
        host: &str,
        peer: &str,
        peer_netns: BorrowedFd<'_>,
        bridge: u32,
        mtu: Option<u32>,
        peer_mac: Option<[u8; 6]>,
    ) -> Result<u32, NetlinkError> {
        let step = || format!("creating veth pair {host} / {peer}");
        check_name(host)
            .and_then(|()| check_name(peer))
            .map_err(|e| NetlinkError::new(step(), e))?;
        let mut inner = LinkMessage::default();
        inner
            .attributes
            .push(LinkAttribute::IfName(peer.to_string()));
        inner
            .attributes
            .push(LinkAttribute::NetNsFd(peer_netns.as_raw_fd()));
        if let Some(mac) = peer_mac {
            inner.attributes.push(LinkAttribute::Address(mac.to_vec()));
        }
        let mut msg = LinkMessage::default();
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        msg.attributes.push(LinkAttribute::IfName(host.to_string()));
        msg.attributes.push(LinkAttribute::Controller(bridge));
        if let Some(mtu) = mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
            inner.attributes.push(LinkAttribute::Mtu(mtu));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(inner))),
        ]));
        self.request(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL)
            .map_err(|r| r.during(step()))?;
        let index = match self.link_index(host) {
            Ok(Some(index)) => index,
            Ok(None) => return Err(NetlinkError::new(step(), Errno::ENODEV.into())),
            Err(e) => {
                let _ = self.delete_link_named(host);
                return Err(e);
            }
        };
        if let Err(e) = self.set_hairpin(index) {
            // Deleting one end deletes both.
            let _ = self.delete_link(index);
            return Err(e.during(format!("turning hairpin mode on for {host}")));
        }
        Ok(index)
    }

    fn set_hairpin(&mut self, index: u32) -> Result<(), Refusal> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::PortKind(InfoPortKind::Bridge),
            LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(
                true,
            )])),
        ]));
        self.request(RouteNetlinkMessage::NewLink(msg), 0).map(drop)
    }

    /// Bring a link up.
    pub fn set_up(&mut self, index: u32) -> Result<(), NetlinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::SetLink(msg), 0)
            .map(drop)
            .map_err(|r| r.during(format!("bringing up link {index}")))
    }

    /// Delete a link (both ends, for a veth); one already gone is fine.
    pub fn delete_link(&mut self, index: u32) -> Result<(), NetlinkError> {
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.delete(msg)
            .map_err(|r| r.during(format!("deleting link {index}")))
    }

    /// Delete the link called `name`; one already gone is fine.
    pub fn delete_link_named(&mut self, name: &str) -> Result<(), NetlinkError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.delete(msg)
            .map_err(|r| r.during(format!("deleting link {name}")))
    }

    fn delete(&mut self, msg: LinkMessage) -> Result<(), Refusal> {
        match self.request(RouteNetlinkMessage::DelLink(msg), 0) {
            Err(r) if r.errno() != Some(Errno::ENODEV) => Err(r),
            _ => Ok(()),
        }
    }
}

impl Link {
    fn from_message(msg: LinkMessage) -> Link {
        let mut link = Link {
            index: msg.header.index,
            name: String::new(),
            mac: None,
            mtu: None,
            up: msg.header.flags.contains(LinkFlags::Up),
            kind: None,
            controller: None,
        };
        for attr in msg.attributes {
            match attr {
                LinkAttribute::IfName(name) => link.name = name,
                LinkAttribute::Address(mac) => link.mac = mac.as_slice().try_into().ok(),
                LinkAttribute::Mtu(mtu) => link.mtu = Some(mtu),
                LinkAttribute::Controller(index) => link.controller = Some(index),
                LinkAttribute::LinkInfo(infos) => {
                    link.kind = infos.iter().find_map(|info| match info {
                        LinkInfo::Kind(kind) => Some(kind.to_string()),
                        _ => None,
                    })
                }
                _ => {}
            }
        }
        link
    }
}

/// Interface names as the kernel takes them (`dev_valid_name`), checked
/// here for a clearer message.
fn check_name(name: &str) -> io::Result<()> {
    let valid = !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace());
    if valid {
        Ok(())
    } else {
        let why =
            format!("invalid interface name {name:?} (1 to 15 characters, no '/', ':' or spaces)");
        Err(io::Error::new(io::ErrorKind::InvalidInput, why))
    }
}
