//! `skiff network ...`: bridge networks and the containers on them.

pub mod connect;
pub mod create;
pub mod inspect;
pub mod ls;
pub mod rm;

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::cli::CliContext;

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a bridge network
    Create(create::CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(ls::LsArgs),
    /// Show details of networks
    Inspect(inspect::InspectArgs),
    /// Remove networks
    #[command(visible_alias = "remove")]
    Rm(rm::RmArgs),
    /// Remove every network no container uses
    Prune(rm::PruneArgs),
    /// Exit 0 if a network exists, 1 if not
    Exists(ExistsArgs),
    /// Connect a container to a network
    Connect(connect::ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(connect::DisconnectArgs),
    /// Rebuild the firewall rules of running containers
    Reload(connect::ReloadArgs),
}

#[derive(Debug, Args)]
pub struct ExistsArgs {
    pub network: String,
}

pub fn run(ctx: &CliContext, cmd: NetworkCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        NetworkCommand::Create(a) => create::run(ctx, a),
        NetworkCommand::Ls(a) => ls::run(ctx, a),
        NetworkCommand::Inspect(a) => inspect::run(ctx, a),
        NetworkCommand::Rm(a) => rm::run(ctx, a),
        NetworkCommand::Prune(a) => rm::prune(ctx, a),
        NetworkCommand::Exists(a) => {
            let engine = ctx.engine()?;
            let found = engine
                .networks()?
                .lookup(&a.network)
                .map_err(anyhow::Error::msg)?;
            let default = a.network == crate::state::network::DEFAULT_NETWORK;
            Ok(if found.is_some() || default {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        NetworkCommand::Connect(a) => connect::connect(ctx, a),
        NetworkCommand::Disconnect(a) => connect::disconnect(ctx, a),
        NetworkCommand::Reload(a) => connect::reload(ctx, a),
    }
}
