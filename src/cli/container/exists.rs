//! `skiff container exists`: exit 0 when the container exists, 1 when not.

use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct ExistsArgs {
    pub container: String,
}

pub fn run(ctx: &CliContext, args: ExistsArgs) -> anyhow::Result<ExitCode> {
    match ctx.engine()?.find_container(&args.container) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) if e.is_no_such_container() => Ok(ExitCode::from(1)),
        Err(e) => Err(e.into()),
    }
}
