//! `skiff commit` / `skiff container commit`: a container's changes as a
//! new image (its image's layers, shared, plus one layer), printing the new
//! image's id.

use std::process::ExitCode;

use clap::Args;

use crate::cli::CliContext;
use crate::engine::commit::{CommitOptions, ManifestFormat, Pause};

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Set the author of the image
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply a Dockerfile instruction to the image's config (CMD,
    /// ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub changes: Vec<String>,
    /// Manifest format of the image: oci or docker
    #[arg(short, long, default_value = "oci")]
    pub format: String,
    /// Set a commit message (the comment of the new history entry)
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause a running container while its files are read
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub pause: bool,
    /// Print the image id only
    #[arg(short, long)]
    pub quiet: bool,
    /// Squash the image into one layer (not supported)
    #[arg(short, long, hide = true)]
    pub squash: bool,
    pub container: String,
    /// Name of the new image (a bare name becomes localhost/NAME:latest)
    pub image: Option<String>,
}

pub fn run(ctx: &CliContext, args: CommitArgs) -> anyhow::Result<ExitCode> {
    if args.squash {
        anyhow::bail!("--squash is not supported: the image keeps its base image's layers");
    }
    let format: ManifestFormat = args.format.parse().map_err(anyhow::Error::msg)?;
    let changes = crate::image::change::parse_all(&args.changes)?;
    let opts = CommitOptions {
        container: args.container,
        name: args.image,
        message: args.message,
        author: args.author,
        changes,
        pause: if args.pause { Pause::Yes } else { Pause::No },
        format,
    };
    let engine = ctx.engine()?;
    let rec = engine.commit_container(&opts)?;
    if !args.quiet {
        eprintln!("Writing manifest to image destination");
    }
    println!("{}", rec.id.hex());
    Ok(ExitCode::SUCCESS)
}
