//! `skiff import` / `skiff image import`: a tar of a file system (a file,
//! an http(s) URL or `-` for standard input; plain, gzip or zstd) as a
//! one-layer image, printing its id.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;
use crate::engine::commit::{ImportOptions, ImportSource};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply a Dockerfile instruction to the image's config (CMD,
    /// ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
    /// Set a commit message (the comment of the image's history entry)
    #[arg(short, long)]
    pub message: Option<String>,
    /// Print the image id only
    #[arg(short, long)]
    pub quiet: bool,
    /// The tar: a path, an http(s) URL, or - for standard input
    pub source: String,
    /// Name of the new image (a bare name becomes localhost/NAME:latest)
    pub image: Option<String>,
}

pub fn run(ctx: &CliContext, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let changes = crate::image::change::parse_all(&args.changes)?;
    let source = ImportSource::parse(&args.source);
    if source == ImportSource::Stdin && std::io::stdin().is_terminal() {
        anyhow::bail!("cannot read from terminal, use command-line redirection");
    }
    let opts = ImportOptions {
        source,
        name: args.image,
        message: args.message,
        changes,
    };
    let engine = ctx.engine()?;
    let rec = engine.import_image(&opts)?;
    if !args.quiet {
        eprintln!("Writing manifest to image destination");
    }
    println!("{}", rec.id.hex());
    Ok(ExitCode::SUCCESS)
}
