//! `skiff system ...`: information about skiff and its store.

pub mod info;
pub mod version;

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::CliContext;

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show information about the host and the store
    Info(info::InfoArgs),
}

pub fn run(ctx: &CliContext, cmd: SystemCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SystemCommand::Info(a) => info::run(ctx, a),
    }
}
