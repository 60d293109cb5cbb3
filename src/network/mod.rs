//! Networks: the bridges skiff builds for root (and inside the rootless
//! network namespace), their addresses, firewall rules and names.
//!
//! Layering: `engine -> network -> sys`. Nothing here knows about
//! containers' records; the engine hands over plain descriptions.

pub mod dns;
pub mod firewall;
pub mod forward;
pub mod ipam;
pub mod netlink;
