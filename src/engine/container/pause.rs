//! `pause` and `unpause`: freeze and thaw every process of a container with
//! the runtime's `pause`/`resume` (the freezer cgroup), recording the
//! status under the container's lock. A paused container is still live: its
//! monitor waits, and reconciling treats it like a running one.

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::{ContainerRecord, Status};

/// Which way a container goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freeze {
    Pause,
    Unpause,
}

impl Engine {
    /// `pause`: returns the paused record.
    pub fn pause_container(&self, input: &str) -> Result<ContainerRecord, ContainerError> {
        self.freeze(input, Freeze::Pause)
    }

    /// `unpause`: returns the running record.
    pub fn unpause_container(&self, input: &str) -> Result<ContainerRecord, ContainerError> {
        self.freeze(input, Freeze::Unpause)
    }

    fn freeze(&self, input: &str, way: Freeze) -> Result<ContainerRecord, ContainerError> {
        let rec = self.find_container(input)?;
        self.require_cgroups(match way {
            Freeze::Pause => "pause",
            Freeze::Unpause => "unpause",
        })?;
        let store = self.containers()?;
        let _lock = store.lock(&rec.id)?;
        let Some(mut current) = store.get(&rec.id)? else {
            return Err(crate::state::StateError::NoSuchContainer(input.to_string()).into());
        };
        let status = current.state.status;
        // Podman's wording, state and all.
        let improper =
            |what: String| ContainerError::Invalid(format!("{what}: container state improper"));
        match (way, status) {
            (Freeze::Pause, Status::Running) | (Freeze::Unpause, Status::Paused) => {}
            (Freeze::Pause, Status::Paused) => {
                return Err(improper(format!("{:?} is already paused", current.id)))
            }
            (Freeze::Pause, other) => {
                return Err(improper(format!(
                    "{:?} is not running, can't pause",
                    other.as_str()
                )))
            }
            (Freeze::Unpause, _) => {
                return Err(improper(format!(
                    "{:?} is not paused, can't unpause",
                    current.id
                )))
            }
        }
        let rt = self.runtime_for(&current)?;
        let done = match way {
            Freeze::Pause => rt.pause(&current.id),
            Freeze::Unpause => rt.resume(&current.id),
        };
        done.map_err(|e| ContainerError::Invalid(e.to_string()))?;
        current.state.status = match way {
            Freeze::Pause => Status::Paused,
            Freeze::Unpause => Status::Running,
        };
        store.put(&current)?;
        Ok(current)
    }

    /// Thaw a paused container so that a signal just sent reaches it (a
    /// frozen process handles nothing, and under the v1 freezer not even
    /// SIGKILL ends it), and record it as running again.
    pub(crate) fn thaw_for_signal(&self, rec: &ContainerRecord) -> Result<(), ContainerError> {
        let store = self.containers()?;
        let _lock = store.lock(&rec.id)?;
        let Some(mut current) = store.get(&rec.id)? else {
            return Ok(());
        };
        if current.state.status != Status::Paused {
            return Ok(());
        }
        if let Err(e) = self.runtime_for(&current)?.resume(&current.id) {
            // Already gone: the exit is recorded by reconciling.
            tracing::debug!("{e}");
        }
        current.state.status = Status::Running;
        store.put(&current)?;
        Ok(())
    }
}
