//! Containers: create, start, stop, remove and observe them, with no daemon.
//! Each command reads the records, reconciles them with what the monitors
//! left behind (exit files, dead processes, a reboot), acts, and exits.

pub mod attach;
pub mod cleanup;
pub mod create;
pub mod detach_keys;
pub mod exec;
pub mod logs;
pub mod pause;
pub mod prune;
pub mod reconcile;
pub mod remove;
pub mod rename;
pub mod restart;
pub mod spec;
pub mod start;
pub mod stats;
pub mod stop;
pub mod top;

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
    #[error("reading image config of {image}: {message}")]
    ImageConfig { image: String, message: String },
}

impl ContainerError {
    /// The container named does not exist (exit code 1 for some commands).
    pub fn is_no_such_container(&self) -> bool {
        matches!(self, ContainerError::State(e) if e.is_no_such_container())
    }
}

impl Engine {
    /// The container records, opened on first use.
    pub fn containers(&self) -> Result<&ContainerStore, ContainerError> {
        if let Some(c) = self.containers.get() {
            return Ok(c);
        }
        let opened = ContainerStore::open(&self.paths().root, &self.paths().runroot)?;
        Ok(self.containers.get_or_init(|| opened))
    }
}
