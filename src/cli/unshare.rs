//! `skiff unshare [COMMAND...]`: run a command (default: the user's shell)
//! inside skiff's rootless user namespace, as root of it, where files of
//! the store show with the ids containers see (podman unshare).

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;
use crate::config::paths::Privilege;
use crate::engine::Engine;

#[derive(Debug, Args)]
pub struct UnshareArgs {
    /// The command and its arguments (default: $SHELL, else /bin/sh)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn run(ctx: &CliContext, args: UnshareArgs) -> anyhow::Result<ExitCode> {
    if Privilege::current() == Privilege::Root {
        anyhow::bail!("please use unshare with rootless: root needs no user namespace");
    }
    let engine = ctx.engine()?;
    let (program, rest) = match args.command.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => (
            std::env::var("SHELL")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "/bin/sh".to_string()),
            Vec::new(),
        ),
    };
    let err = exec(&engine, &program, &rest);
    // As for a container's command: 127 not found, 126 not runnable.
    let code = match err.kind() {
        std::io::ErrorKind::NotFound => 127,
        _ => 126,
    };
    Err(crate::cli::exit::with_code(
        code,
        anyhow::anyhow!("running {program}: {err}"),
    ))
}

/// Replace skiff with the command; returns only on failure.
fn exec(engine: &Engine, program: &str, args: &[String]) -> std::io::Error {
    std::process::Command::new(program)
        .args(args)
        .env("CONTAINERS_GRAPHROOT", &engine.paths().root)
        .env("CONTAINERS_RUNROOT", &engine.paths().runroot)
        .exec()
}
