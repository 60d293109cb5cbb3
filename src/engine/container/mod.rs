//! Containers: create, start, stop, remove and observe them, with no daemon.
//! Each command reads the records, reconciles them with what the monitors
//! left behind (exit files, dead processes, a reboot), acts, and exits.

mod adopt;
pub mod attach;
pub mod binaries;
pub mod cleanup;
pub mod create;
pub mod depend;
pub mod detach_keys;
pub mod exec;
pub mod export;
pub mod files;
pub mod logs;
pub mod mount;
pub mod netfiles;
pub mod pasta;
pub mod pause;
pub mod ports;
pub mod prune;
pub mod reconcile;
pub mod remove;
pub mod rename;
pub mod restart;
pub mod shm;
pub mod size;
pub mod slirp;
pub mod spec;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;
pub mod usernet;
pub mod userns;

use crate::engine::lookup::LookupError;
use crate::engine::pull::PullError;
use crate::engine::{Engine, EngineError};
use crate::state::{ContainerStore, StateError};
use crate::storage::mount::MountError;

#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Pull(#[from] PullError),
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error(transparent)]
    Store(#[from] crate::storage::StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot remove container {id} as it is {status} - running or paused containers cannot be removed without force")]
    Running { id: String, status: &'static str },
    #[error(transparent)]
    Exec(#[from] start::ExecFailure),
    #[error("container {id} has dependent containers which must be removed before it: {}", dependents.join(", "))]
    HasDependents { id: String, dependents: Vec<String> },
    #[error(transparent)]
    VolumeInUse(#[from] crate::engine::volume::VolumeInUse),
    #[error("reading image config of {image}: {message}")]
    ImageConfig { image: String, message: String },
}

impl ContainerError {
    /// The container named does not exist (exit code 1 for some commands).
    pub fn is_no_such_container(&self) -> bool {
        matches!(self, ContainerError::State(e) if e.is_no_such_container())
    }
}

/// Why a rootless container has no cgroup here (for errors and warnings).
pub const NO_CGROUP_REASON: &str = "no cgroup v2 subtree is delegated to this user (a systemd user session with Delegate=yes gives one)";

impl Engine {
    /// Whether containers get cgroups (limits, pause, stats): always for
    /// root; for a normal user only with a delegated cgroup v2 subtree.
    pub fn cgroups_usable(&self) -> bool {
        match self.privilege() {
            crate::config::paths::Privilege::Root => true,
            crate::config::paths::Privilege::Rootless => crate::sys::cgroup::delegated_to_caller(),
        }
    }

    /// An error for `what` when containers have no cgroups here.
    pub fn require_cgroups(&self, what: &str) -> Result<(), ContainerError> {
        if self.cgroups_usable() {
            Ok(())
        } else {
            Err(ContainerError::Invalid(format!(
                "{what} needs the container's cgroup, and rootless containers have none here: {NO_CGROUP_REASON}"
            )))
        }
    }

    /// The container records, opened on first use.
    pub fn containers(&self) -> Result<&ContainerStore, ContainerError> {
        if let Some(c) = self.containers.get() {
            return Ok(c);
        }
        let opened = ContainerStore::open(&self.paths().root, &self.paths().runroot)?;
        Ok(self.containers.get_or_init(|| opened))
    }
}
