//! `skiff rm`: remove containers. Exit 1 when one does not exist (podman),
//! 2 when one is running without `--force`, 125 otherwise.

use std::process::ExitCode;

use clap::Args;

use crate::cli::exit::with_code;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::container::depend::removal_order;
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
    #[arg(short, long = "time", value_parser = crate::cli::container::parse::stop_time, allow_negative_numbers = true)]
    pub time: Option<u64>,
    /// Also remove the containers that depend on these (--requires)
    #[arg(long)]
    pub depend: bool,
    /// Also remove the container's anonymous volumes
    #[arg(short = 'v', long)]
    pub volumes: bool,
}

pub fn run(ctx: &CliContext, args: RmArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let targets = if args.all {
        if !args.containers.is_empty() {
            anyhow::bail!("--all and container names cannot be used together");
        }
        // Dependents first, so that --all needs no --depend.
        removal_order(&engine.list_containers()?)
    } else {
        super::targets(&engine, false, &args.containers, false)?
    };
    let mut first_err = None;
    let mut removed: Vec<String> = Vec::new();
    for t in &targets {
        if args.all && removed.contains(t) {
            continue;
        }
        let opts = RemoveOptions {
            force: args.force,
            timeout: args.time,
            depend: args.depend,
            infra: false,
            volumes: args.volumes,
        };
        match engine.remove_container(t, opts) {
            Ok(recs) => {
                for rec in recs {
                    // The name given for the one named, ids for the rest.
                    let shown = if !args.all && (rec.id.starts_with(t.as_str()) || rec.name == *t) {
                        t.clone()
                    } else {
                        rec.id.clone()
                    };
                    print_lines([shown])?;
                    removed.push(rec.id);
                }
            }
            Err(e) if e.is_no_such_container() && (args.ignore || args.all) => {}
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
