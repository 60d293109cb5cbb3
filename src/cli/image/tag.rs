//! `skiff tag IMAGE NAME...`: add names to an image.

use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct TagArgs {
    pub image: String,
    #[arg(required = true, num_args = 1..)]
    pub names: Vec<String>,
}

pub fn run(ctx: &CliContext, args: TagArgs) -> anyhow::Result<ExitCode> {
    ctx.engine()?.tag_image(&args.image, &args.names)?;
    Ok(ExitCode::SUCCESS)
}
