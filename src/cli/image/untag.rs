//! `skiff untag IMAGE [NAME...]`: remove names from an image (all of them
//! when none is given); the image itself stays.

use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct UntagArgs {
    pub image: String,
    pub names: Vec<String>,
}

pub fn run(ctx: &CliContext, args: UntagArgs) -> anyhow::Result<ExitCode> {
    ctx.engine()?.untag_image(&args.image, &args.names)?;
    Ok(ExitCode::SUCCESS)
}
