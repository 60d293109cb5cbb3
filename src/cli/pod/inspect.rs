//! `skiff pod inspect`: pods as JSON in podman's shape, or through a
//! template.

use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use crate::cli::output::{print_json, print_value};
use crate::cli::CliContext;
use crate::engine::pod::status::PodStatus;
use crate::engine::Engine;
use crate::state::container::NetworkMode;
use crate::state::pod::{PodRecord, SharedNs};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Pods by name or id
    #[arg(required = true)]
    pub pods: Vec<String>,
    /// Go template applied to each pod, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

/// One pod's document.
fn document(engine: &Engine, pod: &PodRecord) -> anyhow::Result<serde_json::Value> {
    let ctrs = engine.pod_containers(&pod.id)?;
    let infra = ctrs.iter().find(|c| c.config.infra);
    let mut infra_config = serde_json::Value::Null;
    if let Some(i) = infra {
        let c = &i.config;
        let mut bindings = serde_json::Map::new();
        for p in &c.ports {
            for (ctr, host) in p.pairs() {
                let key = format!("{ctr}/{}", p.protocol.as_str());
                let entry = json!({"HostIp": p.host_ip, "HostPort": host.to_string()});
                if let Some(a) = bindings
                    .entry(key)
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                {
                    a.push(entry);
                }
            }
        }
        let networks: Vec<String> = match &c.network {
            NetworkMode::Bridge(a) => a.iter().map(|x| x.network.clone()).collect(),
            _ => Vec::new(),
        };
        infra_config = json!({
            "PortBindings": bindings,
            "HostNetwork": c.network == NetworkMode::Host,
            "NetworkMode": c.network.display(),
            "Networks": networks,
            "DNSServer": c.dns.servers.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "DNSSearch": c.dns.search,
            "DNSOption": c.dns.options,
            "NoManageHosts": c.no_hosts,
            "HostAdd": c.add_hosts.iter().map(|h| format!("{}:{}", h.names.join(";"), h.ip)).collect::<Vec<_>>(),
            "pid_ns": if pod.shares(SharedNs::Pid) { "pod" } else { "private" },
            "userns": c.userns.as_podman(),
            "uts_ns": if pod.shares(SharedNs::Uts) { "pod" } else { "private" },
        });
    }
    let r = &pod.config.resources;
    let cgroup = (engine.privilege() == crate::config::paths::Privilege::Root).then(|| {
        crate::engine::pod::cgroup::pod_cgroup_path(&pod.id)
            .display()
            .to_string()
    });
    Ok(json!({
        "Id": pod.id,
        "Name": pod.name,
        "Created": pod.created.to_rfc3339(),
        "ExitPolicy": pod.config.exit_policy.as_str(),
        "State": PodStatus::of(&ctrs).as_str(),
        "Hostname": infra.and_then(|i| i.config.hostname.clone()).unwrap_or_default(),
        "Labels": pod.config.labels,
        "CreateCgroup": cgroup.is_some(),
        "CgroupPath": cgroup.unwrap_or_default(),
        "CreateInfra": pod.infra.is_some(),
        "InfraContainerID": pod.infra.clone().unwrap_or_default(),
        "InfraConfig": infra_config,
        "SharedNamespaces": pod.config.share.iter().filter(|_| pod.infra.is_some()).map(|n| n.as_str()).collect::<Vec<_>>(),
        "NumContainers": ctrs.len(),
        "CPUQuota": r.cpus.map(|c| (c * 100_000.0).round() as i64).unwrap_or(0),
        "CPUPeriod": if r.cpus.is_some() { 100_000 } else { 0 },
        "MemoryLimit": r.memory.unwrap_or(0),
        "Containers": ctrs.iter().map(|c| json!({
            "Id": c.id,
            "Name": c.name,
            "State": c.state.status.as_str(),
        })).collect::<Vec<_>>(),
    }))
}

pub fn run(ctx: &CliContext, args: InspectArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let mut docs = Vec::new();
    for p in &args.pods {
        let pod = engine.find_pod(p)?;
        docs.push(document(&engine, &pod)?);
    }
    match args.format.as_deref() {
        None | Some("json") => print_json(&serde_json::Value::Array(docs))?,
        Some(f) => {
            for d in &docs {
                print_value(f, d)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
