//! `pod create`: claim the name, make the infra container (with the
//! pod's network, ports and names), then write the record. A failure on
//! the way takes back what was done.

use chrono::Utc;

use crate::engine::container::create::{CreateOptions, PullPolicy};
use crate::engine::container::remove::RemoveOptions;
use crate::engine::container::ContainerError;
use crate::engine::pull::Silent;
use crate::engine::Engine;
use crate::state::container::ContainerConfig;
use crate::state::names;
use crate::state::pod::{PodConfig, PodRecord};

/// The infra container of a new pod.
#[derive(Debug, Clone)]
pub struct InfraOptions {
    /// `--infra=false` makes a pod of nothing but a shared lifecycle.
    pub enabled: bool,
    /// `--infra-name` (default: the pod's short id and `-infra`).
    pub name: Option<String>,
    /// `--infra-image` (default: skiff's pause image, made locally).
    pub image: Option<String>,
    /// `--infra-command`: its entrypoint (default: the image's).
    pub command: Option<Vec<String>>,
    /// What the pod's containers share through it: network mode, ports,
    /// `--add-host`, `--dns`, host name, user namespace.
    pub config: ContainerConfig,
}

impl Default for InfraOptions {
    fn default() -> Self {
        InfraOptions {
            enabled: true,
            name: None,
            image: None,
            command: None,
            config: ContainerConfig {
                network: crate::state::container::NetworkMode::Default,
                ..Default::default()
            },
        }
    }
}

/// Typed options of `pod create`.
#[derive(Debug, Clone, Default)]
pub struct PodCreateOptions {
    pub name: Option<String>,
    /// `--replace`: remove a pod holding the name first.
    pub replace: bool,
    pub config: PodConfig,
    pub infra: InfraOptions,
}

impl Engine {
    /// Create a pod; returns its record.
    pub fn create_pod(&self, opts: &PodCreateOptions) -> Result<PodRecord, ContainerError> {
        let store = self.pods()?;
        if let Some(n) = &opts.name {
            names::validate(n).map_err(|_| {
                ContainerError::Invalid(format!(
                    "invalid pod name {n:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
                ))
            })?;
        }
        let r = &opts.config.resources;
        if r.memory.is_some()
            || r.cpus.is_some()
            || r.cpu_shares.is_some()
            || r.pids_limit.is_some()
        {
            self.require_cgroups("a pod's resource limits (--cpus, --memory)")?;
        }
        if !opts.infra.enabled {
            let c = &opts.infra.config;
            if !c.ports.is_empty() || c.network != crate::state::container::NetworkMode::Default {
                return Err(ContainerError::Invalid(
                    "a pod without an infra container cannot have ports or a network: its containers share no network namespace".into(),
                ));
            }
        }
        if let (Some(name), true) = (&opts.name, opts.replace) {
            if store.names().holder(name).is_some() {
                self.remove_pod(
                    name,
                    &crate::engine::pod::lifecycle::PodRemoveOptions {
                        force: true,
                        ..Default::default()
                    },
                )?;
            }
        }
        let id = names::new_id().map_err(|e| ContainerError::Invalid(e.to_string()))?;
        let name = match &opts.name {
            Some(n) => {
                store.names().claim(n, &id).map_err(|e| match e {
                    names::NameError::InUse { .. } => ContainerError::Invalid(format!(
                        "the pod name {n:?} is already in use by another pod: remove that pod to reuse the name: pod already exists"
                    )),
                    other => ContainerError::State(other.into()),
                })?;
                n.clone()
            }
            None => store
                .names()
                .claim_generated(&id)
                .map_err(crate::state::StateError::from)?,
        };
        let made = (|| {
            let infra = if opts.infra.enabled {
                Some(self.create_infra(&id, &name, &opts.infra)?)
            } else {
                None
            };
            let rec = PodRecord {
                id: id.clone(),
                name: name.clone(),
                created: Utc::now(),
                config: opts.config.clone(),
                infra: infra.as_ref().map(|c| c.id.clone()),
            };
            if let Err(e) = store.put(&rec) {
                if let Some(c) = infra {
                    let _ = self.remove_container(&c.id, RemoveOptions::default());
                }
                return Err(e.into());
            }
            Ok(rec)
        })();
        if made.is_err() {
            let _ = store.names().release(&name, &id);
        }
        made
    }

    /// The infra container of pod `id`.
    fn create_infra(
        &self,
        id: &str,
        pod_name: &str,
        infra: &InfraOptions,
    ) -> Result<crate::state::container::ContainerRecord, ContainerError> {
        let image = match &infra.image {
            Some(i) => i.clone(),
            None => self.ensure_pause_image()?,
        };
        let mut config = infra.config.clone();
        config.pod = Some(id.to_string());
        config.infra = true;
        config.hostname = config.hostname.or_else(|| Some(pod_name.to_string()));
        if let Some(cmd) = &infra.command {
            config.entrypoint = Some(cmd.clone());
            config.command.clear();
        }
        self.create_container(
            &CreateOptions {
                image,
                name: Some(
                    infra
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("{}-infra", &id[..12])),
                ),
                pull: PullPolicy::Missing,
                config,
                ..Default::default()
            },
            &Silent,
        )
    }
}

impl Engine {
    /// `run|create --pod new:NAME`: a pod with the default shared
    /// namespaces and the container's network options, then the container
    /// in it; the pod goes again if the container cannot be made.
    pub(crate) fn create_in_new_pod(
        &self,
        opts: &CreateOptions,
        pod_name: &str,
        observer: &dyn crate::engine::pull::PullObserver,
    ) -> Result<crate::state::container::ContainerRecord, ContainerError> {
        let mut opts = opts.clone();
        opts.new_pod = None;
        let c = &mut opts.config;
        let mut infra = InfraOptions::default();
        let i = &mut infra.config;
        i.network = std::mem::replace(
            &mut c.network,
            crate::state::container::NetworkMode::Default,
        );
        std::mem::swap(&mut i.ports, &mut c.ports);
        std::mem::swap(&mut i.add_hosts, &mut c.add_hosts);
        std::mem::swap(&mut i.dns, &mut c.dns);
        std::mem::swap(&mut i.no_hosts, &mut c.no_hosts);
        let pod = self.create_pod(&PodCreateOptions {
            name: Some(pod_name.to_string()),
            config: PodConfig {
                share: crate::state::pod::SharedNs::DEFAULT.to_vec(),
                ..Default::default()
            },
            infra,
            ..Default::default()
        })?;
        opts.config.pod = Some(pod.id.clone());
        let made = self.create_container(&opts, observer);
        if made.is_err() {
            let _ = self.remove_pod(
                &pod.id,
                &crate::engine::pod::lifecycle::PodRemoveOptions {
                    force: true,
                    ..Default::default()
                },
            );
        }
        made
    }
}
