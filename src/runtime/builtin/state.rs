//! What the runtime keeps of a container between commands: one directory per
//! container under the state root, holding `state.json` and, until the
//! container is started, the `exec.fifo` its init waits on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A container's lifecycle status, as the OCI runtime spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// The container's init, in the runtime's pid namespace.
    pub pid: i32,
    /// Its start time in clock ticks, to tell a reused pid apart.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// RFC 3339.
    pub created: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The cgroup the container was put in (none: rootless without one).
    #[serde(default)]
    pub cgroups_path: Option<PathBuf>,
    /// The uid of whoever created it.
    #[serde(default)]
    pub owner: u32,
    /// The spec's poststart and poststop hooks, kept from create (absent
    /// in records of older versions: then config.json is read again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub later_hooks: Option<LaterHooks>,
    /// A container without a mount namespace of its own has its root file
    /// system bind-mounted onto itself in the runtime's namespace, its
    /// mounts on top: that mount, detached (with all of them) on delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_root_mount: Option<HostMount>,
}

/// The hooks that run after create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaterHooks {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<oci_spec::runtime::Hook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<oci_spec::runtime::Hook>,
}

/// A mount the runtime made in its own mount namespace, by the kernel's id
/// (see `sys::fs::MountId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostMount {
    pub id: u64,
    pub unique: bool,
}

impl From<crate::sys::fs::MountId> for HostMount {
    fn from(m: crate::sys::fs::MountId) -> HostMount {
        HostMount {
            id: m.id,
            unique: m.unique,
        }
    }
}

impl HostMount {
    /// Detach the mount at `path` (and everything on it) if it is still
    /// this one; a mount made by anyone else there stays.
    pub fn release(&self, path: &Path) -> std::io::Result<()> {
        let Ok(now) = crate::sys::fs::mount_id(path) else {
            return Ok(());
        };
        if HostMount::from(now) != *self {
            return Ok(());
        }
        nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH)?;
        Ok(())
    }
}

/// The file the init blocks on until `start`.
pub const EXEC_FIFO: &str = "exec.fifo";
const STATE_FILE: &str = "state.json";

/// Ids name directories: no separators, nothing hidden, nothing odd.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+'))
}

/// Whether cgroup `path` is frozen (v1 freezer or v2 cgroup.freeze).
fn frozen(path: &Path) -> bool {
    crate::sys::cgroup::dirs_of(path).iter().any(|d| {
        let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap_or_default();
        read("freezer.state").trim() == "FROZEN" || read("cgroup.freeze").trim() == "1"
    })
}

impl Record {
    pub fn load(dir: &Path) -> std::io::Result<Option<Record>> {
        match std::fs::read(dir.join(STATE_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        crate::storage::record::replace_volatile(&dir.join(STATE_FILE), &bytes)
    }

    /// Whether the init process still exists (a zombie counts as gone).
    pub fn alive(&self) -> bool {
        match crate::sys::procfs::stat(self.pid) {
            Ok(st) => st.start_ticks == self.pid_start && st.state != 'Z' && st.state != 'X',
            Err(_) => false,
        }
    }

    /// The status now: from the init process, the exec FIFO and the
    /// freezer.
    pub fn status(&self, dir: &Path) -> Status {
        if !self.alive() {
            return Status::Stopped;
        }
        if dir.join(EXEC_FIFO).exists() {
            return Status::Created;
        }
        if self.cgroups_path.as_deref().is_some_and(frozen) {
            return Status::Paused;
        }
        Status::Running
    }

    /// The OCI `state` document.
    pub fn document(&self, dir: &Path) -> serde_json::Value {
        let status = self.status(dir);
        serde_json::json!({
            "ociVersion": crate::runtime::spec::OCI_VERSION,
            "id": self.id,
            "pid": if status == Status::Stopped { 0 } else { self.pid },
            "status": status.as_str(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": "",
            "annotations": self.annotations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_names() {
        assert!(valid_id("abc-1_2.3"));
        assert!(!valid_id(""));
        assert!(!valid_id("../x"));
        assert!(!valid_id("a/b"));
        assert!(!valid_id(".hidden"));
    }

    #[test]
    fn a_record_of_a_dead_process_is_stopped() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let rec = Record {
            id: "x".into(),
            pid: i32::MAX,
            pid_start: 1,
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            created: "2026-01-01T00:00:00Z".into(),
            annotations: BTreeMap::new(),
            cgroups_path: None,
            owner: 0,
            later_hooks: Some(LaterHooks {
                poststart: Vec::new(),
                poststop: vec![
                    serde_json::from_value(serde_json::json!({"path": "/bin/true"})).expect("hook"),
                ],
            }),
            host_root_mount: None,
        };
        rec.save(tmp.path()).expect("save");
        let back = Record::load(tmp.path()).expect("load").expect("present");
        assert_eq!(back, rec);
        assert_eq!(back.status(tmp.path()), Status::Stopped);
        assert_eq!(back.document(tmp.path())["pid"], 0);
    }
}
