//! `skiff volume rm|prune|exists`. `rm` exits 1 when a volume does not
//! exist, 2 when one is in use without `--force`, 125 otherwise.

use std::process::ExitCode;

use clap::Args;

use crate::cli::exit::with_code;
use crate::cli::output::{confirm, print_lines};
use crate::cli::CliContext;
use crate::engine::container::ContainerError;
use crate::engine::volume::VolumeRemoveOptions;
use crate::state::StateError;

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Volumes by name
    pub volumes: Vec<String>,
    /// Every volume
    #[arg(short, long)]
    pub all: bool,
    /// Remove the containers using them first
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for those containers to stop before killing them
    #[arg(short, long, value_parser = crate::cli::container::parse::stop_time, allow_negative_numbers = true)]
    pub time: Option<u64>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Prune only volumes that pass (label=, label!=, name=, ...)
    #[arg(long = "filter")]
    pub filters: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExistsArgs {
    pub volume: String,
}

pub fn rm(ctx: &CliContext, args: RmArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let targets = match (args.all, args.volumes.is_empty()) {
        (true, true) => engine.volumes()?.names()?,
        (false, false) => args.volumes.clone(),
        (true, false) => anyhow::bail!("--all and naming volumes cannot be combined"),
        (false, true) => anyhow::bail!("give at least one volume name, or --all"),
    };
    let opts = VolumeRemoveOptions {
        force: args.force,
        timeout: args.time,
    };
    let mut first = None;
    for t in &targets {
        match engine.remove_volume(t, opts) {
            Ok(v) => print_lines([v.name])?,
            // --force: a volume that is not there is gone already.
            Err(ContainerError::State(StateError::NoSuchVolume(_))) if args.force => {}
            Err(e) => {
                let code = match &e {
                    ContainerError::State(StateError::NoSuchVolume(_)) => 1,
                    ContainerError::VolumeInUse(_) => 2,
                    _ => 125,
                };
                if first.is_none() {
                    first = Some(with_code(code, e));
                } else {
                    tracing::error!("{e}");
                }
            }
        }
    }
    match first {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

pub fn prune(ctx: &CliContext, args: PruneArgs) -> anyhow::Result<ExitCode> {
    let filters = super::filters(&args.filters)?;
    let engine = ctx.engine()?;
    let keep = |v: &crate::state::volume::VolumeRecord| !filters.iter().all(|f| f.matches(v, true));
    if !args.force {
        let unused: Vec<String> = engine
            .prunable_volumes(&keep)?
            .into_iter()
            .map(|v| v.name)
            .collect();
        if unused.is_empty() {
            print_lines(["No dangling volumes found"])?;
            return Ok(ExitCode::SUCCESS);
        }
        let warning = format!(
            "WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:\n{}",
            unused.join("\n")
        );
        if !confirm(&warning, "use --force to prune without asking")? {
            return Ok(ExitCode::SUCCESS);
        }
    }
    let removed = engine.prune_volumes(&keep)?;
    print_lines(removed)?;
    Ok(ExitCode::SUCCESS)
}

pub fn exists(ctx: &CliContext, args: ExistsArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    Ok(if engine.volumes()?.get(&args.volume)?.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
