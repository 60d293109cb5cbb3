//! `skiff image prune`: remove dangling images (`-a`: every image).

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::print_lines;
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all images, not only dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not ask for confirmation (skiff never asks)
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(ctx: &CliContext, args: PruneArgs) -> anyhow::Result<ExitCode> {
    let removed = ctx.engine()?.prune_images(args.all)?;
    print_lines(removed.iter().map(|d| d.hex().to_string()))?;
    Ok(ExitCode::SUCCESS)
}
