//! A pod's containers started, stopped, signalled, frozen and removed as
//! one: the infra container first up and last down, the application
//! containers stopped together, and the pod's exit policy carried out by
//! the cleanup that follows each container's exit.

use crate::engine::container::remove::RemoveOptions;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::ContainerRecord;
use crate::state::pod::{ExitPolicy, PodRecord};

/// `pod rm`.
#[derive(Debug, Clone, Default)]
pub struct PodRemoveOptions {
    /// Stop running containers first.
    pub force: bool,
    /// Seconds to wait for a stop before SIGKILL.
    pub timeout: Option<u64>,
}

/// What a pod-wide action did, container by container: the pod, and the
/// errors of those it failed on (it goes on with the others).
#[derive(Debug)]
pub struct PodOutcome {
    pub pod: PodRecord,
    pub errors: Vec<(String, ContainerError)>,
}

impl PodOutcome {
    /// The first failure as the error of the whole, podman-style.
    pub fn into_result(self) -> Result<PodRecord, ContainerError> {
        match self.errors.into_iter().next() {
            None => Ok(self.pod),
            Some((name, e)) => Err(ContainerError::Invalid(format!("{name}: {e}"))),
        }
    }
}

impl Engine {
    /// `pod start`: the infra container, then the others (each after what
    /// it requires).
    pub fn start_pod(&self, input: &str) -> Result<PodOutcome, ContainerError> {
        let pod = self.find_pod(input)?;
        let mut members = self.pod_containers(&pod.id)?;
        // Infra first, then the reverse of the removal order.
        members.reverse();
        let mut errors = Vec::new();
        for c in members.iter().filter(|c| !c.state.status.is_live()) {
            if let Err(e) = self.start_container(&c.id) {
                errors.push((c.name.clone(), e));
            }
        }
        Ok(PodOutcome { pod, errors })
    }

    /// `pod stop`: the application containers together, then the infra
    /// container.
    pub fn stop_pod(
        &self,
        input: &str,
        timeout: Option<u64>,
    ) -> Result<PodOutcome, ContainerError> {
        let pod = self.find_pod(input)?;
        let members = self.pod_containers(&pod.id)?;
        let errors = self.stop_members(&members, timeout);
        Ok(PodOutcome { pod, errors })
    }

    fn stop_members(
        &self,
        members: &[ContainerRecord],
        timeout: Option<u64>,
    ) -> Vec<(String, ContainerError)> {
        let (infra, apps): (Vec<_>, Vec<_>) = members
            .iter()
            .filter(|c| c.state.status.is_live())
            .partition(|c| c.config.infra);
        let mut errors = Vec::new();
        std::thread::scope(|s| {
            let stops: Vec<_> = apps
                .iter()
                .map(|c| (c, s.spawn(|| self.stop_container(&c.id, timeout))))
                .collect();
            for (c, h) in stops {
                match h.join() {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => errors.push((c.name.clone(), e)),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
        for c in infra {
            if let Err(e) = self.stop_container(&c.id, timeout) {
                errors.push((c.name.clone(), e));
            }
        }
        errors
    }

    /// `pod restart`: stop, then start.
    pub fn restart_pod(
        &self,
        input: &str,
        timeout: Option<u64>,
    ) -> Result<PodOutcome, ContainerError> {
        let stopped = self.stop_pod(input, timeout)?;
        if !stopped.errors.is_empty() {
            return Ok(stopped);
        }
        self.start_pod(&stopped.pod.id)
    }

    /// `pod kill`: `signal` to every live container of the pod.
    pub fn kill_pod(&self, input: &str, signal: i32) -> Result<PodOutcome, ContainerError> {
        let pod = self.find_pod(input)?;
        let members = self.pod_containers(&pod.id)?;
        let live: Vec<&ContainerRecord> = members
            .iter()
            .filter(|c| c.state.status.is_live())
            .collect();
        if live.is_empty() {
            return Err(ContainerError::Invalid(format!(
                "no containers of pod {} are running: pod state improper",
                pod.name
            )));
        }
        let errors = live
            .into_iter()
            .filter_map(|c| {
                self.kill_container(&c.id, signal)
                    .err()
                    .map(|e| (c.name.clone(), e))
            })
            .collect();
        Ok(PodOutcome { pod, errors })
    }

    /// `pod pause` / `pod unpause`: every container that is running (or
    /// paused).
    pub fn freeze_pod(&self, input: &str, pause: bool) -> Result<PodOutcome, ContainerError> {
        let pod = self.find_pod(input)?;
        self.require_cgroups(if pause { "pod pause" } else { "pod unpause" })?;
        let want = if pause {
            crate::state::container::Status::Running
        } else {
            crate::state::container::Status::Paused
        };
        let errors = self
            .pod_containers(&pod.id)?
            .iter()
            .filter(|c| c.state.status == want)
            .filter_map(|c| {
                let r = if pause {
                    self.pause_container(&c.id)
                } else {
                    self.unpause_container(&c.id)
                };
                r.err().map(|e| (c.name.clone(), e))
            })
            .collect();
        Ok(PodOutcome { pod, errors })
    }

    /// `pod rm`: its containers (stopped first with `force`), the infra
    /// container last, then the record. Returns the pod and the ids of
    /// the containers removed.
    pub fn remove_pod(
        &self,
        input: &str,
        opts: &PodRemoveOptions,
    ) -> Result<(PodRecord, Vec<String>), ContainerError> {
        let pod = self.find_pod(input)?;
        let store = self.pods()?;
        let _lock = store.lock(&pod.id)?;
        let members = self.pod_containers(&pod.id)?;
        if !opts.force {
            if let Some(live) = members.iter().find(|c| c.state.status.is_live()) {
                return Err(ContainerError::Invalid(format!(
                    "pod {} has containers that are not ready to be removed: cannot remove container {} as it is {} - running or paused containers cannot be removed without force",
                    pod.short_id(),
                    live.short_id(),
                    live.state.status.as_str()
                )));
            }
        }
        let errors = self.stop_members(&members, opts.timeout);
        if let Some((name, e)) = errors.into_iter().next() {
            return Err(ContainerError::Invalid(format!("stopping {name}: {e}")));
        }
        let mut removed = Vec::new();
        for c in &members {
            let gone = self.remove_container(
                &c.id,
                RemoveOptions {
                    force: opts.force,
                    timeout: opts.timeout,
                    depend: false,
                    infra: true,
                    volumes: true,
                },
            );
            match gone {
                Ok(recs) => removed.extend(recs.into_iter().map(|r| r.id)),
                Err(e) if e.is_no_such_container() => {}
                Err(e) => return Err(e),
            }
        }
        self.remove_pod_cgroup(&pod);
        store.remove(&pod)?;
        Ok((pod, removed))
    }

    /// After an application container of pod `pod_id` exited (run by its
    /// cleanup): with the exit policy `stop`, the pod stops once none of
    /// them runs.
    pub(crate) fn pod_member_exited(&self, pod_id: &str) -> Result<(), ContainerError> {
        let Some(pod) = self.pods()?.get(pod_id)? else {
            return Ok(());
        };
        if pod.config.exit_policy != ExitPolicy::Stop {
            return Ok(());
        }
        let members = self.pod_containers(&pod.id)?;
        if members
            .iter()
            .any(|c| !c.config.infra && c.state.status.is_live())
        {
            return Ok(());
        }
        for c in members.iter().filter(|c| c.config.infra) {
            self.stop_container(&c.id, None)?;
        }
        Ok(())
    }
}

impl Engine {
    /// `pod prune`: remove every pod none of whose containers is live;
    /// returns their ids.
    pub fn prune_pods(&self) -> Result<Vec<String>, ContainerError> {
        let mut removed = Vec::new();
        for pod in self.pods()?.list()? {
            let idle = self
                .pod_containers(&pod.id)?
                .iter()
                .all(|c| !c.state.status.is_live());
            if !idle {
                continue;
            }
            match self.remove_pod(&pod.id, &PodRemoveOptions::default()) {
                Ok((p, _)) => removed.push(p.id),
                // Started or removed meanwhile.
                Err(e) => tracing::debug!("pruning pod {}: {e}", pod.name),
            }
        }
        Ok(removed)
    }
}
