//! After a container's process exits, its monitor runs `skiff container
//! cleanup ID`: release the mount and runtime state, then remove the
//! container (`--rm`) or start it again (restart policy). This is how skiff
//! carries out `--rm` and restart policies with no daemon.

use std::time::Duration;

use crate::engine::container::remove::RemoveOptions;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::{ContainerRecord, RestartPolicy, Status};

/// File in the run directory naming the pid of a foreground `run` that
/// will collect the exit code (and remove the container itself).
pub const ATTACHED_MARKER: &str = "attached";

/// File in the run directory naming the pid of a `restart` that stops the
/// container and starts it again: neither `--rm` nor a restart policy acts
/// on that exit.
pub const RESTARTING_MARKER: &str = "restarting";

/// What cleanup did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupOutcome {
    StillRunning,
    Stopped,
    Removed,
    Restarted,
}

/// Whether the restart policy asks for another run after this exit.
pub fn should_restart(rec: &ContainerRecord) -> bool {
    if rec.state.stopped_by_user {
        return false;
    }
    match rec.config.restart {
        RestartPolicy::No => false,
        RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        RestartPolicy::OnFailure { max_retries } => {
            rec.state.exit_code.unwrap_or(0) != 0
                && (max_retries == 0 || rec.state.restart_count < max_retries)
        }
    }
}

impl Engine {
    /// Whether a live process named in the marker file `marker` of the run
    /// directory has taken charge of what follows the container's exit.
    fn claimed_by(&self, rec: &ContainerRecord, marker: &str) -> bool {
        let Ok(store) = self.containers() else {
            return false;
        };
        std::fs::read_to_string(store.rundir(&rec.id).join(marker))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .is_some_and(|pid| {
                crate::engine::container::reconcile::process_start_time(pid).is_some()
            })
    }

    pub fn cleanup_container(&self, input: &str) -> Result<CleanupOutcome, ContainerError> {
        let rec = self.find_container(input)?;
        let pod = rec.config.pod.clone().filter(|_| !rec.config.infra);
        let outcome = self.cleanup_exited(rec)?;
        if let (Some(pod), CleanupOutcome::Stopped | CleanupOutcome::Removed) = (pod, outcome) {
            self.pod_member_exited(&pod)?;
        }
        Ok(outcome)
    }

    fn cleanup_exited(&self, rec: ContainerRecord) -> Result<CleanupOutcome, ContainerError> {
        if rec.state.status.is_live() {
            return Ok(CleanupOutcome::StillRunning);
        }
        // Under the lock: a `start` (or `restart`) racing with this cleanup
        // holds it until the record says running, and the mount and
        // runtime state it just made must not be released.
        let store = self.containers()?;
        let rec = {
            let _lock = store.lock(&rec.id)?;
            match store.get(&rec.id)? {
                // A restart may have started the run whose exit called us
                // after we first looked, and that run may be over already:
                // then it is ours to handle (nobody else will).
                Some(mut r) if r.state.status.is_live() => {
                    if !self.settle_locked(&mut r, false)? {
                        return Ok(CleanupOutcome::StillRunning);
                    }
                    r
                }
                Some(r) => {
                    self.release_resources(&r);
                    r
                }
                None => return Ok(CleanupOutcome::Stopped),
            }
        };
        if rec.state.status != Status::Exited || self.claimed_by(&rec, RESTARTING_MARKER) {
            return Ok(CleanupOutcome::Stopped);
        }
        if rec.config.auto_remove {
            if self.claimed_by(&rec, ATTACHED_MARKER) {
                return Ok(CleanupOutcome::Stopped);
            }
            self.remove_container(
                &rec.id,
                RemoveOptions {
                    volumes: true,
                    ..Default::default()
                },
            )?;
            return Ok(CleanupOutcome::Removed);
        }
        if !should_restart(&rec) {
            return Ok(CleanupOutcome::Stopped);
        }
        // Back off: 100 ms doubling per restart, at most 10 s.
        let delay = 100u64 << rec.state.restart_count.min(7);
        std::thread::sleep(Duration::from_millis(delay.min(10_000)));
        {
            let _lock = store.lock(&rec.id)?;
            let Some(mut current) = store.get(&rec.id)? else {
                return Ok(CleanupOutcome::Stopped);
            };
            if current.state.stopped_by_user || current.state.status.is_live() {
                return Ok(CleanupOutcome::Stopped);
            }
            current.state.restart_count += 1;
            store.put(&current)?;
        }
        self.start_container(&rec.id)?;
        Ok(CleanupOutcome::Restarted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::container::*;

    fn rec(policy: RestartPolicy, code: i32, count: u32) -> ContainerRecord {
        ContainerRecord {
            id: "0".repeat(64),
            name: "x".into(),
            image: ImageRef {
                id: crate::image::digest::Digest::of(b""),
                name: "i".into(),
                top_layer: None,
            },
            created: chrono::Utc::now(),
            config: ContainerConfig {
                restart: policy,
                ..Default::default()
            },
            args: vec![],
            runtime: "runc".into(),
            state: ContainerState {
                status: Status::Exited,
                exit_code: Some(code),
                restart_count: count,
                ..Default::default()
            },
        }
    }

    #[test]
    fn restart_policies() {
        assert!(!should_restart(&rec(RestartPolicy::No, 1, 0)));
        assert!(should_restart(&rec(RestartPolicy::Always, 0, 5)));
        assert!(should_restart(&rec(
            RestartPolicy::OnFailure { max_retries: 2 },
            1,
            1
        )));
        assert!(!should_restart(&rec(
            RestartPolicy::OnFailure { max_retries: 2 },
            1,
            2
        )));
        assert!(!should_restart(&rec(
            RestartPolicy::OnFailure { max_retries: 0 },
            0,
            0
        )));
        let mut stopped = rec(RestartPolicy::Always, 0, 0);
        stopped.state.stopped_by_user = true;
        assert!(!should_restart(&stopped));
    }
}
