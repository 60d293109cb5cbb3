//! `skiff network ls`: list networks.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::{print_json, print_lines, print_rows};
use crate::cli::CliContext;
use crate::state::network::NetworkRecord;

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Show only names
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate ids
    #[arg(long)]
    pub no_trunc: bool,
    /// Do not print headers
    #[arg(short = 'n', long = "noheading")]
    pub noheading: bool,
    /// Filter output (name=, id=, driver=, label=KEY[=VALUE], dangling=true|false)
    #[arg(short, long = "filter")]
    pub filters: Vec<String>,
    /// Go template, `table ...`, or `json`
    #[arg(long)]
    pub format: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "NETWORK ID"),
    ("Name", "NAME"),
    ("Driver", "DRIVER"),
    ("NetworkInterface", "INTERFACE"),
    ("Labels", "LABELS"),
    ("Created", "CREATED"),
    ("Internal", "INTERNAL"),
    ("DNSEnabled", "DNS"),
    ("IPv6Enabled", "IPV6"),
    ("Subnets", "SUBNETS"),
];

/// One `--filter`.
enum Filter {
    Name(String),
    Id(String),
    Driver(String),
    Label(String, Option<String>),
    Dangling(bool),
}

impl Filter {
    fn parse(f: &str) -> anyhow::Result<Filter> {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: use KEY=VALUE"))?;
        Ok(match k {
            "name" => Filter::Name(v.into()),
            "id" => Filter::Id(v.into()),
            "driver" => Filter::Driver(v.into()),
            "label" => match v.split_once('=') {
                Some((lk, lv)) => Filter::Label(lk.into(), Some(lv.into())),
                None => Filter::Label(v.into(), None),
            },
            "dangling" => Filter::Dangling(v.parse().map_err(|_| {
                anyhow::anyhow!("invalid dangling filter {v:?}: use true or false")
            })?),
            other => {
                anyhow::bail!("invalid filter {other:?}: use name, id, driver, label or dangling")
            }
        })
    }

    fn matches(&self, n: &NetworkRecord, unused: &dyn Fn(&NetworkRecord) -> bool) -> bool {
        match self {
            Filter::Name(p) => n.name.contains(p.as_str()),
            Filter::Id(p) => n.id.starts_with(p.as_str()),
            Filter::Driver(d) => &n.driver == d,
            Filter::Label(k, v) => match (n.labels.get(k), v) {
                (Some(have), Some(want)) => have == want,
                (Some(_), None) => true,
                (None, _) => false,
            },
            Filter::Dangling(d) => unused(n) == *d,
        }
    }
}

/// A network as `ls` rows and templates see it.
fn row(n: &NetworkRecord, no_trunc: bool) -> serde_json::Value {
    let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let subnets: Vec<String> = n.subnets.iter().map(|s| s.subnet.to_string()).collect();
    serde_json::json!({
        "ID": if no_trunc { n.id.as_str() } else { n.short_id() },
        "Name": n.name,
        "Driver": n.driver,
        "NetworkInterface": n.network_interface,
        "Labels": labels.join(","),
        "Created": n.created.to_rfc3339(),
        "Internal": n.internal,
        "DNSEnabled": n.dns_enabled,
        "IPv6Enabled": n.ipv6_enabled,
        "Subnets": subnets.join(","),
    })
}

pub fn run(ctx: &CliContext, args: LsArgs) -> anyhow::Result<ExitCode> {
    let filters = args
        .filters
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let engine = ctx.engine()?;
    let unused = |n: &NetworkRecord| {
        engine
            .network_users(&n.name)
            .map(|u| u.is_empty())
            .unwrap_or(false)
    };
    let networks: Vec<NetworkRecord> = engine
        .list_networks()?
        .into_iter()
        .filter(|n| filters.iter().all(|f| f.matches(n, &unused)))
        .collect();
    if args.quiet {
        print_lines(networks.iter().map(|n| n.name.as_str()))?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.format.as_deref() == Some("json") {
        print_json(&serde_json::to_value(&networks)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<serde_json::Value> = networks.iter().map(|n| row(n, args.no_trunc)).collect();
    print_rows(
        args.format.as_deref(),
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}",
        HEADERS,
        &rows,
        args.noheading,
    )?;
    Ok(ExitCode::SUCCESS)
}
