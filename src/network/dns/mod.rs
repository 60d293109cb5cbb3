//! Name resolution between the containers of a network: a small DNS server
//! skiff runs once per network namespace that holds its bridges (the host's
//! for root, the rootless network namespace otherwise), in the way of
//! podman's aardvark-dns, and the files through which the engine feeds it.
//!
//! # The directory
//!
//! The engine names one directory per such namespace. Each network with DNS
//! has a file there, named after the network (network names begin with a
//! letter or digit; everything of skiff's own begins with a dot):
//!
//! ```text
//! 10.89.0.1,fd00:89::1 10.0.0.53
//! 0123abcd... 10.89.0.2 fd00:89::2 web,www,0123abcd0123
//! 4567cdef... 10.89.0.3 - db
//! ```
//!
//! The first line holds the addresses the server listens on (the network's
//! gateways), a space, and the resolvers to forward other names to (may be
//! empty). Each further line is a container: its id, its IPv4 and IPv6
//! address on the network (`-` for none), and its names, comma separated.
//! Writers replace a file atomically (temp file and rename) while holding
//! `.lock`; a file goes when its last container does ([`add_entry`],
//! [`remove_entry`]).
//!
//! # The server
//!
//! [`serve`] binds UDP and TCP port 53 on every listen address and answers
//! A, AAAA and PTR for the containers of the network whose address a query
//! arrived on, by name or by name under [`DOMAIN`] (the search domain
//! podman writes into the containers' resolv.conf), without regard to
//! case. A name of the network without a record of the asked type gets an
//! empty answer; a name under [`DOMAIN`] that is no container's gets
//! NXDOMAIN; anything else goes to the network's resolvers over UDP, and is
//! refused when the network has none.
//!
//! It runs as `skiff dns-server DIR`, a hidden command, started detached by
//! [`sync_server`] (own session, stdio on `/dev/null`, messages in
//! `DIR/.server.log`). SIGHUP makes it reread the directory; SIGTERM, or a
//! directory left without network files, ends it. `DIR/.server.pid` holds
//! its pid, start time and how many times it has read the directory, then
//! the listen addresses it could not bind (see [`status`]).

mod answer;
mod config;
mod control;
mod listen;
mod server;
mod status;
mod tcp;
#[cfg(test)]
mod tests;
mod upstream;

pub use config::{add_entry, remove_entry, ConfigError, Entry, NetworkFile};
pub use control::{sync_server, SyncError};
pub use server::{serve, ServeError};

/// The search domain the names of containers also answer under.
pub const DOMAIN: &str = "dns.podman";

/// The time to live of the records served, in seconds (podman's).
pub const TTL: u32 = 60;

/// The port the server listens on.
pub const PORT: u16 = 53;
