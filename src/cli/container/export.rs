//! `skiff export [-o FILE] CONTAINER`: the container's file system as a tar
//! archive, on stdout (never a terminal) or into FILE.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

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
    if args.output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!(
            "refusing to write a tar archive to a terminal: use --output FILE or redirect stdout"
        );
    }
    let engine = ctx.engine()?;
    match &args.output {
        Some(path) => engine.export_container_to_file(&args.container, path)?,
        None => engine.export_container(&args.container, &mut std::io::stdout().lock())?,
    }
    Ok(ExitCode::SUCCESS)
}
