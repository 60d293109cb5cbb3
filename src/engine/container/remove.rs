//! `rm`: remove containers, stopping them first with `--force`.

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::ContainerRecord;

#[derive(Debug, Clone, Default)]
pub struct RemoveOptions {
    /// Stop a running container first.
    pub force: bool,
    /// Seconds to wait for a stop before SIGKILL (`--time`).
    pub timeout: Option<u64>,
}

impl Engine {
    /// Remove one container; returns its record as it was.
    pub fn remove_container(
        &self,
        input: &str,
        opts: RemoveOptions,
    ) -> Result<ContainerRecord, ContainerError> {
        let rec = self.find_container(input)?;
        if rec.state.status.is_live() {
            if !opts.force {
                return Err(ContainerError::Running {
                    id: rec.id.clone(),
                    status: rec.state.status.as_str(),
                });
            }
            self.kill_and_wait(&rec, opts.timeout.unwrap_or(0))?;
        }
        let store = self.containers()?;
        let _lock = store.lock(&rec.id)?;
        let Some(current) = store.get(&rec.id)? else {
            return Ok(rec);
        };
        self.release_resources(&current);
        store.remove(&current)?;
        Ok(current)
    }
}
