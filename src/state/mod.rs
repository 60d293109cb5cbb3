//! Records of containers (and later pods, volumes, networks): written
//! crash-safe under per-object locks, so concurrent skiff invocations and a
//! killed process never leave one half written.
//!
//! Layout: `<root>/containers/<id>/container.json` (the record) and
//! `userdata/` (logs, upper layer); `<root>/containers/names/<name>` (a
//! symlink to the id holding the name); `<root>/containers/locks/<id>.lock`;
//! `<runroot>/containers/<id>/` (bundle, sockets, pid files; gone after a
//! reboot); `<runroot>/exits/<id>` (exit codes written by the monitor);
//! `<runroot>/boot-id` (changes when the run directory is wiped).

pub mod container;
pub mod names;
pub mod network;
pub mod pod;
pub mod volume;

use std::io;
use std::path::{Path, PathBuf};

use crate::storage::lock::{self, LockError, LockGuard, LockMode};
use crate::storage::record::{self, RecordError};
use container::ContainerRecord;
use names::{NameError, Names};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("creating {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("no container with name or ID {0:?} found: no such container")]
    NoSuchContainer(String),
    #[error("no pod with name or ID {0:?} found: no such pod")]
    NoSuchPod(String),
    #[error("no volume with name {0:?} found: no such volume")]
    NoSuchVolume(String),
    #[error("removing volume {name}: {source}")]
    RemoveVolume {
        name: String,
        #[source]
        source: io::Error,
    },
    #[error("{input:?} matches {count} records: use more of the ID")]
    Ambiguous { input: String, count: usize },
    #[error("removing container {id}: {source}")]
    Remove {
        id: String,
        #[source]
        source: io::Error,
    },
}

impl StateError {
    pub fn is_no_such_container(&self) -> bool {
        matches!(self, StateError::NoSuchContainer(_))
    }
}

/// The container records of one store.
#[derive(Debug, Clone)]
pub struct ContainerStore {
    dir: PathBuf,
    run: PathBuf,
    names: Names,
}

fn mkdir(p: &Path) -> Result<(), StateError> {
    crate::config::paths::ensure_private_dir(p).map_err(|source| StateError::Create {
        path: p.to_owned(),
        source,
    })
}

impl ContainerStore {
    pub fn open(root: &Path, runroot: &Path) -> Result<Self, StateError> {
        let dir = root.join("containers");
        let run = runroot.to_owned();
        for d in [
            dir.clone(),
            dir.join("names"),
            dir.join("locks"),
            run.join("containers"),
            run.join("exits"),
        ] {
            mkdir(&d)?;
        }
        Ok(Self {
            names: Names::new(dir.join("names")),
            dir,
            run,
        })
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("container.json")
    }

    /// Persistent per-container directory (logs, upper layer).
    pub fn userdata(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("userdata")
    }

    /// Volatile per-container directory (bundle, sockets, pid files).
    pub fn rundir(&self, id: &str) -> PathBuf {
        self.run.join("containers").join(id)
    }

    /// The directory of a container's user-mode network helper (pasta or
    /// slirp4netns: its namespace file, pid file, socket): apart from the
    /// bundle, which a container with a user namespace of its own owns,
    /// as the helper drops its capabilities.
    pub fn usernet_dir(&self, id: &str) -> PathBuf {
        self.run.join("usernet").join(id)
    }

    /// Where the monitor writes the exit code.
    pub fn exits_dir(&self) -> PathBuf {
        self.run.join("exits")
    }

    /// The id of this boot of the run directory, created on first use.
    pub fn boot_id(&self) -> Result<String, StateError> {
        let p = self.run.join("boot-id");
        if let Ok(s) = std::fs::read_to_string(&p) {
            if !s.trim().is_empty() {
                return Ok(s.trim().to_string());
            }
        }
        let _g = lock::lock(&self.run.join("boot-id.lock"), LockMode::Exclusive)?;
        if let Ok(s) = std::fs::read_to_string(&p) {
            if !s.trim().is_empty() {
                return Ok(s.trim().to_string());
            }
        }
        let id = names::new_id().map_err(|source| StateError::Create {
            path: p.clone(),
            source,
        })?;
        record::write_atomic(&p, id.as_bytes())?;
        Ok(id)
    }

    /// Lock one container for a read-modify-write.
    pub fn lock(&self, id: &str) -> Result<LockGuard, StateError> {
        Ok(lock::lock(&self.lock_path(id), LockMode::Exclusive)?)
    }

    /// The file `lock` locks.
    pub fn lock_path(&self, id: &str) -> PathBuf {
        self.dir.join("locks").join(format!("{id}.lock"))
    }

    pub fn get(&self, id: &str) -> Result<Option<ContainerRecord>, StateError> {
        Ok(record::read_json(&self.record_path(id))?)
    }

    /// Write a record (caller holds the container's lock, or created it).
    pub fn put(&self, rec: &ContainerRecord) -> Result<(), StateError> {
        mkdir(&self.dir.join(&rec.id))?;
        mkdir(&self.userdata(&rec.id))?;
        Ok(record::write_json(&self.record_path(&rec.id), rec)?)
    }

    /// Ids of all containers with a record.
    pub fn ids(&self) -> Result<Vec<String>, StateError> {
        record_ids(&self.dir)
    }

    /// All records, newest first.
    pub fn list(&self) -> Result<Vec<ContainerRecord>, StateError> {
        let mut out = self.get_many(&self.ids()?)?;
        // Records are large: sort (key, index) pairs, then move each once.
        out.sort_by_cached_key(|r| std::cmp::Reverse(r.created));
        Ok(out)
    }

    /// The records of `ids` that exist, in that order. Reading and parsing
    /// is most of `ps`: many records are read on several threads.
    fn get_many(&self, ids: &[String]) -> Result<Vec<ContainerRecord>, StateError> {
        /// Fewer records than this per thread are not worth a thread.
        const PER_THREAD: usize = 128;
        let read = |ids: &[String]| -> Result<Vec<ContainerRecord>, StateError> {
            ids.iter()
                .filter_map(|id| self.get(id).transpose())
                .collect()
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8)
            .min(ids.len() / PER_THREAD)
            .max(1);
        if threads == 1 {
            return read(ids);
        }
        let mut parts = ids.chunks(ids.len().div_ceil(threads));
        let first = parts.next().unwrap_or_default();
        std::thread::scope(|scope| {
            let workers: Vec<_> = parts.map(|part| scope.spawn(move || read(part))).collect();
            // This thread reads the first part meanwhile.
            let mut out = Vec::with_capacity(ids.len());
            out.extend(read(first)?);
            for w in workers {
                match w.join() {
                    Ok(records) => out.extend(records?),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Ok(out)
        })
    }

    /// Find a container by name, full id or unique id prefix.
    pub fn lookup(&self, input: &str) -> Result<ContainerRecord, StateError> {
        let found = resolve_id(&self.names, input, || self.ids(), |id| self.get(id))?;
        found.ok_or_else(|| StateError::NoSuchContainer(input.to_string()))
    }

    /// Remove the record, its directories and its name (caller holds the
    /// lock and has stopped and unmounted the container).
    pub fn remove(&self, rec: &ContainerRecord) -> Result<(), StateError> {
        let err = |source| StateError::Remove {
            id: rec.id.clone(),
            source,
        };
        // The record goes first: a crash after this leaves only files.
        match std::fs::remove_file(self.record_path(&rec.id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(err(e)),
            _ => {}
        }
        crate::storage::layers::remove_tree(&self.dir.join(&rec.id));
        crate::storage::layers::remove_tree(&self.rundir(&rec.id));
        crate::storage::layers::remove_tree(&self.usernet_dir(&rec.id));
        let _ = std::fs::remove_file(self.exits_dir().join(&rec.id));
        self.names.release(&rec.name, &rec.id).map_err(err)?;
        let _ = std::fs::remove_file(self.dir.join("locks").join(format!("{}.lock", rec.id)));
        Ok(())
    }
}

/// The ids (64 hex digits) of the record directories in `dir`.
fn record_ids(dir: &Path) -> Result<Vec<String>, StateError> {
    let rd = std::fs::read_dir(dir).map_err(|source| StateError::Create {
        path: dir.to_owned(),
        source,
    })?;
    Ok(rd
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect())
}

/// The record `input` names: a name in `names`, a full id, or a prefix
/// of exactly one id.
fn resolve_id<R>(
    names: &Names,
    input: &str,
    ids: impl FnOnce() -> Result<Vec<String>, StateError>,
    get: impl Fn(&str) -> Result<Option<R>, StateError>,
) -> Result<Option<R>, StateError> {
    if let Some(id) = names.holder(input) {
        if let Some(r) = get(&id)? {
            return Ok(Some(r));
        }
    }
    let hex = !input.is_empty() && input.bytes().all(|b| b.is_ascii_hexdigit());
    // A full id (what skiff passes itself, over and over while waiting
    // for an exit) needs no scan of every record.
    if hex && input.len() == 64 {
        if let Some(r) = get(input)? {
            return Ok(Some(r));
        }
    }
    if !hex {
        return Ok(None);
    }
    let hits: Vec<String> = ids()?
        .into_iter()
        .filter(|id| id.starts_with(input))
        .collect();
    match hits.len() {
        0 => Ok(None),
        1 => get(&hits[0]),
        count => Err(StateError::Ambiguous {
            input: input.to_string(),
            count,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use container::{ContainerConfig, ContainerState, ImageRef};

    fn record(id: String, name: &str, age_secs: i64) -> ContainerRecord {
        ContainerRecord {
            id,
            name: name.into(),
            image: ImageRef {
                id: crate::image::digest::Digest::of(b""),
                name: "i".into(),
                top_layer: None,
            },
            created: chrono::Utc::now() - chrono::Duration::seconds(age_secs),
            config: ContainerConfig::default(),
            args: vec!["true".into()],
            runtime: "runc".into(),
            state: ContainerState::default(),
        }
    }

    #[test]
    fn list_reads_every_record_newest_first() {
        let d = tempfile::tempdir().expect("tempdir");
        let store =
            ContainerStore::open(&d.path().join("root"), &d.path().join("run")).expect("open");
        // Enough records to be read on several threads.
        let n = 300;
        for i in 0..n {
            let id = format!("{i:064x}");
            store
                .put(&record(id, &format!("c{i}"), i as i64))
                .expect("put");
        }
        // A directory without a record is skipped.
        std::fs::create_dir(d.path().join("root/containers").join("f".repeat(64))).expect("mkdir");
        let all = store.list().expect("list");
        assert_eq!(all.len(), n);
        let names: Vec<String> = all.iter().map(|r| r.name.clone()).collect();
        let want: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
        assert_eq!(names, want, "newest first");
    }

    #[test]
    fn lookup_by_name_full_id_and_prefix() {
        let d = tempfile::tempdir().expect("tempdir");
        let store =
            ContainerStore::open(&d.path().join("root"), &d.path().join("run")).expect("open");
        let a = format!("ab{}", "0".repeat(62));
        let b = format!("ac{}", "1".repeat(62));
        for (id, name) in [(&a, "web"), (&b, "db")] {
            store.names().claim(name, id).expect("claim");
            store.put(&record(id.clone(), name, 0)).expect("put");
        }
        assert_eq!(store.lookup("web").expect("name").id, a);
        assert_eq!(store.lookup(&b).expect("full id").name, "db");
        assert_eq!(store.lookup("ab").expect("prefix").id, a);
        assert!(matches!(
            store.lookup("a"),
            Err(StateError::Ambiguous { count: 2, .. })
        ));
        assert!(store
            .lookup(&"9".repeat(64))
            .expect_err("absent")
            .is_no_such_container());
        assert!(store
            .lookup("nope")
            .expect_err("absent")
            .is_no_such_container());
    }
}
