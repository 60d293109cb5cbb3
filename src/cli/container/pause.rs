//! `skiff pause`: freeze every process of running containers.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::container::pause::Freeze;
use crate::engine::Engine;
use crate::state::container::Status;

#[derive(Debug, Args)]
pub struct PauseArgs {
    pub containers: Vec<String>,
    /// Pause all running containers
    #[arg(short, long)]
    pub all: bool,
}

pub fn run(ctx: &CliContext, args: PauseArgs) -> anyhow::Result<ExitCode> {
    freeze_all(ctx, args.all, &args.containers, Freeze::Pause)
}

/// `pause` and `unpause`: act on the containers named, or with `--all` on
/// every container in the state the action starts from; print each one
/// done (its full id with `--all`).
pub fn freeze_all(
    ctx: &CliContext,
    all: bool,
    named: &[String],
    way: Freeze,
) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let from = match way {
        Freeze::Pause => Status::Running,
        Freeze::Unpause => Status::Paused,
    };
    let targets = match (all, named.is_empty()) {
        (true, false) => anyhow::bail!("--all and container names cannot be used together"),
        (false, true) => anyhow::bail!("you must provide at least one container name or id"),
        (false, false) => named.to_vec(),
        (true, true) => engine
            .list_containers()?
            .into_iter()
            .filter(|r| r.state.status == from)
            .map(|r| r.id)
            .collect(),
    };
    let mut first_err = None;
    for t in &targets {
        match act(&engine, t, way) {
            Ok(id) => print_lines([if all { id } else { t.clone() }])?,
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

fn act(
    engine: &Engine,
    input: &str,
    way: Freeze,
) -> Result<String, crate::engine::container::ContainerError> {
    let rec = match way {
        Freeze::Pause => engine.pause_container(input)?,
        Freeze::Unpause => engine.unpause_container(input)?,
    };
    Ok(rec.id)
}
