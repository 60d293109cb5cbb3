//! `skiff network create`: a bridge network.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::parse::key_values;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::network::NetworkCreateOptions;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The network's name (default: skiffN)
    pub name: Option<String>,
    /// Driver: bridge (the only one)
    #[arg(short, long)]
    pub driver: Option<String>,
    /// A subnet in CIDR notation (repeatable: one IPv4, one IPv6)
    #[arg(long)]
    pub subnet: Vec<String>,
    /// The gateway of the subnet given in the same position
    #[arg(long)]
    pub gateway: Vec<String>,
    /// Where container addresses come from in the subnet given in the same
    /// position: a CIDR or FIRST-LAST
    #[arg(long)]
    pub ip_range: Vec<String>,
    /// No route out of the network
    #[arg(long)]
    pub internal: bool,
    /// Give the network an IPv6 subnet too
    #[arg(long)]
    pub ipv6: bool,
    /// No name resolution between the network's containers
    #[arg(long)]
    pub disable_dns: bool,
    /// A label KEY=VALUE (repeatable)
    #[arg(long)]
    pub label: Vec<String>,
    /// A driver option: mtu=BYTES, isolate=true|strict|false (repeatable)
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
    /// The bridge's name
    #[arg(long)]
    pub interface_name: Option<String>,
    /// Do nothing if a network of that name exists
    #[arg(long)]
    pub ignore: bool,
}

pub fn run(ctx: &CliContext, args: CreateArgs) -> anyhow::Result<ExitCode> {
    let opts = NetworkCreateOptions {
        name: args.name,
        driver: args.driver,
        subnets: args.subnet,
        gateways: args
            .gateway
            .iter()
            .map(|g| {
                g.parse()
                    .map_err(|_| anyhow::anyhow!("invalid --gateway {g:?}: not an IP address"))
            })
            .collect::<anyhow::Result<_>>()?,
        ip_ranges: args.ip_range,
        internal: args.internal,
        ipv6: args.ipv6,
        disable_dns: args.disable_dns,
        labels: key_values(&args.label, "label")?,
        options: key_values(&args.opt, "opt")?,
        interface_name: args.interface_name,
        ignore: args.ignore,
    };
    let rec = ctx.engine()?.create_network(&opts)?;
    print_lines([rec.name])?;
    Ok(ExitCode::SUCCESS)
}
