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
    #[error("{input:?} matches {count} containers: use more of the ID")]
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
        Ok(lock::lock(
            &self.dir.join("locks").join(format!("{id}.lock")),
            LockMode::Exclusive,
        )?)
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
        let rd = std::fs::read_dir(&self.dir).map_err(|source| StateError::Create {
            path: self.dir.clone(),
            source,
        })?;
        Ok(rd
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            .collect())
    }

    /// All records, newest first.
    pub fn list(&self) -> Result<Vec<ContainerRecord>, StateError> {
        let mut out = Vec::new();
        for id in self.ids()? {
            if let Some(r) = self.get(&id)? {
                out.push(r);
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.created));
        Ok(out)
    }

    /// Find a container by name, full id or unique id prefix.
    pub fn lookup(&self, input: &str) -> Result<ContainerRecord, StateError> {
        if let Some(id) = self.names.holder(input) {
            if let Some(r) = self.get(&id)? {
                return Ok(r);
            }
        }
        if !input.is_empty() && input.bytes().all(|b| b.is_ascii_hexdigit()) {
            let hits: Vec<String> = self
                .ids()?
                .into_iter()
                .filter(|id| id.starts_with(input))
                .collect();
            match hits.len() {
                0 => {}
                1 => {
                    if let Some(r) = self.get(&hits[0])? {
                        return Ok(r);
                    }
                }
                count => {
                    return Err(StateError::Ambiguous {
                        input: input.to_string(),
                        count,
                    })
                }
            }
        }
        Err(StateError::NoSuchContainer(input.to_string()))
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
        let _ = std::fs::remove_file(self.exits_dir().join(&rec.id));
        self.names.release(&rec.name, &rec.id).map_err(err)?;
        let _ = std::fs::remove_file(self.dir.join("locks").join(format!("{}.lock", rec.id)));
        Ok(())
    }
}
