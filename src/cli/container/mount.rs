//! `skiff mount [CONTAINER...]`: mount containers' root file systems and
//! print where; without arguments, list the mounted ones (`ID PATH`).
//! Rootless, the mounts live in skiff's mount namespace: reach them with
//! `skiff unshare` (see skiff-container(1)).

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::{print_json, print_lines};
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct MountArgs {
    /// Containers, by name or id
    pub containers: Vec<String>,
    /// Mount every container
    #[arg(short, long)]
    pub all: bool,
    /// With no containers named: `json` lists the mounts as JSON
    #[arg(long)]
    pub format: Option<String>,
    /// Show full container ids
    #[arg(long, visible_alias = "notruncate")]
    pub no_trunc: bool,
}

pub fn run(ctx: &CliContext, args: MountArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if args.containers.is_empty() && !args.all {
        let mounted = engine.mounted_containers()?;
        return match args.format.as_deref() {
            Some("json") => {
                let rows: Vec<serde_json::Value> = mounted
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "id": m.id,
                            "Names": [m.name],
                            "mountpoint": m.path.display().to_string(),
                        })
                    })
                    .collect();
                print_json(&serde_json::Value::Array(rows))?;
                Ok(ExitCode::SUCCESS)
            }
            Some(other) => anyhow::bail!("unsupported format {other:?}: only json"),
            None => {
                print_lines(mounted.iter().map(|m| {
                    let id = if args.no_trunc {
                        &m.id[..]
                    } else {
                        &m.id[..12]
                    };
                    format!("{id} {}", m.path.display())
                }))?;
                Ok(ExitCode::SUCCESS)
            }
        };
    }
    let targets = super::targets(&engine, args.all, &args.containers, false)?;
    for t in &targets {
        let path = engine.mount_container(t)?;
        print_lines([path.display().to_string()])?;
    }
    Ok(ExitCode::SUCCESS)
}
