//! `skiff container ...`: create, list, stop and remove containers.

pub mod attach;
pub mod cleanup;
pub mod commit;
pub mod cp;
pub mod create;
pub mod diff;
pub mod exec;
pub mod exists;
pub mod export;
pub mod inspect;
pub mod kill;
pub mod logs;
pub mod mount;
pub mod parse;
pub mod pause;
pub mod port;
pub mod prune;
pub mod ps;
pub mod rename;
pub mod restart;
pub mod rm;
pub mod run;
pub mod start;
pub mod stats;
pub mod stop;
pub mod terminal;
pub mod top;
pub mod umount;
pub mod unpause;
pub mod view;
pub mod wait;

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::CliContext;

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Create a container without starting it
    #[command(disable_help_flag = true)]
    Create(Box<create::CreateArgs>),
    /// List containers
    #[command(visible_aliases = ["list", "ps"])]
    Ls(ps::PsArgs),
    /// Show details of containers
    Inspect(inspect::InspectArgs),
    /// Stop containers
    Stop(stop::StopArgs),
    /// Send a signal to containers
    Kill(kill::KillArgs),
    /// Wait for containers to exit
    Wait(wait::WaitArgs),
    /// Remove containers
    Rm(rm::RmArgs),
    /// Exit 0 if a container exists, 1 if not
    Exists(exists::ExistsArgs),
    /// Create and start a container
    #[command(disable_help_flag = true)]
    Run(Box<run::RunArgs>),
    /// Start containers
    Start(start::StartArgs),
    /// Show a container's output
    Logs(logs::LogsArgs),
    /// Run a command in a running container
    Exec(exec::ExecArgs),
    /// Attach to a running container's stdio
    Attach(attach::AttachArgs),
    /// Pause all processes of containers
    Pause(pause::PauseArgs),
    /// Unpause paused containers
    Unpause(unpause::UnpauseArgs),
    /// Restart containers
    Restart(restart::RestartArgs),
    /// Show the processes of a container
    Top(top::TopArgs),
    /// Show resource usage of containers
    Stats(stats::StatsArgs),
    /// List the ports a container publishes
    Port(port::PortArgs),
    /// Rename a container
    Rename(rename::RenameArgs),
    /// Remove all containers that are not running
    Prune(prune::PruneArgs),
    /// Copy files between a container and the host
    Cp(cp::CpArgs),
    /// Mount containers' root file systems and print where
    Mount(mount::MountArgs),
    /// Unmount containers' root file systems
    #[command(visible_alias = "unmount")]
    Umount(umount::UmountArgs),
    /// Write a container's file system as a tar archive
    Export(export::ExportArgs),
    /// Make an image of a container's changes
    Commit(commit::CommitArgs),
    /// Show the files a container added, changed or deleted
    Diff(diff::DiffArgs),
    /// Clean up after a container exited (run by its monitor)
    #[command(hide = true)]
    Cleanup(cleanup::CleanupArgs),
}

pub fn run(ctx: &CliContext, cmd: ContainerCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ContainerCommand::Create(a) => create::run(ctx, *a),
        ContainerCommand::Ls(a) => ps::run(ctx, a),
        ContainerCommand::Inspect(a) => inspect::run(ctx, a),
        ContainerCommand::Stop(a) => stop::run(ctx, a),
        ContainerCommand::Kill(a) => kill::run(ctx, a),
        ContainerCommand::Wait(a) => wait::run(ctx, a),
        ContainerCommand::Rm(a) => rm::run(ctx, a),
        ContainerCommand::Exists(a) => exists::run(ctx, a),
        ContainerCommand::Run(a) => run::run(ctx, *a),
        ContainerCommand::Start(a) => start::run(ctx, a),
        ContainerCommand::Logs(a) => logs::run(ctx, a),
        ContainerCommand::Exec(a) => exec::run(ctx, a),
        ContainerCommand::Attach(a) => attach::run(ctx, a),
        ContainerCommand::Pause(a) => pause::run(ctx, a),
        ContainerCommand::Unpause(a) => unpause::run(ctx, a),
        ContainerCommand::Restart(a) => restart::run(ctx, a),
        ContainerCommand::Top(a) => top::run(ctx, a),
        ContainerCommand::Stats(a) => stats::run(ctx, a),
        ContainerCommand::Port(a) => port::run(ctx, a),
        ContainerCommand::Rename(a) => rename::run(ctx, a),
        ContainerCommand::Prune(a) => prune::run(ctx, a),
        ContainerCommand::Cp(a) => cp::run(ctx, a),
        ContainerCommand::Mount(a) => mount::run(ctx, a),
        ContainerCommand::Umount(a) => umount::run(ctx, a),
        ContainerCommand::Export(a) => export::run(ctx, a),
        ContainerCommand::Commit(a) => commit::run(ctx, a),
        ContainerCommand::Diff(a) => {
            diff::run(ctx, a, crate::engine::commit::DiffTarget::Container)
        }
        ContainerCommand::Cleanup(a) => cleanup::run(ctx, a),
    }
}

/// The containers a command acts on: those named, or with `--all` every
/// container (only live ones when `live_only`). Both or neither is an error.
pub fn targets(
    engine: &crate::engine::Engine,
    all: bool,
    named: &[String],
    live_only: bool,
) -> anyhow::Result<Vec<String>> {
    match (all, named.is_empty()) {
        (true, false) => anyhow::bail!("--all and container names cannot be used together"),
        (false, true) => anyhow::bail!("at least one container name or ID must be given"),
        (false, false) => Ok(named.to_vec()),
        (true, true) => Ok(engine
            .list_containers()?
            .into_iter()
            .filter(|r| !live_only || r.state.status.is_live())
            .map(|r| r.id)
            .collect()),
    }
}
