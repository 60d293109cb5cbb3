//! `pod clone`: a new pod made from an existing pod's configuration and
//! its infra container's, with a copy of each of its containers.

use crate::engine::container::create::{CreateOptions, PullPolicy};
use crate::engine::container::ContainerError;
use crate::engine::pod::create::{InfraOptions, PodCreateOptions};
use crate::engine::pod::lifecycle::PodRemoveOptions;
use crate::engine::pull::Silent;
use crate::engine::Engine;
use crate::state::container::{ContainerConfig, ContainerRecord, NamespaceMode, NetworkMode};
use crate::state::pod::{PodConfig, PodRecord};

/// `pod clone`'s options.
#[derive(Debug, Clone, Default)]
pub struct PodCloneOptions {
    /// The new pod's name (default: the original's with `-clone`).
    pub name: Option<String>,
    /// Remove the original pod first (its containers keep their names in
    /// the copy).
    pub destroy: bool,
    /// Start the new pod.
    pub start: bool,
    /// The new pod's own configuration (default: the original's).
    pub config: Option<PodConfig>,
}

/// A pod member's configuration without what tied it to its old pod.
fn detached(config: &ContainerConfig, old_infra: Option<&str>) -> ContainerConfig {
    let mut c = config.clone();
    let tied = |id: &str| Some(id) == old_infra;
    c.pod = None;
    c.infra = false;
    c.requires.retain(|r| !tied(r));
    if matches!(&c.network, NetworkMode::Container(id) if tied(id)) {
        c.network = NetworkMode::Default;
    }
    let m = &mut c.namespaces;
    for mode in [&mut m.ipc, &mut m.uts, &mut m.pid] {
        if matches!(mode, NamespaceMode::Container(id) if tied(id)) {
            *mode = NamespaceMode::Private;
        }
    }
    if matches!(&m.cgroup, Some(NamespaceMode::Container(id)) if tied(id)) {
        m.cgroup = None;
    }
    // The new pod's containers get its user namespace again.
    if m.user.as_deref().is_some_and(tied) {
        m.user = None;
        c.userns = crate::state::container::UserNsMode::Host;
        c.id_mappings = None;
    }
    c
}

impl Engine {
    /// Copy pod `input`; returns the new pod.
    pub fn clone_pod(
        &self,
        input: &str,
        opts: PodCloneOptions,
    ) -> Result<PodRecord, ContainerError> {
        let pod = self.find_pod(input)?;
        let mut members = self.pod_containers(&pod.id)?;
        // Creation order: what others require first.
        members.reverse();
        let infra: Option<ContainerRecord> = members.iter().find(|c| c.config.infra).cloned();
        let apps: Vec<ContainerRecord> = members.into_iter().filter(|c| !c.config.infra).collect();
        let config = opts.config.clone().unwrap_or_else(|| pod.config.clone());
        let infra_opts = match &infra {
            Some(i) => {
                let mut c = detached(&i.config, None);
                // The infra container's host name is the pod's name unless
                // one was given.
                if c.hostname.as_deref() == Some(pod.name.as_str()) {
                    c.hostname = None;
                }
                InfraOptions {
                    enabled: true,
                    name: None,
                    image: Some(i.image.id.hex().to_string()),
                    command: i.config.entrypoint.clone(),
                    config: c,
                }
            }
            None => InfraOptions {
                enabled: false,
                ..Default::default()
            },
        };
        if opts.destroy {
            self.remove_pod(
                &pod.id,
                &PodRemoveOptions {
                    force: true,
                    timeout: None,
                },
            )?;
        }
        let new = self.create_pod(&PodCreateOptions {
            name: Some(
                opts.name
                    .clone()
                    .unwrap_or_else(|| format!("{}-clone", pod.name)),
            ),
            replace: false,
            config,
            infra: infra_opts,
        })?;
        let made = (|| {
            // Old ids to new ones, for the requirements between members.
            let mut ids: Vec<(String, String)> = Vec::new();
            for c in &apps {
                let mut config = detached(&c.config, pod.infra.as_deref());
                config.pod = Some(new.id.clone());
                config.requires = config
                    .requires
                    .iter()
                    .map(|r| {
                        ids.iter()
                            .find(|(old, _)| old == r)
                            .map_or_else(|| r.clone(), |(_, n)| n.clone())
                    })
                    .collect();
                let rec = self.create_container(
                    &CreateOptions {
                        image: c.image.id.hex().to_string(),
                        name: Some(if opts.destroy {
                            c.name.clone()
                        } else {
                            format!("{}-clone", c.name)
                        }),
                        pull: PullPolicy::Never,
                        runtime: Some(c.runtime.clone()),
                        config,
                        ..Default::default()
                    },
                    &Silent,
                )?;
                ids.push((c.id.clone(), rec.id));
            }
            if opts.start {
                self.start_pod(&new.id)?.into_result()?;
            }
            Ok(())
        })();
        if let Err(e) = made {
            let _ = self.remove_pod(
                &new.id,
                &PodRemoveOptions {
                    force: true,
                    timeout: Some(0),
                },
            );
            return Err(e);
        }
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_loses_its_ties_to_the_old_infra_container_only() {
        let old = "i".repeat(64);
        let other = "o".repeat(64);
        let c = ContainerConfig {
            pod: Some("p".repeat(64)),
            requires: vec![old.clone(), other.clone()],
            network: NetworkMode::Container(old.clone()),
            namespaces: crate::state::container::NamespaceModes {
                ipc: NamespaceMode::Container(old.clone()),
                uts: NamespaceMode::Container(other.clone()),
                pid: NamespaceMode::Host,
                cgroup: Some(NamespaceMode::Container(old.clone())),
                user: Some(old.clone()),
            },
            ..Default::default()
        };
        let d = detached(&c, Some(&old));
        assert_eq!(d.pod, None);
        assert_eq!(d.requires, std::slice::from_ref(&other));
        assert_eq!(d.network, NetworkMode::Default);
        assert_eq!(d.namespaces.ipc, NamespaceMode::Private);
        assert_eq!(d.namespaces.uts, NamespaceMode::Container(other));
        assert_eq!(d.namespaces.pid, NamespaceMode::Host);
        assert_eq!(d.namespaces.cgroup, None);
        assert_eq!(d.namespaces.user, None);
    }
}
