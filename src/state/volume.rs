//! Volume records: `<root>/volumes/<name>/volume.json` beside the volume's
//! files in `_data/`, locks under `<root>/volumes/.locks/`, and the
//! holders of a mounted volume (containers, `volume mount`) under
//! `<runroot>/volumes/<name>/`, gone with a reboot as the mounts are.
//!
//! A volume's name is its identity. A volume appears whole: it is made in
//! a staging directory and renamed into place, and the rename is what
//! claims the name; removal renames it away before deleting the files.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state::StateError;
use crate::storage::lock::{self, LockGuard, LockMode};
use crate::storage::record;

/// The only volume driver: directories in the store (optionally with a
/// filesystem mounted on them).
pub const LOCAL_DRIVER: &str = "local";

const RECORD: &str = "volume.json";
const DATA: &str = "_data";
const STAGING_PREFIX: &str = ".new-";
const TRASH_PREFIX: &str = ".gone-";

/// What is mounted on a volume's directory (`--opt type=,device=,o=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeMountOptions {
    /// Filesystem type (`tmpfs`, or `none`/`bind` with `o=bind`).
    pub typ: String,
    pub device: String,
    /// mount(8) options, comma separated.
    pub options: String,
}

impl VolumeMountOptions {
    /// A host directory bound on the volume (`type=none,o=bind`).
    pub fn is_bind(&self) -> bool {
        matches!(self.typ.as_str(), "none" | "bind")
            || self.options.split(',').any(|o| o == "bind" || o == "rbind")
    }
}

/// A volume record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeRecord {
    pub name: String,
    pub driver: String,
    pub created: DateTime<Utc>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `--opt` as given, for inspect.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// A filesystem mounted on the volume's directory while it is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<VolumeMountOptions>,
    /// Owner of the volume's directory (`o=uid=N,gid=N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Made for one container (`-v /path`, an image's VOLUME): removed
    /// with it by `rm -v` and `run --rm`.
    #[serde(default)]
    pub anonymous: bool,
    /// The first container that mounts it, empty, fills it with what its
    /// image has at that place.
    #[serde(default)]
    pub needs_copy_up: bool,
    /// The first container that mounts it, empty, gives it to its user
    /// (or to the owner of the image's directory there).
    #[serde(default)]
    pub needs_chown: bool,
}

/// The volume records of one store.
#[derive(Debug, Clone)]
pub struct VolumeStore {
    dir: PathBuf,
    run: PathBuf,
}

/// Whether `name` may name a volume: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl VolumeStore {
    /// The volumes of a store. Nothing is touched until a volume is made
    /// or locked: starting and removing containers without volumes does
    /// no volume I/O.
    pub fn open(root: &Path, runroot: &Path) -> Result<Self, StateError> {
        Ok(Self {
            dir: root.join("volumes"),
            run: runroot.join("volumes"),
        })
    }

    /// The volumes directory (0711: containers with user namespaces of
    /// their own pass through it) and its lock directory.
    fn ensure_dirs(&self) -> Result<(), StateError> {
        let locks = self.dir.join(".locks");
        if locks.is_dir() {
            return Ok(());
        }
        for d in [&self.dir, &locks] {
            mkdir(d)?;
        }
        traversable(&self.dir)
    }

    fn volume_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The directory holding the volume's files (its mount point).
    pub fn data_dir(&self, name: &str) -> PathBuf {
        self.volume_dir(name).join(DATA)
    }

    /// Lock one volume (its creation, removal, and the setup of its mount).
    pub fn lock(&self, name: &str) -> Result<LockGuard, StateError> {
        self.ensure_dirs()?;
        Ok(lock::lock(
            &self.dir.join(".locks").join(format!("{name}.lock")),
            LockMode::Exclusive,
        )?)
    }

    pub fn get(&self, name: &str) -> Result<Option<VolumeRecord>, StateError> {
        if !valid_name(name) {
            return Ok(None);
        }
        Ok(record::read_json(&self.volume_dir(name).join(RECORD))?)
    }

    /// Rewrite the record of an existing volume (caller holds the lock).
    pub fn put(&self, rec: &VolumeRecord) -> Result<(), StateError> {
        Ok(record::write_json(
            &self.volume_dir(&rec.name).join(RECORD),
            rec,
        )?)
    }

    /// Make a new volume with an empty `_data` owned by `owner`. `Ok(false)`:
    /// the name is taken (nothing changed).
    pub fn create(
        &self,
        rec: &VolumeRecord,
        owner: Option<(u32, u32)>,
    ) -> Result<bool, StateError> {
        self.ensure_dirs()?;
        let stage = self.dir.join(format!("{STAGING_PREFIX}{}", tag()?));
        let made = (|| -> Result<(), StateError> {
            mkdir(&stage)?;
            // Containers with user namespaces of their own reach `_data`
            // through it.
            traversable(&stage)?;
            let data = stage.join(DATA);
            std::fs::create_dir(&data).map_err(|source| StateError::Create {
                path: data.clone(),
                source,
            })?;
            // The files are the containers' to share, as in podman.
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755));
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::chown(&data, Some(uid), Some(gid)).map_err(|source| {
                    StateError::Create {
                        path: data.clone(),
                        source,
                    }
                })?;
            }
            record::write_json(&stage.join(RECORD), rec)?;
            Ok(())
        })();
        if let Err(e) = made {
            let _ = std::fs::remove_dir_all(&stage);
            return Err(e);
        }
        let target = self.volume_dir(&rec.name);
        match std::fs::rename(&stage, &target) {
            Ok(()) => {
                // The rename itself reaches the disk before anyone is told.
                std::fs::File::open(&self.dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|source| StateError::Create {
                        path: target.clone(),
                        source,
                    })?;
                Ok(true)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&stage);
                if target.exists() {
                    Ok(false)
                } else {
                    Err(StateError::Create {
                        path: target,
                        source: e,
                    })
                }
            }
        }
    }

    /// Every volume name.
    pub fn names(&self) -> Result<Vec<String>, StateError> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(source) => {
                return Err(StateError::Create {
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if valid_name(&name) && e.path().join(RECORD).exists() {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    /// All volumes, by name.
    pub fn list(&self) -> Result<Vec<VolumeRecord>, StateError> {
        Ok(self
            .names()?
            .iter()
            .map(|n| self.get(n))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Remove the volume and its files (caller holds the lock and has
    /// checked nothing uses it).
    pub fn remove(&self, name: &str) -> Result<(), StateError> {
        let gone = self.dir.join(format!("{TRASH_PREFIX}{}", tag()?));
        match std::fs::rename(self.volume_dir(name), &gone) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(StateError::RemoveVolume {
                    name: name.to_string(),
                    source,
                })
            }
        }
        crate::storage::layers::remove_tree(&gone);
        let _ = std::fs::remove_dir_all(self.holders_dir(name));
        let _ = std::fs::remove_file(self.dir.join(".locks").join(format!("{name}.lock")));
        Ok(())
    }

    /// Leftovers of creations and removals a crash interrupted.
    pub fn sweep(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(STAGING_PREFIX) || name.starts_with(TRASH_PREFIX) {
                crate::storage::layers::remove_tree(&e.path());
            }
        }
    }

    fn holders_dir(&self, name: &str) -> PathBuf {
        self.run.join(name)
    }

    /// Who holds the volume's mount (container ids, `volume mount`).
    pub fn holders(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(self.holders_dir(name))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Record `holder` as a user of the volume's mount.
    pub fn add_holder(&self, name: &str, holder: &str) -> Result<(), StateError> {
        let d = self.holders_dir(name);
        mkdir(&d)?;
        std::fs::write(d.join(holder), b"").map_err(|source| StateError::Create {
            path: d.join(holder),
            source,
        })
    }

    /// Drop `holder`; returns whether anyone still holds the mount.
    pub fn remove_holder(&self, name: &str, holder: &str) -> bool {
        let _ = std::fs::remove_file(self.holders_dir(name).join(holder));
        !self.holders(name).is_empty()
    }
}

/// Mode 0711: others may pass through, not list.
fn traversable(p: &Path) -> Result<(), StateError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o711)).map_err(|source| {
        StateError::Create {
            path: p.to_owned(),
            source,
        }
    })
}

/// A random name part for staging and trash directories.
fn tag() -> Result<String, StateError> {
    crate::state::names::random_bytes::<8>()
        .map(hex::encode)
        .map_err(|source| StateError::Create {
            path: PathBuf::from("/dev/urandom"),
            source,
        })
}

fn mkdir(p: &Path) -> Result<(), StateError> {
    crate::config::paths::ensure_private_dir(p).map_err(|source| StateError::Create {
        path: p.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(name: &str) -> VolumeRecord {
        VolumeRecord {
            name: name.into(),
            driver: LOCAL_DRIVER.into(),
            created: Utc::now(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            mount: None,
            uid: None,
            gid: None,
            anonymous: false,
            needs_copy_up: true,
            needs_chown: true,
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("data"));
        assert!(valid_name("my_vol-1.2"));
        assert!(!valid_name(""));
        assert!(!valid_name(".hidden"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("-x"));
    }

    #[test]
    fn a_volume_is_created_once_listed_and_removed_whole() {
        let d = tempfile::tempdir().expect("tempdir");
        let store = VolumeStore::open(&d.path().join("root"), &d.path().join("run")).expect("open");
        assert!(store.create(&volume("data"), None).expect("create"));
        assert!(!store.create(&volume("data"), None).expect("taken"));
        assert!(store.data_dir("data").is_dir());
        std::fs::write(store.data_dir("data").join("f"), b"x").expect("write");
        assert!(store.create(&volume("b"), None).expect("create"));
        assert_eq!(store.names().expect("names"), ["b", "data"]);
        store.add_holder("data", "c1").expect("hold");
        store.add_holder("data", "c2").expect("hold");
        assert!(store.remove_holder("data", "c1"));
        assert!(!store.remove_holder("data", "c2"));
        store.remove("data").expect("remove");
        assert!(store.get("data").expect("get").is_none());
        assert_eq!(store.names().expect("names"), ["b"]);
        let left: Vec<_> = std::fs::read_dir(d.path().join("root/volumes"))
            .expect("dir")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 2, "b and the locks: {left:?}");
        assert!(store.get("../x").expect("bad name").is_none());
    }
}
