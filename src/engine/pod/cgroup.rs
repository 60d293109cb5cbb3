//! A pod's cgroup (root): `/skiff/pod-<id>` in every hierarchy, holding
//! the cgroups of all its containers, with the pod-wide limits
//! (`pod create --cpus/--memory`) written on it. Made before a container
//! of the pod starts (again after a reboot) and removed with the pod.

use std::path::PathBuf;

use oci_spec::runtime::{LinuxCpuBuilder, LinuxMemoryBuilder, LinuxResources};

use crate::config::paths::Privilege;
use crate::engine::container::spec::{cgroups_path, CGROUP_PARENT};
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::runtime::builtin::cgroups::Cgroup;
use crate::state::container::{ContainerRecord, Resources};
use crate::state::pod::PodRecord;

/// podman's CPU period, in microseconds.
const CPU_PERIOD: u64 = 100_000;

/// The cgroup of pod `id`, as a spec's `cgroupsPath`.
pub fn pod_cgroup_path(id: &str) -> PathBuf {
    PathBuf::from(format!("{CGROUP_PARENT}/pod-{id}"))
}

/// The limits of a pod's cgroup.
fn limits(r: &Resources) -> Result<LinuxResources, String> {
    let mut out = LinuxResources::default();
    if let Some(m) = r.memory {
        out.set_memory(Some(
            LinuxMemoryBuilder::default()
                .limit(m)
                .build()
                .map_err(|e| e.to_string())?,
        ));
    }
    if let Some(c) = r.cpus {
        out.set_cpu(Some(
            LinuxCpuBuilder::default()
                .quota((c * CPU_PERIOD as f64).round() as i64)
                .period(CPU_PERIOD)
                .build()
                .map_err(|e| e.to_string())?,
        ));
    }
    Ok(out)
}

impl Engine {
    /// The cgroup of container `rec`: below its pod's when it has one.
    pub fn container_cgroup(&self, rec: &ContainerRecord) -> PathBuf {
        match &rec.config.pod {
            Some(pod) => pod_cgroup_path(pod).join(&rec.id),
            None => cgroups_path(&rec.id),
        }
    }

    /// Make the cgroup of pod `id` with its limits (root only; a rootless
    /// pod has no limits to set, `pod create` refuses them).
    pub(crate) fn ensure_pod_cgroup(&self, id: &str) -> Result<(), ContainerError> {
        if self.privilege() != Privilege::Root {
            return Ok(());
        }
        let Some(pod) = self.pods()?.get(id)? else {
            return Ok(());
        };
        let path = pod_cgroup_path(&pod.id);
        let res = limits(&pod.config.resources).map_err(ContainerError::Invalid)?;
        Cgroup::create(&path, Some(&res)).map_err(|e| {
            ContainerError::Invalid(format!("making the cgroup of pod {}: {e}", pod.name))
        })?;
        Ok(())
    }

    /// Remove the cgroup of `pod`, once its containers are gone.
    pub(crate) fn remove_pod_cgroup(&self, pod: &PodRecord) {
        if self.privilege() != Privilege::Root {
            return;
        }
        for d in crate::sys::cgroup::remove_container_cgroup(&pod_cgroup_path(&pod.id)) {
            tracing::warn!("cannot remove the cgroup {}", d.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_limits_are_a_quota_and_a_memory_limit() {
        let r = Resources {
            memory: Some(64 << 20),
            cpus: Some(0.5),
            ..Default::default()
        };
        let l = limits(&r).expect("limits");
        assert_eq!(l.memory().as_ref().and_then(|m| m.limit()), Some(64 << 20));
        let cpu = l.cpu().as_ref().expect("cpu");
        assert_eq!(cpu.quota(), Some(50_000));
        assert_eq!(cpu.period(), Some(CPU_PERIOD));
        assert_eq!(
            pod_cgroup_path("abc"),
            std::path::Path::new("/skiff/pod-abc")
        );
    }
}
