//! Network records: `<root>/networks/<name>.json`, in the shape podman's
//! `network inspect` prints, and the address leases of their containers
//! under `<runroot>/networks/leases/<name>/<address>` (volatile: a reboot
//! stops every container).
//!
//! Every change to networks and leases happens under one lock,
//! `<root>/networks/lock`: creating a network (its subnet and bridge name
//! must not be taken meanwhile), removing one, and handing out addresses.

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::state::StateError;
use crate::storage::lock::{self, LockGuard, LockMode};
use crate::storage::record;

/// The network containers join when none is named (podman's name).
pub const DEFAULT_NETWORK: &str = "podman";

/// One network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub name: String,
    pub id: String,
    pub driver: String,
    /// The bridge.
    pub network_interface: String,
    pub created: DateTime<Utc>,
    pub subnets: Vec<Subnet>,
    pub ipv6_enabled: bool,
    pub internal: bool,
    pub dns_enabled: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub ipam_options: BTreeMap<String, String>,
}

/// A subnet of a network, its gateway (the bridge's address) and the part
/// of it containers get addresses from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub subnet: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_range: Option<LeaseRange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRange {
    pub start_ip: IpAddr,
    pub end_ip: IpAddr,
}

impl NetworkRecord {
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    /// The name the firewall knows the network by: its id's first twelve
    /// characters (hex, so safe in rule text).
    pub fn firewall_id(&self) -> &str {
        self.short_id()
    }

    /// `--opt isolate=`: `true` or `strict`.
    pub fn isolate(&self) -> Option<&str> {
        self.options.get("isolate").map(String::as_str)
    }

    pub fn mtu(&self) -> Option<u32> {
        self.options.get("mtu").and_then(|m| m.parse().ok())
    }
}

/// Network names as podman allows them.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = name.len() <= 253
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "network name {name:?} is invalid: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
        ))
    }
}

/// The network records of one store, and their leases.
#[derive(Debug, Clone)]
pub struct NetworkStore {
    dir: PathBuf,
    leases: PathBuf,
}

fn io_err(path: &Path, source: io::Error) -> StateError {
    StateError::Create {
        path: path.to_owned(),
        source,
    }
}

impl NetworkStore {
    pub fn open(root: &Path, runroot: &Path) -> Result<Self, StateError> {
        let dir = root.join("networks");
        crate::config::paths::ensure_private_dir(&dir).map_err(|e| io_err(&dir, e))?;
        Ok(Self {
            dir,
            leases: runroot.join("networks").join("leases"),
        })
    }

    /// The lock every change to networks and leases is made under.
    pub fn lock(&self) -> Result<LockGuard, StateError> {
        Ok(lock::lock(&self.dir.join("lock"), LockMode::Exclusive)?)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    pub fn get(&self, name: &str) -> Result<Option<NetworkRecord>, StateError> {
        if validate_name(name).is_err() {
            return Ok(None);
        }
        Ok(record::read_json(&self.path(name))?)
    }

    /// Write a record (the caller holds the lock).
    pub fn put(&self, rec: &NetworkRecord) -> Result<(), StateError> {
        Ok(record::write_json(&self.path(&rec.name), rec)?)
    }

    /// All records, by name.
    pub fn list(&self) -> Result<Vec<NetworkRecord>, StateError> {
        let rd = std::fs::read_dir(&self.dir).map_err(|e| io_err(&self.dir, e))?;
        let mut out = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if let Some(r) = self.get(name)? {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// A network by name, full id or unique id prefix.
    pub fn lookup(&self, input: &str) -> Result<Option<NetworkRecord>, String> {
        if let Some(r) = self.get(input).map_err(|e| e.to_string())? {
            return Ok(Some(r));
        }
        if input.is_empty() || !input.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut hits: Vec<NetworkRecord> = self
            .list()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|r| r.id.starts_with(input))
            .collect();
        match hits.len() {
            0 => Ok(None),
            1 => Ok(hits.pop()),
            n => Err(format!(
                "{input:?} matches {n} networks: use more of the ID"
            )),
        }
    }

    /// Remove a record and its leases directory (the caller holds the lock).
    pub fn remove(&self, name: &str) -> Result<(), StateError> {
        let p = self.path(name);
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(&p, e)),
            _ => {}
        }
        let _ = std::fs::remove_dir_all(self.leases.join(name));
        Ok(())
    }

    /// The leases of `network`.
    pub fn leases(&self, network: &str) -> Leases {
        Leases {
            dir: self.leases.join(network),
        }
    }
}

/// The addresses handed out on one network: a file per address holding
/// the container's id, created exclusively (the caller also holds the
/// network lock, so two invocations never pick the same free address).
#[derive(Debug, Clone)]
pub struct Leases {
    dir: PathBuf,
}

impl Leases {
    fn file(&self, addr: IpAddr) -> PathBuf {
        self.dir.join(addr.to_string())
    }

    /// Every lease: (address, container id).
    pub fn all(&self) -> Vec<(IpAddr, String)> {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| {
                let addr: IpAddr = e.file_name().to_str()?.parse().ok()?;
                let id = std::fs::read_to_string(e.path()).ok()?;
                Some((addr, id.trim().to_string()))
            })
            .collect()
    }

    /// The addresses `id` holds.
    pub fn of(&self, id: &str) -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = self
            .all()
            .into_iter()
            .filter(|(_, holder)| holder == id)
            .map(|(a, _)| a)
            .collect();
        v.sort();
        v
    }

    /// Record `addr` as `id`'s. Fails with AlreadyExists when another
    /// holds it; taking one's own again is fine.
    pub fn claim(&self, addr: IpAddr, id: &str) -> io::Result<()> {
        crate::config::paths::ensure_private_dir(&self.dir)?;
        let p = self.file(addr);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&p)
        {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(id.as_bytes())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                match std::fs::read_to_string(&p) {
                    Ok(holder) if holder.trim() == id => Ok(()),
                    // An empty file is a claim cut short by a crash.
                    Ok(holder) if holder.trim().is_empty() => std::fs::write(&p, id.as_bytes()),
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Give back `addr` if `id` holds it.
    pub fn release(&self, addr: IpAddr, id: &str) {
        let p = self.file(addr);
        if std::fs::read_to_string(&p).is_ok_and(|h| h.trim() == id) {
            let _ = std::fs::remove_file(&p);
        }
    }

    /// Give back everything `id` holds.
    pub fn release_all(&self, id: &str) {
        for a in self.of(id) {
            self.release(a, id);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.all().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str) -> NetworkRecord {
        NetworkRecord {
            name: name.into(),
            id: format!("{:064x}", name.len()),
            driver: "bridge".into(),
            network_interface: "skiff1".into(),
            created: Utc::now(),
            subnets: vec![Subnet {
                subnet: "10.89.0.0/24".parse().expect("net"),
                gateway: Some("10.89.0.1".parse().expect("ip")),
                lease_range: None,
            }],
            ipv6_enabled: false,
            internal: false,
            dns_enabled: true,
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            ipam_options: BTreeMap::from([("driver".into(), "host-local".into())]),
        }
    }

    #[test]
    fn records_round_trip_in_podmans_shape() {
        let d = tempfile::tempdir().expect("tempdir");
        let s = NetworkStore::open(&d.path().join("r"), &d.path().join("run")).expect("open");
        s.put(&rec("n1")).expect("put");
        s.put(&rec("abc")).expect("put");
        let names: Vec<String> = s
            .list()
            .expect("list")
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["abc", "n1"]);
        let text = std::fs::read_to_string(d.path().join("r/networks/n1.json")).expect("read");
        assert!(text.contains("\"subnet\": \"10.89.0.0/24\""), "{text}");
        assert!(text.contains("\"network_interface\": \"skiff1\""), "{text}");
        assert_eq!(s.lookup("n1").expect("lookup").expect("found").name, "n1");
        assert!(s.lookup("nope").expect("lookup").is_none());
        s.remove("n1").expect("rm");
        s.remove("n1").expect("rm twice");
        assert!(s.get("n1").expect("get").is_none());
    }

    #[test]
    fn names_are_checked() {
        assert!(validate_name("my-net_1.x").is_ok());
        for bad in ["", "-x", "a/b", "a b", "../x"] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_lease_has_one_holder() {
        let d = tempfile::tempdir().expect("tempdir");
        let s = NetworkStore::open(&d.path().join("r"), &d.path().join("run")).expect("open");
        let l = s.leases("n1");
        let a: IpAddr = "10.89.0.2".parse().expect("ip");
        l.claim(a, "c1").expect("claim");
        l.claim(a, "c1").expect("again by the holder");
        assert_eq!(
            l.claim(a, "c2").expect_err("taken").kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(l.of("c1"), [a]);
        l.release(a, "c2");
        assert_eq!(l.of("c1"), [a]);
        l.release_all("c1");
        assert!(l.is_empty());
    }
}
