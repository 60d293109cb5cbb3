//! `skiff container prune`: remove every container that is not running,
//! after a confirmation unless `--force`.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::{confirm, print_lines};
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(ctx: &CliContext, args: PruneArgs) -> anyhow::Result<ExitCode> {
    if !args.force
        && !confirm(
            "WARNING! This will remove all non running containers.",
            "use --force to prune without asking",
        )?
    {
        return Ok(ExitCode::SUCCESS);
    }
    let engine = ctx.engine()?;
    let report = engine.prune_containers()?;
    print_lines(&report.removed)?;
    let mut failed = report.failed.into_iter();
    let first = failed.next();
    for (id, e) in failed {
        tracing::error!("removing container {id}: {e}");
    }
    match first {
        Some((id, e)) => Err(anyhow::Error::from(e).context(format!("removing container {id}"))),
        None => Ok(ExitCode::SUCCESS),
    }
}
