//! `container prune`: remove every container that is not running (created
//! or exited); running and paused ones stay.

use crate::engine::container::remove::RemoveOptions;
use crate::engine::container::ContainerError;
use crate::engine::Engine;

/// What a prune did: the ids removed, and the failures (it goes on past
/// one container that cannot be removed).
#[derive(Debug, Default)]
pub struct PruneReport {
    pub removed: Vec<String>,
    pub failed: Vec<(String, ContainerError)>,
}

impl Engine {
    pub fn prune_containers(&self) -> Result<PruneReport, ContainerError> {
        let mut report = PruneReport::default();
        for rec in self.list_containers()? {
            if rec.state.status.is_live() {
                continue;
            }
            match self.remove_container(&rec.id, RemoveOptions::default()) {
                Ok(_) => report.removed.push(rec.id),
                // Started or removed meanwhile by another command.
                Err(ContainerError::Running { .. }) => {}
                Err(e) if e.is_no_such_container() => {}
                Err(e) => report.failed.push((rec.id, e)),
            }
        }
        Ok(report)
    }
}
