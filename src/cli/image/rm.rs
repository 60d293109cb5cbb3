//! `skiff rmi` / `skiff image rm`: remove images. Exit 1 when an image is not
//! known (as podman), 125 for other failures.

use std::process::ExitCode;

use clap::Args;

use crate::cli::exit::with_code;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::images::{Force, ImageOpError};

#[derive(Debug, Args)]
pub struct RmArgs {
    pub images: Vec<String>,
    /// Remove all images
    #[arg(short, long)]
    pub all: bool,
    /// Remove images even when they have several names
    #[arg(short, long)]
    pub force: bool,
    /// Do not fail for images that do not exist
    #[arg(short, long)]
    pub ignore: bool,
}

pub fn run(ctx: &CliContext, args: RmArgs) -> anyhow::Result<ExitCode> {
    if args.all && !args.images.is_empty() {
        anyhow::bail!("when using the --all switch, you may not pass any images names or IDs");
    }
    if !args.all && args.images.is_empty() {
        anyhow::bail!("image name or ID must be specified");
    }
    let engine = ctx.engine()?;
    let inputs: Vec<String> = if args.all {
        engine
            .store()
            .images()
            .list()?
            .into_iter()
            .map(|i| i.id.hex().to_string())
            .collect()
    } else {
        args.images.clone()
    };
    let force = if args.force || args.all {
        Force::Yes
    } else {
        Force::No
    };
    let removal = engine.remove_images(&inputs, force);
    let mut first_err = None;
    for outcome in removal.outcomes {
        match outcome {
            Ok(report) => {
                print_lines(report.untagged.iter().map(|n| format!("Untagged: {n}")))?;
                print_lines(
                    report
                        .deleted
                        .iter()
                        .map(|d| format!("Deleted: {}", d.hex())),
                )?;
            }
            Err(ImageOpError::Lookup(e)) if e.is_not_known() && args.ignore => {}
            Err(ImageOpError::Lookup(e)) if e.is_not_known() => {
                first_err.get_or_insert(with_code(1, e));
            }
            Err(e @ ImageOpError::InUse { .. }) => {
                first_err.get_or_insert(with_code(2, e));
            }
            Err(e) => {
                first_err.get_or_insert(e.into());
            }
        }
    }
    if let Err(e) = removal.gc {
        first_err.get_or_insert(e.into());
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}
