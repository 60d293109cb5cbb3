//! A pod's status, derived each time from its containers' (reconciled)
//! states, so it cannot drift from them: after a kill -9 of a monitor the
//! container is seen exited and the pod's status follows.

use crate::state::container::{ContainerRecord, Status};

/// podman's pod states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodStatus {
    Created,
    Running,
    /// Some containers run, others do not.
    Degraded,
    Paused,
    /// Every container has exited.
    Exited,
    /// Some have exited, none runs.
    Stopped,
}

impl PodStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PodStatus::Created => "Created",
            PodStatus::Running => "Running",
            PodStatus::Degraded => "Degraded",
            PodStatus::Paused => "Paused",
            PodStatus::Exited => "Exited",
            PodStatus::Stopped => "Stopped",
        }
    }

    /// The status of a pod with these containers.
    pub fn of(containers: &[ContainerRecord]) -> PodStatus {
        let n = containers.len();
        let count =
            |f: &dyn Fn(Status) -> bool| containers.iter().filter(|c| f(c.state.status)).count();
        let running = count(&|s| matches!(s, Status::Running | Status::Stopping));
        let paused = count(&|s| s == Status::Paused);
        let exited = count(&|s| s == Status::Exited);
        match () {
            _ if n == 0 => PodStatus::Created,
            _ if running == n => PodStatus::Running,
            _ if running > 0 => PodStatus::Degraded,
            _ if paused == n => PodStatus::Paused,
            _ if exited == n => PodStatus::Exited,
            _ if exited > 0 => PodStatus::Stopped,
            _ => PodStatus::Created,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::container::{ContainerConfig, ContainerState, ImageRef};

    fn c(status: Status) -> ContainerRecord {
        ContainerRecord {
            id: "0".repeat(64),
            name: "c".into(),
            image: ImageRef {
                id: crate::image::digest::Digest::of(b"x"),
                name: "x".into(),
                top_layer: None,
            },
            created: chrono::Utc::now(),
            config: ContainerConfig::default(),
            args: vec![],
            runtime: "crun".into(),
            state: ContainerState {
                status,
                ..Default::default()
            },
        }
    }

    #[test]
    fn the_pod_status_follows_its_containers() {
        use Status::*;
        let of = |s: &[Status]| PodStatus::of(&s.iter().map(|x| c(*x)).collect::<Vec<_>>());
        assert_eq!(of(&[]), PodStatus::Created);
        assert_eq!(of(&[Created, Created]), PodStatus::Created);
        assert_eq!(of(&[Running, Running]), PodStatus::Running);
        assert_eq!(of(&[Running, Exited]), PodStatus::Degraded);
        assert_eq!(of(&[Running, Created]), PodStatus::Degraded);
        assert_eq!(of(&[Paused, Paused]), PodStatus::Paused);
        assert_eq!(of(&[Exited, Exited]), PodStatus::Exited);
        assert_eq!(of(&[Exited, Created]), PodStatus::Stopped);
    }
}
