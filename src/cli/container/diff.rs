//! `skiff diff` / `skiff container diff`: the files a container added (A),
//! changed (C) or deleted (D) against its image, one per line, sorted by
//! path; `skiff diff` also takes an image (its top layer against the
//! layers below).

use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use crate::cli::output::{print_json, print_lines};
use crate::cli::CliContext;
use crate::engine::commit::DiffTarget;
use crate::storage::changes::ChangeKind;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Print as JSON (`json`)
    #[arg(long)]
    pub format: Option<String>,
    /// The container (or, for `skiff diff`, the image)
    pub name: String,
}

pub fn run(ctx: &CliContext, args: DiffArgs, target: DiffTarget) -> anyhow::Result<ExitCode> {
    let json = match args.format.as_deref() {
        None | Some("") => false,
        Some("json") => true,
        Some(other) => anyhow::bail!("unsupported --format {other:?}: only json is supported"),
    };
    let engine = ctx.engine()?;
    let changes = engine.diff(&args.name, target)?;
    if json {
        let of = |k: ChangeKind| -> Vec<String> {
            changes
                .iter()
                .filter(|c| c.kind == k)
                .map(|c| c.display_path())
                .collect()
        };
        print_json(&json!({
            "changed": of(ChangeKind::Modified),
            "added": of(ChangeKind::Added),
            "deleted": of(ChangeKind::Deleted),
        }))?;
    } else {
        print_lines(
            changes
                .iter()
                .map(|c| format!("{} {}", c.kind.letter(), c.display_path())),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
