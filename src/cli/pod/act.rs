//! `pod start|stop|restart|kill|pause|unpause|rm|prune|exists`.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::parse;
use crate::cli::output::{confirm, print_lines};
use crate::cli::CliContext;
use crate::engine::container::ContainerError;
use crate::engine::pod::lifecycle::{PodOutcome, PodRemoveOptions};
use crate::engine::Engine;

#[derive(Debug, Args)]
pub struct PodsArgs {
    /// Pods by name or id
    pub pods: Vec<String>,
    /// Every pod
    #[arg(short, long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub pods: PodsArgs,
    /// Seconds to wait for each container to stop before killing it
    #[arg(short, long, value_parser = crate::cli::container::parse::stop_time, allow_negative_numbers = true)]
    pub time: Option<u64>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    #[command(flatten)]
    pub pods: PodsArgs,
    /// Signal to send
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[command(flatten)]
    pub pods: PodsArgs,
    /// Stop running containers first
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for running containers to stop before killing them
    #[arg(short, long, value_parser = crate::cli::container::parse::stop_time, allow_negative_numbers = true)]
    pub time: Option<u64>,
    /// Say nothing about pods that do not exist
    #[arg(short, long)]
    pub ignore: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ExistsArgs {
    pub pod: String,
}

/// The pods named, or every pod with `--all`.
fn targets(engine: &Engine, args: &PodsArgs) -> anyhow::Result<Vec<String>> {
    match (args.all, args.pods.is_empty()) {
        (true, true) => Ok(engine.pods()?.list()?.into_iter().map(|p| p.id).collect()),
        (false, false) => Ok(args.pods.clone()),
        (true, false) => anyhow::bail!("--all and naming pods cannot be combined"),
        (false, true) => anyhow::bail!("give at least one pod name or id, or --all"),
    }
}

/// Run `act` on each target, printing the id of each pod it worked on; the
/// first failure is the command's error, later ones are logged.
fn each(
    engine: &Engine,
    args: &PodsArgs,
    act: impl Fn(&str) -> Result<PodOutcome, ContainerError>,
) -> anyhow::Result<ExitCode> {
    let mut first: Option<anyhow::Error> = None;
    for t in targets(engine, args)? {
        match act(&t).and_then(PodOutcome::into_result) {
            Ok(pod) => print_lines([pod.id])?,
            Err(e) if first.is_none() => first = Some(e.into()),
            Err(e) => tracing::error!("{e}"),
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

pub fn start(ctx: &CliContext, args: PodsArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    each(&engine, &args, |p| engine.start_pod(p))
}

pub fn stop(ctx: &CliContext, args: StopArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    each(&engine, &args.pods, |p| engine.stop_pod(p, args.time))
}

pub fn restart(ctx: &CliContext, args: StopArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    each(&engine, &args.pods, |p| engine.restart_pod(p, args.time))
}

pub fn kill(ctx: &CliContext, args: KillArgs) -> anyhow::Result<ExitCode> {
    let signal = parse::signal(&args.signal)?;
    let engine = ctx.engine()?;
    each(&engine, &args.pods, |p| engine.kill_pod(p, signal))
}

pub fn freeze(ctx: &CliContext, args: PodsArgs, pause: bool) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    each(&engine, &args, |p| engine.freeze_pod(p, pause))
}

pub fn rm(ctx: &CliContext, args: RmArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let opts = PodRemoveOptions {
        force: args.force,
        timeout: args.time,
    };
    let mut first: Option<anyhow::Error> = None;
    for t in targets(&engine, &args.pods)? {
        match engine.remove_pod(&t, &opts) {
            Ok((pod, _)) => print_lines([pod.id])?,
            Err(ContainerError::State(crate::state::StateError::NoSuchPod(_))) if args.ignore => {}
            Err(e) if first.is_none() => first = Some(e.into()),
            Err(e) => tracing::error!("{e}"),
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

pub fn prune(ctx: &CliContext, args: PruneArgs) -> anyhow::Result<ExitCode> {
    if !args.force
        && !confirm(
            "WARNING! This will remove all stopped/exited pods.",
            "use --force to prune without asking",
        )?
    {
        return Ok(ExitCode::SUCCESS);
    }
    let engine = ctx.engine()?;
    for id in engine.prune_pods()? {
        print_lines([id])?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn exists(ctx: &CliContext, args: ExistsArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    Ok(match engine.find_pod(&args.pod) {
        Ok(_) => ExitCode::SUCCESS,
        Err(ContainerError::State(crate::state::StateError::NoSuchPod(_))) => ExitCode::from(1),
        Err(e) => return Err(e.into()),
    })
}
