//! `skiff umount CONTAINER...`: give back a `mount`; the root file system
//! is unmounted once nobody holds it and the container does not run.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::container::mount::Release;

#[derive(Debug, Args)]
pub struct UmountArgs {
    /// Containers, by name or id
    pub containers: Vec<String>,
    /// Unmount every mounted container
    #[arg(short, long)]
    pub all: bool,
    /// Drop every hold, not just one
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(ctx: &CliContext, args: UmountArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let targets = match (args.all, args.containers.is_empty()) {
        (true, false) => anyhow::bail!("--all and container names cannot be used together"),
        (false, true) => anyhow::bail!("at least one container name or ID must be given"),
        (true, true) => engine
            .mounted_containers()?
            .into_iter()
            .map(|m| m.id)
            .collect(),
        (false, false) => args.containers.clone(),
    };
    let how = if args.force || args.all {
        Release::All
    } else {
        Release::One
    };
    for t in &targets {
        let id = engine.unmount_container(t, how)?;
        print_lines([id])?;
    }
    Ok(ExitCode::SUCCESS)
}
