//! `skiff unpause`: thaw paused containers.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::pause::freeze_all;
use crate::cli::CliContext;
use crate::engine::container::pause::Freeze;

#[derive(Debug, Args)]
pub struct UnpauseArgs {
    pub containers: Vec<String>,
    /// Unpause all paused containers
    #[arg(short, long)]
    pub all: bool,
}

pub fn run(ctx: &CliContext, args: UnpauseArgs) -> anyhow::Result<ExitCode> {
    freeze_all(ctx, args.all, &args.containers, Freeze::Unpause)
}
