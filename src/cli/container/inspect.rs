//! `skiff container inspect`: containers as a podman-shaped JSON array.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::view;
use crate::cli::output::{print_json, print_value};
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(required = true, num_args = 1..)]
    pub containers: Vec<String>,
    /// Go template or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

pub fn run(ctx: &CliContext, args: InspectArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let mut docs = Vec::new();
    let mut first_err = None;
    for c in &args.containers {
        match engine.find_container(c) {
            Ok(rec) => docs.push(view::inspect_doc(&engine, &rec)),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match args.format.as_deref() {
        None | Some("json") => print_json(&serde_json::Value::Array(docs))?,
        Some(f) => {
            for d in &docs {
                print_value(f, d)?;
            }
        }
    }
    match first_err {
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}
