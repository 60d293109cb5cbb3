//! `skiff image mount [IMAGE...]`: mount read-only views of images' files
//! and print where; without arguments, list the mounted images.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::{print_json, print_lines};
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct MountArgs {
    /// Images, by name or id
    pub images: Vec<String>,
    /// Mount every image
    #[arg(short, long)]
    pub all: bool,
    /// With no images named: `json` lists the mounts as JSON
    #[arg(long)]
    pub format: Option<String>,
}

pub fn run(ctx: &CliContext, args: MountArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if args.all {
        if !args.images.is_empty() {
            anyhow::bail!("--all and image names cannot be used together");
        }
        for img in engine
            .store()
            .images()
            .list()
            .map_err(crate::storage::StoreError::from)?
        {
            let path = engine.mount_image(img.id.hex())?;
            let name = img
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| img.id.hex().to_string());
            print_lines([format!("{name} {}", path.display())])?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.images.is_empty() {
        let mounted = engine.mounted_images()?;
        match args.format.as_deref() {
            Some("json") => {
                let rows: Vec<serde_json::Value> = mounted
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "id": m.id.hex(),
                            "Repositories": m.names,
                            "mountpoint": m.path.display().to_string(),
                        })
                    })
                    .collect();
                print_json(&serde_json::Value::Array(rows))?;
            }
            Some(other) => anyhow::bail!("unsupported format {other:?}: only json"),
            None => print_lines(mounted.iter().map(|m| {
                let name = m
                    .names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| m.id.hex()[..12].to_string());
                format!("{name} {}", m.path.display())
            }))?,
        }
        return Ok(ExitCode::SUCCESS);
    }
    for i in &args.images {
        let path = engine.mount_image(i)?;
        print_lines([path.display().to_string()])?;
    }
    Ok(ExitCode::SUCCESS)
}
