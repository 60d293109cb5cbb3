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
    /// Remove the containers that require this one first (`--depend`).
    pub depend: bool,
    /// It may be a pod's infra container (only removing the pod does that).
    pub infra: bool,
    /// `-v`: its anonymous volumes go too (unless another container uses
    /// them).
    pub volumes: bool,
}

impl Engine {
    /// Remove one container (with `depend`, the containers that require
    /// it first); returns the records removed, the one named last.
    pub fn remove_container(
        &self,
        input: &str,
        opts: RemoveOptions,
    ) -> Result<Vec<ContainerRecord>, ContainerError> {
        let rec = self.find_container(input)?;
        if rec.config.infra && !opts.infra {
            let pod = match rec.config.pod.as_deref() {
                Some(p) => self.pods()?.get(p)?,
                None => None,
            };
            if let Some(pod) = pod {
                return Err(ContainerError::Invalid(format!(
                    "container {} is the infra container of pod {} and cannot be removed without removing the pod",
                    rec.short_id(),
                    pod.name
                )));
            }
        }
        let dependents = self.dependents_of(&rec.id)?;
        let mut removed = Vec::new();
        if !dependents.is_empty() && !opts.depend {
            return Err(ContainerError::HasDependents {
                id: rec.id.clone(),
                dependents: dependents.iter().map(|d| d.name.clone()).collect(),
            });
        }
        for d in &dependents {
            removed.extend(self.remove_container(&d.id, opts.clone())?);
        }
        removed.push(self.remove_record(rec, &opts)?);
        Ok(removed)
    }

    fn remove_record(
        &self,
        rec: ContainerRecord,
        opts: &RemoveOptions,
    ) -> Result<ContainerRecord, ContainerError> {
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
        self.drop_rootfs_holds(&current);
        self.release_resources(&current);
        store.remove(&current)?;
        if opts.volumes {
            self.remove_anonymous_volumes(&current);
        }
        Ok(current)
    }
}
