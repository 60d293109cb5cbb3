//! `skiff start`: start created or stopped containers; `-a` attaches to one.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::run::{start_attached, Attached};
use crate::cli::container::terminal;
use crate::cli::exit::with_code;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::container::ContainerError;

#[derive(Debug, Args)]
pub struct StartArgs {
    #[arg(required = true, num_args = 1..)]
    pub containers: Vec<String>,
    /// Attach to the container's output (one container only)
    #[arg(short, long)]
    pub attach: bool,
    /// Attach stdin too
    #[arg(short, long)]
    pub interactive: bool,
    /// Keys that detach from the container (ctrl-<c>,..., "" for none)
    #[arg(long)]
    pub detach_keys: Option<String>,
}

pub fn run(ctx: &CliContext, args: StartArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if args.attach || args.interactive {
        if args.containers.len() != 1 {
            anyhow::bail!("you cannot start and attach multiple containers at once");
        }
        let keys = terminal::detach_keys(args.detach_keys.as_deref())?;
        let rec = engine.find_container(&args.containers[0])?;
        return match start_attached(&engine, &rec.id, args.interactive, rec.config.tty, &keys)? {
            Attached::Detached => Ok(ExitCode::SUCCESS),
            Attached::Exited(code) => {
                // The foreground command, not the cleanup, carries out --rm.
                if rec.config.auto_remove {
                    let _ = engine.remove_container(&rec.id, Default::default());
                }
                crate::cli::container::run::release_attach_marker(&engine, &rec.id);
                Ok(ExitCode::from(code.clamp(0, 255) as u8))
            }
        };
    }
    let mut first_err = None;
    for c in &args.containers {
        match engine.start_container(c) {
            Ok(_) => print_lines([c])?,
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
