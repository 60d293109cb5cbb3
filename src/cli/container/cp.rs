//! `skiff cp [OPTIONS] SRC DEST`: copy files and directories between a
//! container (`CONTAINER:PATH`, running or not) and the host, or a tar
//! stream (`-`). See skiff-container(1) for where things land.

use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;
use crate::engine::container::files::{CopyOptions, CopyPath};

#[derive(Debug, Args)]
pub struct CpArgs {
    /// What to copy: CONTAINER:PATH, a host path, or - (a tar stream on stdin)
    pub source: String,
    /// Where to: CONTAINER:PATH, a host path, or - (a tar stream on stdout)
    pub destination: String,
    /// Files copied in belong to the container's user, files copied out to
    /// you; with --archive=false they keep the source's ids
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub archive: bool,
    /// Let a directory replace a non-directory and the other way round
    #[arg(long)]
    pub overwrite: bool,
}

pub fn run(ctx: &CliContext, args: CpArgs) -> anyhow::Result<ExitCode> {
    let src = CopyPath::parse(&args.source);
    let dest = CopyPath::parse(&args.destination);
    let engine = ctx.engine()?;
    let opts = CopyOptions {
        archive: args.archive,
        overwrite: args.overwrite,
    };
    let mut stdout = std::io::stdout().lock();
    engine.copy_files(&src, &dest, opts, Box::new(std::io::stdin()), &mut stdout)?;
    Ok(ExitCode::SUCCESS)
}
