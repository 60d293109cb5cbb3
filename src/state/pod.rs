//! Pod records: `<root>/pods/<id>/pod.json`, names under
//! `<root>/pods/names/` and locks under `<root>/pods/locks/`, kept the way
//! container records are. A pod's containers are not listed in it: each
//! container names its pod (`ContainerConfig::pod`), so a crash between
//! writing the two never leaves a pod pointing at a missing container.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state::names::Names;
use crate::state::StateError;
use crate::storage::lock::{self, LockGuard, LockMode};
use crate::storage::record;

/// A namespace the containers of a pod share with its infra container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SharedNs {
    Cgroup,
    Ipc,
    Net,
    Pid,
    Uts,
}

impl SharedNs {
    pub const ALL: [SharedNs; 5] = [
        SharedNs::Cgroup,
        SharedNs::Ipc,
        SharedNs::Net,
        SharedNs::Pid,
        SharedNs::Uts,
    ];

    /// podman's default `--share`.
    pub const DEFAULT: [SharedNs; 4] = [
        SharedNs::Cgroup,
        SharedNs::Ipc,
        SharedNs::Net,
        SharedNs::Uts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SharedNs::Cgroup => "cgroup",
            SharedNs::Ipc => "ipc",
            SharedNs::Net => "net",
            SharedNs::Pid => "pid",
            SharedNs::Uts => "uts",
        }
    }

    pub fn parse(s: &str) -> Option<SharedNs> {
        SharedNs::ALL.into_iter().find(|n| n.as_str() == s)
    }
}

/// What happens when a pod's last application container exits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitPolicy {
    /// The infra container keeps running (podman's default).
    #[default]
    Continue,
    /// The infra container is stopped: the pod stops.
    Stop,
}

impl ExitPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ExitPolicy::Continue => "continue",
            ExitPolicy::Stop => "stop",
        }
    }
}

/// The typed options of a pod (what `pod create`, and later a kube Pod,
/// are translated into). The network side (ports, networks, names) lives
/// in the infra container's own configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodConfig {
    pub labels: BTreeMap<String, String>,
    /// The namespaces its containers share (with the infra container).
    pub share: Vec<SharedNs>,
    pub exit_policy: ExitPolicy,
    /// Pod-wide limits, on the cgroup every container of the pod is in.
    pub resources: crate::state::container::Resources,
}

/// A pod record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodRecord {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    pub config: PodConfig,
    /// The infra container holding the shared namespaces (none with
    /// `--infra=false`).
    pub infra: Option<String>,
}

impl PodRecord {
    pub fn short_id(&self) -> &str {
        &self.id[..12.min(self.id.len())]
    }

    pub fn shares(&self, ns: SharedNs) -> bool {
        self.infra.is_some() && self.config.share.contains(&ns)
    }
}

/// The pod records of one store.
#[derive(Debug, Clone)]
pub struct PodStore {
    dir: PathBuf,
    names: Names,
}

impl PodStore {
    pub fn open(root: &Path) -> Result<Self, StateError> {
        let dir = root.join("pods");
        for d in [dir.clone(), dir.join("names"), dir.join("locks")] {
            crate::config::paths::ensure_private_dir(&d).map_err(|source| StateError::Create {
                path: d.clone(),
                source,
            })?;
        }
        Ok(Self {
            names: Names::new(dir.join("names")),
            dir,
        })
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("pod.json")
    }

    /// Lock one pod for a read-modify-write.
    pub fn lock(&self, id: &str) -> Result<LockGuard, StateError> {
        Ok(lock::lock(
            &self.dir.join("locks").join(format!("{id}.lock")),
            LockMode::Exclusive,
        )?)
    }

    pub fn get(&self, id: &str) -> Result<Option<PodRecord>, StateError> {
        Ok(record::read_json(&self.record_path(id))?)
    }

    pub fn put(&self, rec: &PodRecord) -> Result<(), StateError> {
        let d = self.dir.join(&rec.id);
        crate::config::paths::ensure_private_dir(&d)
            .map_err(|source| StateError::Create { path: d, source })?;
        Ok(record::write_json(&self.record_path(&rec.id), rec)?)
    }

    pub fn ids(&self) -> Result<Vec<String>, StateError> {
        super::record_ids(&self.dir)
    }

    /// All pods, newest first.
    pub fn list(&self) -> Result<Vec<PodRecord>, StateError> {
        let mut out: Vec<PodRecord> = self
            .ids()?
            .iter()
            .filter_map(|id| self.get(id).transpose())
            .collect::<Result<_, _>>()?;
        out.sort_by_key(|p| std::cmp::Reverse(p.created));
        Ok(out)
    }

    /// A pod by name, full id or unique id prefix.
    pub fn lookup(&self, input: &str) -> Result<PodRecord, StateError> {
        let found = super::resolve_id(&self.names, input, || self.ids(), |id| self.get(id))?;
        found.ok_or_else(|| StateError::NoSuchPod(input.to_string()))
    }

    /// Remove the record and its name (caller holds the lock).
    pub fn remove(&self, rec: &PodRecord) -> Result<(), StateError> {
        let err = |source: io::Error| StateError::Remove {
            id: rec.id.clone(),
            source,
        };
        match std::fs::remove_file(self.record_path(&rec.id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(err(e)),
            _ => {}
        }
        let _ = std::fs::remove_dir_all(self.dir.join(&rec.id));
        self.names.release(&rec.name, &rec.id).map_err(err)?;
        let _ = std::fs::remove_file(self.dir.join("locks").join(format!("{}.lock", rec.id)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(id: String, name: &str, age: i64) -> PodRecord {
        PodRecord {
            id,
            name: name.into(),
            created: Utc::now() - chrono::Duration::seconds(age),
            config: PodConfig::default(),
            infra: None,
        }
    }

    #[test]
    fn pods_are_found_by_name_id_and_prefix_and_removed_with_their_name() {
        let d = tempfile::tempdir().expect("tempdir");
        let store = PodStore::open(d.path()).expect("open");
        let a = format!("ab{}", "0".repeat(62));
        let b = format!("ac{}", "1".repeat(62));
        for (i, (id, name)) in [(&a, "web"), (&b, "db")].into_iter().enumerate() {
            store.names().claim(name, id).expect("claim");
            store.put(&pod(id.clone(), name, i as i64)).expect("put");
        }
        assert_eq!(store.lookup("web").expect("name").id, a);
        assert_eq!(store.lookup("ac").expect("prefix").name, "db");
        assert!(matches!(
            store.lookup("a"),
            Err(StateError::Ambiguous { count: 2, .. })
        ));
        assert!(matches!(store.lookup("x"), Err(StateError::NoSuchPod(_))));
        let names: Vec<String> = store
            .list()
            .expect("list")
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["web", "db"], "newest first");
        let web = store.lookup("web").expect("web");
        store.remove(&web).expect("remove");
        assert!(store.names().holder("web").is_none());
        assert_eq!(store.ids().expect("ids"), [b]);
    }

    #[test]
    fn shared_namespaces_need_an_infra_container() {
        let mut p = pod("0".repeat(64), "p", 0);
        p.config.share = SharedNs::DEFAULT.to_vec();
        assert!(!p.shares(SharedNs::Net));
        p.infra = Some("1".repeat(64));
        assert!(p.shares(SharedNs::Net));
        assert!(!p.shares(SharedNs::Pid));
        assert_eq!(SharedNs::parse("pid"), Some(SharedNs::Pid));
        assert_eq!(SharedNs::parse("mnt"), None);
    }
}
