//! `skiff pod create`: podman's flags to the engine's typed pod options.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::create::NetworkArgs;
use crate::cli::container::parse;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::pod::create::{InfraOptions, PodCreateOptions};
use crate::state::container::{ContainerConfig, Resources};
use crate::state::pod::{ExitPolicy, PodConfig, SharedNs};

#[derive(Debug, Args, Clone)]
pub struct CreateArgs {
    /// Name of the pod
    #[arg(short, long)]
    pub name: Option<String>,
    /// Host name of the pod (default: its name)
    #[arg(long)]
    pub hostname: Option<String>,
    /// Namespaces its containers share: comma-separated cgroup, ipc, net,
    /// pid, uts, or none; +NS adds to the default (cgroup,ipc,net,uts)
    #[arg(long)]
    pub share: Option<String>,
    /// Set a label (KEY=VALUE)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// CPUs for the whole pod (e.g. 1.5)
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Memory for the whole pod (e.g. 256m)
    #[arg(short, long)]
    pub memory: Option<String>,
    /// When the last container exits: continue (the pod keeps running) or
    /// stop (the pod stops)
    #[arg(long, default_value = "continue", value_parser = ["continue", "stop"])]
    pub exit_policy: String,
    /// User namespace of the pod, shared by all its containers: host
    /// (skiff's own), keep-id[:uid=N,gid=N], nomap, auto[:size=N]
    #[arg(long)]
    pub userns: Option<String>,
    /// Remove a pod with the same name first
    #[arg(long)]
    pub replace: bool,
    /// Make an infra container holding the shared namespaces
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true)]
    pub infra: bool,
    /// Name of the infra container
    #[arg(long)]
    pub infra_name: Option<String>,
    /// Image of the infra container (default: skiff's pause image, made
    /// locally)
    #[arg(long)]
    pub infra_image: Option<String>,
    /// Command of the infra container (a string, or a JSON array)
    #[arg(long)]
    pub infra_command: Option<String>,
    #[command(flatten)]
    pub net: NetworkArgs,
    /// Name of the pod (as --name)
    #[arg(conflicts_with = "name")]
    pub pod_name: Option<String>,
}

/// `--share`: podman's list, `none`, or `+NS,...` on top of the default.
fn share(s: Option<&str>) -> anyhow::Result<Vec<SharedNs>> {
    let Some(s) = s else {
        return Ok(SharedNs::DEFAULT.to_vec());
    };
    let (mut out, list) = match s.strip_prefix('+') {
        Some(rest) => (SharedNs::DEFAULT.to_vec(), rest),
        None => (Vec::new(), s),
    };
    for item in list.split(',').filter(|i| !i.is_empty()) {
        if item == "none" {
            continue;
        }
        let ns = SharedNs::parse(item).ok_or_else(|| {
            anyhow::anyhow!("invalid --share {item:?}: use cgroup, ipc, net, pid, uts or none")
        })?;
        if !out.contains(&ns) {
            out.push(ns);
        }
    }
    out.sort();
    Ok(out)
}

impl CreateArgs {
    pub fn to_options(&self) -> anyhow::Result<PodCreateOptions> {
        let userns = parse::userns(self.userns.as_deref().unwrap_or(""))?;
        let mut config = ContainerConfig {
            hostname: self.hostname.clone(),
            userns,
            ..Default::default()
        };
        self.net.apply(&mut config)?;
        let shared = share(self.share.as_deref())?;
        if !self.infra && self.share.is_some() && !shared.is_empty() {
            anyhow::bail!("--share needs an infra container: drop --infra=false");
        }
        if !shared.contains(&SharedNs::Net)
            && (!config.ports.is_empty() || !self.net.network.is_empty())
        {
            anyhow::bail!(
                "--publish and --network need the pod to share its network namespace (--share net)"
            );
        }
        if !shared.contains(&SharedNs::Uts) && self.hostname.is_some() {
            anyhow::bail!("--hostname needs the pod to share its UTS namespace (--share uts)");
        }
        if let Some(c) = self.cpus {
            if c <= 0.0 {
                anyhow::bail!("invalid --cpus {c}: must be greater than 0");
            }
        }
        let command = self
            .infra_command
            .as_deref()
            .map(|c| {
                if c.trim_start().starts_with('[') {
                    serde_json::from_str::<Vec<String>>(c).map_err(|e| {
                        anyhow::anyhow!("invalid --infra-command JSON array {c:?}: {e}")
                    })
                } else {
                    Ok(vec![c.to_string()])
                }
            })
            .transpose()?;
        if !self.infra
            && (self.infra_name.is_some() || self.infra_image.is_some() || command.is_some())
        {
            anyhow::bail!(
                "--infra-name, --infra-image and --infra-command need an infra container"
            );
        }
        Ok(PodCreateOptions {
            name: self.name.clone().or_else(|| self.pod_name.clone()),
            replace: self.replace,
            config: PodConfig {
                labels: parse::key_values(&self.label, "label")?,
                share: if self.infra { shared } else { Vec::new() },
                exit_policy: match self.exit_policy.as_str() {
                    "stop" => ExitPolicy::Stop,
                    _ => ExitPolicy::Continue,
                },
                resources: Resources {
                    memory: self.memory.as_deref().map(parse::size).transpose()?,
                    cpus: self.cpus,
                    ..Default::default()
                },
            },
            infra: InfraOptions {
                enabled: self.infra,
                name: self.infra_name.clone(),
                image: self.infra_image.clone(),
                command,
                config,
            },
        })
    }
}

pub fn run(ctx: &CliContext, args: CreateArgs) -> anyhow::Result<ExitCode> {
    let opts = args.to_options()?;
    let engine = ctx.engine()?;
    let pod = engine.create_pod(&opts)?;
    print_lines([pod.id])?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_lists_replace_or_extend_the_default() {
        assert_eq!(share(None).expect("default"), SharedNs::DEFAULT);
        assert_eq!(
            share(Some("+pid")).expect("plus"),
            [
                SharedNs::Cgroup,
                SharedNs::Ipc,
                SharedNs::Net,
                SharedNs::Pid,
                SharedNs::Uts
            ]
        );
        assert_eq!(
            share(Some("net,ipc")).expect("list"),
            [SharedNs::Ipc, SharedNs::Net]
        );
        assert!(share(Some("none")).expect("none").is_empty());
        assert!(share(Some("mnt")).is_err());
    }
}
