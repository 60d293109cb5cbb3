//! `skiff image umount IMAGE...`: give back an `image mount`; the last
//! hold unmounts.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::image_mount::Release;

#[derive(Debug, Args)]
pub struct UmountArgs {
    /// Images, by name or id
    pub images: Vec<String>,
    /// Unmount every mounted image
    #[arg(short, long)]
    pub all: bool,
    /// Drop every hold, not just one
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(ctx: &CliContext, args: UmountArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let targets: Vec<String> = match (args.all, args.images.is_empty()) {
        (true, false) => anyhow::bail!("--all and image names cannot be used together"),
        (false, true) => anyhow::bail!("at least one image name or ID must be given"),
        (true, true) => engine
            .mounted_images()?
            .into_iter()
            .map(|m| m.id.hex().to_string())
            .collect(),
        (false, false) => args.images.clone(),
    };
    let how = if args.force || args.all {
        Release::All
    } else {
        Release::One
    };
    for t in &targets {
        match engine.unmount_image(t, how) {
            Ok(id) => print_lines([id.hex().to_string()])?,
            // Not mounted is already where umount leads (podman).
            Err(crate::engine::image_mount::ImageMountError::NotMounted { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(ExitCode::SUCCESS)
}
