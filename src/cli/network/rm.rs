//! `skiff network rm` and `prune`.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::{confirm, print_lines};
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Networks by name or id
    #[arg(required = true)]
    pub networks: Vec<String>,
    /// Remove the containers on them too
    #[arg(short, long)]
    pub force: bool,
    /// Seconds to wait for running containers to stop before killing them
    /// (with --force)
    #[arg(short, long, value_parser = crate::cli::container::parse::stop_time, allow_negative_numbers = true)]
    pub time: Option<u64>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Only networks matching: label=KEY[=VALUE], label!=KEY[=VALUE]
    #[arg(long = "filter")]
    pub filters: Vec<String>,
}

pub fn run(ctx: &CliContext, args: RmArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let mut first_error = None;
    for n in &args.networks {
        match engine.remove_network(n, args.force, args.time) {
            Ok(name) => print_lines([name])?,
            Err(e) if first_error.is_none() => first_error = Some(e),
            Err(e) => tracing::error!("{e}"),
        }
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// `label=K[=V]` / `label!=K[=V]` on a network's labels.
fn label_filter(f: &str) -> anyhow::Result<(bool, String, Option<String>)> {
    let (want, rest) = if let Some(r) = f.strip_prefix("label!=") {
        (false, r)
    } else if let Some(r) = f.strip_prefix("label=") {
        (true, r)
    } else {
        anyhow::bail!("invalid filter {f:?}: network prune filters on label= or label!=");
    };
    Ok(match rest.split_once('=') {
        Some((k, v)) => (want, k.to_string(), Some(v.to_string())),
        None => (want, rest.to_string(), None),
    })
}

pub fn prune(ctx: &CliContext, args: PruneArgs) -> anyhow::Result<ExitCode> {
    let filters = args
        .filters
        .iter()
        .map(|f| label_filter(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !args.force
        && !confirm(
            "WARNING! This will remove all networks not used by at least one container.",
            "use --force to prune without asking",
        )?
    {
        return Ok(ExitCode::SUCCESS);
    }
    let keep = |n: &crate::state::network::NetworkRecord| {
        !filters.iter().all(|(want, k, v)| {
            let has = match (n.labels.get(k), v) {
                (Some(have), Some(v)) => have == v,
                (Some(_), None) => true,
                (None, _) => false,
            };
            has == *want
        })
    };
    let removed = ctx.engine()?.prune_networks(&keep)?;
    print_lines(removed)?;
    Ok(ExitCode::SUCCESS)
}
