//! `skiff container cleanup ID`: run by a container's monitor after the
//! container exits (not meant for users): release its resources, then
//! remove it (`--rm`) or restart it (restart policy).

use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct CleanupArgs {
    pub container: String,
    /// Clean up this exec session of the container instead
    #[arg(long, value_name = "SESSION")]
    pub exec: Option<String>,
}

pub fn run(ctx: &CliContext, args: CleanupArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if let Some(session) = &args.exec {
        engine.remove_exec_session(&args.container, session)?;
        return Ok(ExitCode::SUCCESS);
    }
    match engine.cleanup_container(&args.container) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        // Removed meanwhile (a foreground run with --rm): nothing to do.
        Err(e) if e.is_no_such_container() => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}
