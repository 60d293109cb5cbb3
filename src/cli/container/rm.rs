//! `skiff rm`: remove containers. Exit 1 when one does not exist (podman),
//! 2 when one is running without `--force`, 125 otherwise.

use std::process::ExitCode;

use clap::Args;

use crate::cli::exit::with_code;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::container::remove::RemoveOptions;
use crate::engine::container::ContainerError;

#[derive(Debug, Args)]
pub struct RmArgs {
    pub containers: Vec<String>,
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Stop running containers first
    #[arg(short, long)]
    pub force: bool,
    /// Do not fail for containers that do not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait for a stop before killing (with --force)
    #[arg(short, long = "time")]
    pub time: Option<u64>,
}

pub fn run(ctx: &CliContext, args: RmArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let targets = super::targets(&engine, args.all, &args.containers, false)?;
    let mut first_err = None;
    for t in &targets {
        let opts = RemoveOptions {
            force: args.force,
            timeout: args.time,
        };
        match engine.remove_container(t, opts) {
            Ok(rec) => print_lines([if args.all { rec.id } else { t.clone() }])?,
            Err(e) if e.is_no_such_container() && args.ignore => {}
            Err(e) if e.is_no_such_container() => {
                first_err.get_or_insert(with_code(1, e));
            }
            Err(e @ ContainerError::Running { .. }) => {
                first_err.get_or_insert(with_code(2, e));
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
