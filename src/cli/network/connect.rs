//! `skiff network connect|disconnect|reload`.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::state::container::NetworkAttachment;

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The network
    pub network: String,
    /// The container
    pub container: String,
    /// Another name the container answers to on the network
    #[arg(long)]
    pub alias: Vec<String>,
    /// The container's IPv4 address on the network
    #[arg(long)]
    pub ip: Option<String>,
    /// The container's IPv6 address on the network
    #[arg(long)]
    pub ip6: Option<String>,
    /// The container's MAC address on the network
    #[arg(long)]
    pub mac_address: Option<String>,
}

#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// The network
    pub network: String,
    /// The container
    pub container: String,
    /// Accepted for podman's sake: disconnecting never stops a container
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// Containers (their ids are printed); the rules of every running
    /// container are rebuilt either way
    pub containers: Vec<String>,
    /// Every running container
    #[arg(short, long)]
    pub all: bool,
}

pub fn connect(ctx: &CliContext, args: ConnectArgs) -> anyhow::Result<ExitCode> {
    let ips = args
        .ip
        .iter()
        .chain(&args.ip6)
        .map(|i| {
            i.parse()
                .map_err(|_| anyhow::anyhow!("invalid address {i:?}: not an IP address"))
        })
        .collect::<anyhow::Result<_>>()?;
    let wish = NetworkAttachment {
        network: args.network.clone(),
        ips,
        mac: args.mac_address,
        aliases: args.alias,
        interface: None,
    };
    ctx.engine()?
        .connect_network(&args.network, &args.container, wish)?;
    Ok(ExitCode::SUCCESS)
}

pub fn disconnect(ctx: &CliContext, args: DisconnectArgs) -> anyhow::Result<ExitCode> {
    ctx.engine()?
        .disconnect_network(&args.network, &args.container)?;
    Ok(ExitCode::SUCCESS)
}

pub fn reload(ctx: &CliContext, args: ReloadArgs) -> anyhow::Result<ExitCode> {
    if !args.all && args.containers.is_empty() {
        anyhow::bail!("give containers or --all");
    }
    let engine = ctx.engine()?;
    let mut wanted = Vec::new();
    for c in &args.containers {
        wanted.push(engine.find_container(c)?.id);
    }
    let reloaded = engine.reload_firewall()?;
    let shown: Vec<&String> = reloaded
        .iter()
        .filter(|id| args.all || wanted.contains(id))
        .collect();
    print_lines(shown)?;
    Ok(ExitCode::SUCCESS)
}
