//! `skiff volume ls`: list volumes.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::{print_json, print_lines, print_rows};
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Show only names
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not print headers
    #[arg(short = 'n', long = "noheading")]
    pub noheading: bool,
    /// Filter output (name=, driver=, label=KEY[=VALUE], label!=, dangling=, anonymous=)
    #[arg(short, long = "filter")]
    pub filters: Vec<String>,
    /// Go template, `table ...`, or `json`
    #[arg(long)]
    pub format: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("Name", "VOLUME NAME"),
    ("Driver", "DRIVER"),
    ("Mountpoint", "MOUNTPOINT"),
    ("CreatedAt", "CREATED AT"),
    ("Labels", "LABELS"),
    ("Scope", "SCOPE"),
    ("Options", "OPTIONS"),
    ("MountCount", "MOUNT COUNT"),
];

pub fn run(ctx: &CliContext, args: LsArgs) -> anyhow::Result<ExitCode> {
    let filters = super::filters(&args.filters)?;
    let engine = ctx.engine()?;
    let containers = engine.containers()?.list()?;
    let volumes: Vec<_> = engine
        .volumes()?
        .list()?
        .into_iter()
        .filter(|v| {
            let unused = !containers.iter().any(|c| c.uses_volume(&v.name));
            filters.iter().all(|f| f.matches(v, unused))
        })
        .collect();
    if args.quiet {
        print_lines(volumes.iter().map(|v| v.name.as_str()))?;
        return Ok(ExitCode::SUCCESS);
    }
    let docs: Vec<serde_json::Value> = volumes
        .iter()
        .map(|v| super::inspect::doc(&engine, v))
        .collect();
    if args.format.as_deref() == Some("json") {
        print_json(&serde_json::Value::Array(docs))?;
        return Ok(ExitCode::SUCCESS);
    }
    print_rows(
        args.format.as_deref(),
        "table {{.Driver}}\t{{.Name}}",
        HEADERS,
        &docs,
        args.noheading,
    )?;
    Ok(ExitCode::SUCCESS)
}
