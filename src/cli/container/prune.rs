//! `skiff container prune`: remove every container that is not running,
//! after a confirmation unless `--force`.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::Args;

use crate::cli::output::print_lines;
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// Ask on the terminal; anything but y/yes is a no.
fn confirmed() -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] "
    )?;
    out.flush()?;
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer)? == 0 {
        writeln!(out)?;
        anyhow::bail!("no answer on standard input: use --force to prune without asking");
    }
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

pub fn run(ctx: &CliContext, args: PruneArgs) -> anyhow::Result<ExitCode> {
    if !args.force && !confirmed()? {
        return Ok(ExitCode::SUCCESS);
    }
    let engine = ctx.engine()?;
    let report = engine.prune_containers()?;
    print_lines(&report.removed)?;
    let mut failed = report.failed.into_iter();
    let first = failed.next();
    for (id, e) in failed {
        tracing::error!("removing container {id}: {e}");
    }
    match first {
        Some((id, e)) => Err(anyhow::Error::from(e).context(format!("removing container {id}"))),
        None => Ok(ExitCode::SUCCESS),
    }
}
