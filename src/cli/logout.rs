//! `skiff logout`: remove stored registry credentials (podman-logout(1)).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;
use crate::engine::login::{LoginTarget, LogoutOutcome};

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Registry: HOST[:PORT] or HOST[:PORT]/NAMESPACE (default: the first
    /// unqualified-search registry)
    pub registry: Option<String>,
    /// Remove the credentials of every registry
    #[arg(short, long)]
    pub all: bool,
    /// Path of the authentication file
    #[arg(long, env = "REGISTRY_AUTH_FILE", hide_env = true)]
    pub authfile: Option<PathBuf>,
}

pub fn run(ctx: &CliContext, args: LogoutArgs) -> anyhow::Result<ExitCode> {
    if args.all && args.registry.is_some() {
        anyhow::bail!("--all takes no arguments");
    }
    let engine = ctx.engine()?;
    let authfile = args.authfile.as_deref();
    let mut out = std::io::stdout();
    if args.all {
        engine.logout_all(authfile)?;
        writeln!(out, "Removed login credentials for all registries")?;
        return Ok(ExitCode::SUCCESS);
    }
    let target = match &args.registry {
        Some(r) => LoginTarget::parse(r)?,
        None => engine.default_login_target()?,
    };
    match engine.logout(&target, authfile)? {
        LogoutOutcome::Removed { .. } => {
            writeln!(out, "Removed login credentials for {target}")?;
        }
        LogoutOutcome::OtherTool { path } => {
            writeln!(
                out,
                "Not logged into {target} with skiff: the credentials in {} were written by \
                 another tool (docker login); remove them with it (docker logout)",
                path.display()
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
