//! `skiff push` / `skiff image push`: copy a stored image to a registry.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::cli::image::progress::CopyLines;
use crate::cli::image::pull::RegistryArgs;
use crate::cli::CliContext;
use crate::engine::copy::{CopyObserver, Quiet};
use crate::engine::push::{PushError, PushOptions};

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Image to push (name or id)
    pub image: String,
    /// Where to push it: [docker://]NAME[:TAG] (default: the image's name)
    pub destination: Option<String>,
    /// Print no progress
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Write the digest of the pushed manifest to this file
    #[arg(long, value_name = "FILE")]
    pub digestfile: Option<PathBuf>,
}

pub fn run(ctx: &CliContext, args: PushArgs) -> anyhow::Result<ExitCode> {
    let (tls_verify, credentials) = args.registry.apply()?;
    let opts = PushOptions {
        tls_verify,
        credentials,
        ..PushOptions::default()
    };
    let engine = ctx.engine()?;
    let observer: &dyn CopyObserver = if args.quiet { &Quiet } else { &CopyLines };
    let pushed = match engine.push(&args.image, args.destination.as_deref(), &opts, observer) {
        Ok(p) => p,
        // Failures of the transfer say where; the others already name the
        // image ("IMAGE: image not known").
        Err(e @ (PushError::Registry(_) | PushError::Registries(_) | PushError::Engine(_))) => {
            return Err(anyhow::Error::new(e).context(format!("pushing {}", args.image)))
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(path) = &args.digestfile {
        std::fs::write(path, pushed.digest.to_string())
            .with_context(|| format!("writing the digest to {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
