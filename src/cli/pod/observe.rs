//! `pod top`, `pod logs` and `pod stats`: the container commands over a
//! pod's containers.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::logs::print_logs;
use crate::cli::container::stats::{stream, StatsFlags};
use crate::cli::container::top::print_top;
use crate::cli::CliContext;
use crate::engine::container::top::parse_descriptors;
use crate::state::container::ContainerRecord;

#[derive(Debug, Args)]
pub struct TopArgs {
    /// The pod, by name or id
    pub pod: String,
    /// Descriptors, as for `skiff top`
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub descriptors: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The pod, by name or id
    pub pod: String,
    /// Only this container of the pod (name or id)
    #[arg(short, long)]
    pub container: Option<String>,
    #[command(flatten)]
    pub options: crate::cli::container::logs::LogFlags,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Pods by name or id (default: every pod)
    pub pods: Vec<String>,
    /// Every pod
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub show: StatsFlags,
}

pub fn top(ctx: &CliContext, args: TopArgs) -> anyhow::Result<ExitCode> {
    let descriptors = parse_descriptors(&args.descriptors)?;
    let engine = ctx.engine()?;
    let rows = engine.top_pod(&args.pod, &descriptors)?;
    print_top(&descriptors, &rows)?;
    Ok(ExitCode::SUCCESS)
}

pub fn logs(ctx: &CliContext, args: LogsArgs) -> anyhow::Result<ExitCode> {
    let opts = args.options.options()?;
    let engine = ctx.engine()?;
    let pod = engine.find_pod(&args.pod)?;
    let mut members: Vec<ContainerRecord> = engine
        .pod_containers(&pod.id)?
        .into_iter()
        .filter(|c| !c.config.infra)
        .collect();
    members.reverse();
    if let Some(want) = &args.container {
        let c = engine.find_container(want)?;
        if c.config.pod.as_deref() != Some(pod.id.as_str()) {
            anyhow::bail!("container {want} is not in pod {}", pod.name);
        }
        members = vec![c];
    }
    if members.is_empty() {
        anyhow::bail!(
            "pod {} has no containers but its infra container: no logs to show",
            pod.name
        );
    }
    print_logs(&engine, &members, &opts, args.options.timestamps)?;
    Ok(ExitCode::SUCCESS)
}

pub fn stats(ctx: &CliContext, args: StatsArgs) -> anyhow::Result<ExitCode> {
    if args.all && !args.pods.is_empty() {
        anyhow::bail!("--all and pod names cannot be used together");
    }
    let engine = ctx.engine()?;
    let pods: Vec<String> = if args.pods.is_empty() {
        engine.pods()?.list()?.into_iter().map(|p| p.id).collect()
    } else {
        args.pods
            .iter()
            .map(|p| Ok(engine.find_pod(p)?.id))
            .collect::<anyhow::Result<_>>()?
    };
    let table = "table {{.Pod}}\t{{.CID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}";
    stream(&engine, &args.show, table, &|| {
        let mut out = Vec::new();
        for p in &pods {
            let mut members = engine.pod_containers(p)?;
            members.reverse();
            out.extend(members.into_iter().filter(|c| c.state.status.is_live()));
        }
        Ok(out)
    })
}
