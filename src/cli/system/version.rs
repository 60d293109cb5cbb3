//! `skiff version`: the client's version, build and platform.

use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use crate::cli::output::{print_json, print_value};
use crate::cli::CliContext;
use crate::image::platform::Platform;

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Go template or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

pub fn run(_ctx: &CliContext, args: VersionArgs) -> anyhow::Result<ExitCode> {
    let client = json!({
        "APIVersion": env!("CARGO_PKG_VERSION"),
        "Version": env!("CARGO_PKG_VERSION"),
        "RustVersion": option_env!("CARGO_PKG_RUST_VERSION").unwrap_or(""),
        "OsArch": Platform::host().to_string(),
        "Os": "linux",
    });
    let doc = json!({ "Client": client });
    match args.format.as_deref() {
        Some("json") => print_json(&doc)?,
        Some(f) => print_value(f, &doc)?,
        None => {
            let text = format!(
                "Client:\nVersion:      {}\nOS/Arch:      {}",
                env!("CARGO_PKG_VERSION"),
                Platform::host()
            );
            crate::cli::output::print_lines([text])?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
