//! `skiff pod ...`: pods, their infra containers and their containers as
//! one.

pub mod act;
pub mod clone;
pub mod create;
pub mod inspect;
pub mod observe;
pub mod ps;

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::CliContext;

#[derive(Debug, Subcommand)]
pub enum PodCommand {
    /// Create a pod
    Create(Box<create::CreateArgs>),
    /// Start pods
    Start(act::PodsArgs),
    /// Stop pods
    Stop(act::StopArgs),
    /// Restart pods
    Restart(act::StopArgs),
    /// Send a signal to the containers of pods
    Kill(act::KillArgs),
    /// Pause the containers of pods
    Pause(act::PodsArgs),
    /// Unpause the containers of pods
    Unpause(act::PodsArgs),
    /// Remove pods and their containers
    Rm(act::RmArgs),
    /// Remove every pod with no running container
    Prune(act::PruneArgs),
    /// List pods
    #[command(visible_aliases = ["ls", "list"])]
    Ps(ps::PsArgs),
    /// Show details of pods
    Inspect(inspect::InspectArgs),
    /// Exit 0 if a pod exists, 1 if not
    Exists(act::ExistsArgs),
    /// Show the processes of a pod's containers
    Top(observe::TopArgs),
    /// Show the output of a pod's containers
    Logs(observe::LogsArgs),
    /// Show resource usage of pods' containers
    Stats(observe::StatsArgs),
    /// Copy a pod and its containers
    Clone(clone::CloneArgs),
}

pub fn run(ctx: &CliContext, cmd: PodCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PodCommand::Create(a) => create::run(ctx, *a),
        PodCommand::Start(a) => act::start(ctx, a),
        PodCommand::Stop(a) => act::stop(ctx, a),
        PodCommand::Restart(a) => act::restart(ctx, a),
        PodCommand::Kill(a) => act::kill(ctx, a),
        PodCommand::Pause(a) => act::freeze(ctx, a, true),
        PodCommand::Unpause(a) => act::freeze(ctx, a, false),
        PodCommand::Rm(a) => act::rm(ctx, a),
        PodCommand::Prune(a) => act::prune(ctx, a),
        PodCommand::Ps(a) => ps::run(ctx, a),
        PodCommand::Inspect(a) => inspect::run(ctx, a),
        PodCommand::Exists(a) => act::exists(ctx, a),
        PodCommand::Top(a) => observe::top(ctx, a),
        PodCommand::Logs(a) => observe::logs(ctx, a),
        PodCommand::Stats(a) => observe::stats(ctx, a),
        PodCommand::Clone(a) => clone::run(ctx, a),
    }
}
