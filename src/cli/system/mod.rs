//! `skiff system ...`: information about skiff and its store.

pub mod info;
pub mod migrate;
pub mod reset;
pub mod version;

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::CliContext;

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show information about the host and the store
    Info(info::InfoArgs),
    /// Adopt changed subordinate id ranges (stops running containers)
    Migrate(migrate::MigrateArgs),
    /// Remove all containers, images and run state
    Reset(reset::ResetArgs),
}

pub fn run(ctx: &CliContext, cmd: SystemCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SystemCommand::Info(a) => info::run(ctx, a),
        SystemCommand::Migrate(a) => migrate::run(ctx, a),
        SystemCommand::Reset(a) => reset::run(ctx, a),
    }
}
