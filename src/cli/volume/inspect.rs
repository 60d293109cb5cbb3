//! `skiff volume inspect`: volumes as JSON (podman's shape), or through a
//! template.

use std::process::ExitCode;

use clap::Args;
use serde_json::{json, Value};

use crate::cli::output::{print_json, print_value};
use crate::cli::CliContext;
use crate::engine::Engine;
use crate::state::volume::VolumeRecord;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Volumes by name
    pub volumes: Vec<String>,
    /// Every volume
    #[arg(short, long)]
    pub all: bool,
    /// Go template applied to each volume, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

/// A volume as `inspect` and `ls --format` show it.
pub fn doc(engine: &Engine, v: &VolumeRecord) -> Value {
    let mountpoint = engine
        .volumes()
        .map(|s| s.data_dir(&v.name))
        .unwrap_or_default();
    json!({
        "Name": v.name,
        "Driver": v.driver,
        "Mountpoint": mountpoint,
        "CreatedAt": v.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "Labels": v.labels,
        "Scope": "local",
        "Options": v.options,
        "UID": v.uid.unwrap_or(0),
        "GID": v.gid.unwrap_or(0),
        "Anonymous": v.anonymous,
        "MountCount": engine.volume_mount_count(&v.name),
        "NeedsCopyUp": v.needs_copy_up,
        "NeedsChown": v.needs_chown,
    })
}

pub fn run(ctx: &CliContext, args: InspectArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let volumes = match (args.all, args.volumes.is_empty()) {
        (true, true) => engine.volumes()?.list()?,
        (false, false) => args
            .volumes
            .iter()
            .map(|n| engine.find_volume(n))
            .collect::<Result<_, _>>()?,
        (true, false) => anyhow::bail!("--all and naming volumes cannot be combined"),
        (false, true) => anyhow::bail!("give at least one volume name, or --all"),
    };
    let docs: Vec<Value> = volumes.iter().map(|v| doc(&engine, v)).collect();
    match args.format.as_deref() {
        None | Some("json") => print_json(&Value::Array(docs))?,
        Some(f) => {
            for d in &docs {
                print_value(f, d)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
