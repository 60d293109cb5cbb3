//! `skiff rename`: give a container a new name.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The container, by name or id
    pub container: String,
    /// Its new name
    pub name: String,
}

pub fn run(ctx: &CliContext, args: RenameArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    engine
        .rename_container(&args.container, &args.name)
        .with_context(|| format!("renaming container {}", args.container))?;
    Ok(ExitCode::SUCCESS)
}
