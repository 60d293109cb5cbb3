//! `skiff image exists IMAGE`: exit 0 when the image is in local storage,
//! 1 when it is not.

use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct ExistsArgs {
    pub image: String,
}

pub fn run(ctx: &CliContext, args: ExistsArgs) -> anyhow::Result<ExitCode> {
    match ctx.engine()?.lookup_image(&args.image) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) if e.is_not_known() => Ok(ExitCode::from(1)),
        Err(e) => Err(e.into()),
    }
}
