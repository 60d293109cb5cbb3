//! `skiff save` / `skiff image save`: write images to an archive file, a
//! directory, or standard output (only when it is not a terminal).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::cli::image::progress::CopyLines;
use crate::cli::CliContext;
use crate::engine::archive::save::{SaveOptions, SaveTarget};
use crate::engine::archive::{SaveFormat, SaveNames};
use crate::engine::copy::{CopyObserver, Quiet};

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Images to save; without -m, further names are more tags for the first
    #[arg(required = true, num_args = 1..)]
    pub images: Vec<String>,
    /// Write to this file (a directory for oci-dir) instead of standard output
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// docker-archive, oci-archive or oci-dir
    #[arg(long, default_value = "docker-archive")]
    pub format: String,
    /// Save every name as an image of its own
    #[arg(short, long)]
    pub multi_image_archive: bool,
    /// Print no progress
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(ctx: &CliContext, args: SaveArgs) -> anyhow::Result<ExitCode> {
    let format: SaveFormat = args.format.parse()?;
    let to_stdout = args.output.as_deref().is_none_or(|p| p == Path::new("-"));
    if to_stdout && format.is_dir() {
        anyhow::bail!(
            "the {} format needs an output directory (-o)",
            format.name()
        );
    }
    if to_stdout && std::io::stdout().is_terminal() {
        anyhow::bail!("refusing to save to terminal. Use -o flag or redirect");
    }
    let opts = SaveOptions {
        format,
        names: if args.multi_image_archive {
            SaveNames::EachIsImage
        } else {
            SaveNames::FirstIsImage
        },
    };
    let engine = ctx.engine()?;
    let observer: &dyn CopyObserver = if args.quiet { &Quiet } else { &CopyLines };
    match args.output.as_deref().filter(|_| !to_stdout) {
        Some(path) => engine.save(&args.images, &opts, SaveTarget::Path(path), observer)?,
        None => {
            let mut out = std::io::stdout().lock();
            engine.save(&args.images, &opts, SaveTarget::Stream(&mut out), observer)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
