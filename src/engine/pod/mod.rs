//! Pods: containers that share the network, IPC and UTS namespaces (and
//! the PID and cgroup ones when asked) of an infra container, which runs
//! skiff's pause program and holds them, and are started, stopped and
//! removed as one. A pod's network (ports, networks, names) is its infra
//! container's; the pod record keeps what is the pod's own.

pub mod cgroup;
pub mod clone;
pub mod create;
pub mod lifecycle;
pub mod pause_image;
pub mod status;

use crate::config::paths::Privilege;
use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::{
    ContainerConfig, ContainerRecord, NamespaceMode, NetworkMode, UserNsMode,
};
use crate::state::pod::{PodRecord, PodStore, SharedNs};

impl Engine {
    /// The pod records (opened on each use, as networks are).
    pub fn pods(&self) -> Result<PodStore, ContainerError> {
        Ok(PodStore::open(&self.paths().root)?)
    }

    /// A pod by name, id or id prefix.
    pub fn find_pod(&self, input: &str) -> Result<PodRecord, ContainerError> {
        Ok(self.pods()?.lookup(input)?)
    }

    /// The containers of pod `id`, reconciled with what their monitors
    /// left, in removal order (those that require others first, the infra
    /// container last).
    pub fn pod_containers(&self, id: &str) -> Result<Vec<ContainerRecord>, ContainerError> {
        // Only the pod's own records are reconciled (each reconcile may
        // look at processes and files), not every container's.
        let members: Vec<ContainerRecord> = self
            .containers()?
            .list()?
            .into_iter()
            .filter(|c| c.config.pod.as_deref() == Some(id))
            .map(|c| self.reconcile(c))
            .collect::<Result<_, _>>()?;
        let order = crate::engine::container::depend::removal_order(&members);
        let mut out: Vec<ContainerRecord> = order
            .iter()
            .filter_map(|i| members.iter().find(|c| &c.id == i).cloned())
            .collect();
        // The infra container goes last whatever the order says.
        out.sort_by_key(|c| c.config.infra);
        Ok(out)
    }

    /// Put a new container into the pod `config.pod` names: it joins the
    /// namespaces the pod shares, and options that would contradict them
    /// are refused (as podman refuses them).
    pub(crate) fn join_pod(&self, config: &mut ContainerConfig) -> Result<(), ContainerError> {
        let Some(input) = config.pod.clone() else {
            return Ok(());
        };
        let pod = self.find_pod(&input)?;
        config.pod = Some(pod.id.clone());
        let Some(infra) = pod.infra.clone() else {
            return Ok(());
        };
        let bad = |m: &str| {
            Err(ContainerError::Invalid(format!(
                "invalid config provided: {m}"
            )))
        };
        // A pod with a user namespace of its own (`pod create --userns`):
        // every container joins it, with its mappings.
        let infra_rec = self.containers()?.get(&infra)?;
        if let Some(maps) = infra_rec
            .as_ref()
            .and_then(|i| i.config.id_mappings.clone())
        {
            if config.userns != UserNsMode::Host || config.id_mappings.is_some() {
                return bad("--userns, --uidmap and --gidmap must be given when the pod is created: the pod's containers share its user namespace");
            }
            config.userns = infra_rec.map(|i| i.config.userns).unwrap_or_default();
            config.id_mappings = Some(maps);
            config.namespaces.user = Some(infra.clone());
        }
        if pod.shares(SharedNs::Net) {
            if !config.ports.is_empty() || config.publish_all {
                return bad("published or exposed ports must be defined when the pod is created: network cannot be configured when it is shared with a pod");
            }
            if config.network != NetworkMode::Default {
                return bad("networks must be defined when the pod is created: network cannot be configured when it is shared with a pod");
            }
            if !config.dns.is_empty() || !config.add_hosts.is_empty() || config.no_hosts {
                return bad("--dns, --add-host and --no-hosts must be given when the pod is created: network cannot be configured when it is shared with a pod");
            }
            config.network = NetworkMode::Container(infra.clone());
        }
        let join = |mode: &mut NamespaceMode, flag: &str| {
            if *mode != NamespaceMode::Private {
                return Err(ContainerError::Invalid(format!(
                    "invalid config provided: --{flag} cannot be set for a container in a pod that shares that namespace"
                )));
            }
            *mode = NamespaceMode::Container(infra.clone());
            Ok(())
        };
        if pod.shares(SharedNs::Uts) {
            if config.hostname.is_some() {
                return bad(
                    "cannot set hostname when joining the pod UTS namespace: invalid configuration",
                );
            }
            join(&mut config.namespaces.uts, "uts")?;
        }
        if pod.shares(SharedNs::Ipc) {
            join(&mut config.namespaces.ipc, "ipc")?;
        }
        if pod.shares(SharedNs::Pid) {
            join(&mut config.namespaces.pid, "pid")?;
        }
        // The kernel refuses (EPERM, with every runtime) to join the infra
        // container's cgroup namespace from inside a user namespace: a
        // rootless user's, or the pod's own. There each container keeps a
        // cgroup namespace of its own; its cgroup is the pod's anyway.
        let userns = config.namespaces.user.is_some() || self.privilege() == Privilege::Rootless;
        if pod.shares(SharedNs::Cgroup) && config.namespaces.cgroup.is_none() && !userns {
            config.namespaces.cgroup = Some(NamespaceMode::Container(infra.clone()));
        }
        // The infra container starts first and stays while it exists.
        if !config.requires.contains(&infra) {
            config.requires.push(infra);
        }
        Ok(())
    }
}
