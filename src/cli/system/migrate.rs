//! `skiff system migrate`: adopt a changed subordinate id range. Running
//! containers are stopped and the rootless user namespace is ended, so that
//! the next one is made with the ranges /etc/subuid and /etc/subgid give
//! now; the store then records that mapping (it refuses a changed one
//! until this runs).

use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;
use crate::config::paths::Privilege;
use crate::engine::{rootless, Engine};
use crate::storage::IdMapPolicy;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// (internal) the step run inside the old namespace
    #[arg(long, hide = true)]
    pub stop_containers: bool,
}

/// Open the store as it is now, whatever mapping it was made with.
fn adopting(ctx: &CliContext) -> anyhow::Result<Engine> {
    let mut options = ctx.options.clone();
    options.id_map = IdMapPolicy::Adopt;
    CliContext { options }.engine()
}

pub fn run(ctx: &CliContext, args: MigrateArgs) -> anyhow::Result<ExitCode> {
    if args.stop_containers {
        let engine = adopting(ctx)?;
        for rec in engine.list_containers()? {
            if rec.state.status.is_live() {
                engine.stop_container(&rec.id, None)?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (paths, _) = Engine::resolve_paths(&ctx.options)?;
    if Privilege::current() == Privilege::Rootless
        && !rootless::joined()
        && rootless::pause_process(&paths.runroot).is_some()
    {
        // Inside the old namespace (a child joins it: this process must
        // stay outside to make the new one).
        let status = ctx
            .reexec()?
            .args(["system", "migrate", "--stop-containers"])
            .status()
            .map_err(|e| anyhow::anyhow!("stopping the containers: {e}"))?;
        if !status.success() {
            anyhow::bail!("stopping the containers failed: nothing was migrated");
        }
        if !rootless::stop_pause(&paths.runroot) {
            anyhow::bail!("the pause process of the user namespace did not exit");
        }
    }
    adopting(ctx)?;
    Ok(ExitCode::SUCCESS)
}
