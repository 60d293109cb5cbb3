//! `skiff kill`: send a signal to containers.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::parse;
use crate::cli::output::print_lines;
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct KillArgs {
    pub containers: Vec<String>,
    /// Kill all running containers
    #[arg(short, long)]
    pub all: bool,
    /// Signal to send
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
}

pub fn run(ctx: &CliContext, args: KillArgs) -> anyhow::Result<ExitCode> {
    let signal = parse::signal(&args.signal)?;
    let engine = ctx.engine()?;
    let targets = super::targets(&engine, args.all, &args.containers, true)?;
    let mut first_err = None;
    for t in &targets {
        match engine.kill_container(t, signal) {
            Ok(rec) => print_lines([if args.all { rec.id } else { t.clone() }])?,
            Err(e) => {
                first_err.get_or_insert(anyhow::Error::from(e));
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}
