//! `skiff stop`: send the stop signal, wait, then SIGKILL.

use std::process::ExitCode;

use clap::Args;

use crate::cli::exit::with_code;
use crate::cli::output::print_lines;
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct StopArgs {
    pub containers: Vec<String>,
    /// Stop all running containers
    #[arg(short, long)]
    pub all: bool,
    /// Do not fail for containers that do not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait before killing
    #[arg(short, long = "time", value_parser = crate::cli::container::parse::stop_time, allow_negative_numbers = true)]
    pub time: Option<u64>,
}

pub fn run(ctx: &CliContext, args: StopArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let targets = super::targets(&engine, args.all, &args.containers, true)?;
    let mut first_err = None;
    for t in &targets {
        match engine.stop_container(t, args.time) {
            Ok(rec) => print_lines([if args.all { rec.id } else { t.clone() }])?,
            Err(e) if e.is_no_such_container() && args.ignore => {}
            Err(e) if e.is_no_such_container() => {
                first_err.get_or_insert(with_code(125, e));
            }
            Err(e) => {
                first_err.get_or_insert(e.into());
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}
