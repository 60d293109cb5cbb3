//! `skiff restart`: stop containers (if running) and start them again.

use std::process::ExitCode;

use clap::Args;

use crate::cli::exit::with_code;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::container::ContainerError;
use crate::state::container::Status;

#[derive(Debug, Args)]
pub struct RestartArgs {
    pub containers: Vec<String>,
    /// Restart all containers
    #[arg(short, long)]
    pub all: bool,
    /// With --all, restart only the running containers
    #[arg(long)]
    pub running: bool,
    /// Seconds to wait for a stop before killing
    #[arg(short, long = "time", value_parser = crate::cli::container::parse::stop_time, allow_negative_numbers = true)]
    pub time: Option<u64>,
}

pub fn run(ctx: &CliContext, args: RestartArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let targets = match (args.all, args.containers.is_empty()) {
        (true, false) => anyhow::bail!("--all and container names cannot be used together"),
        (false, true) => anyhow::bail!("you must provide at least one container name or id"),
        (false, false) => args.containers.clone(),
        (true, true) => engine
            .list_containers()?
            .into_iter()
            .filter(|r| !args.running || r.state.status == Status::Running)
            .map(|r| r.id)
            .collect(),
    };
    let mut first_err = None;
    for t in &targets {
        match engine.restart_container(t, args.time) {
            Ok(rec) => print_lines([if args.all { rec.id } else { t.clone() }])?,
            Err(ContainerError::Exec(f)) => {
                first_err.get_or_insert(with_code(f.code, f));
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
