//! `skiff network inspect`: networks as JSON (podman's shape), or through
//! a template.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::{print_json, print_value};
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Networks by name or id
    #[arg(required = true)]
    pub networks: Vec<String>,
    /// Go template applied to each network, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

pub fn run(ctx: &CliContext, args: InspectArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let mut docs = Vec::new();
    for n in &args.networks {
        docs.push(serde_json::to_value(engine.find_network(n)?)?);
    }
    match args.format.as_deref() {
        None | Some("json") => print_json(&serde_json::Value::Array(docs))?,
        Some(f) => {
            for d in &docs {
                print_value(f, d)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
