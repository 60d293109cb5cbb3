//! `skiff export [-o FILE] CONTAINER`: the container's file system as a tar
//! archive, on stdout (never a terminal) or into FILE.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::cli::output::write_archive_to;
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The container, by name or id
    pub container: String,
    /// Write to this file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(ctx: &CliContext, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    engine.find_container(&args.container)?;
    write_archive_to(args.output.as_deref(), |out| {
        Ok(engine.export_container(&args.container, out)?)
    })?;
    Ok(ExitCode::SUCCESS)
}
