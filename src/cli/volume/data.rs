//! `skiff volume export|import|mount|unmount`: a volume's files.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::{print_lines, write_archive_to};
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct ExportArgs {
    pub volume: String,
    /// Write to FILE instead of standard output
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    pub volume: String,
    /// A tar archive (plain or compressed), or - for standard input
    pub source: String,
}

#[derive(Debug, Args)]
pub struct MountArgs {
    /// Volumes by name
    #[arg(required = true)]
    pub volumes: Vec<String>,
}

pub fn export(ctx: &CliContext, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    engine.find_volume(&args.volume)?;
    write_archive_to(args.output.as_deref(), |out| {
        Ok(engine.export_volume(&args.volume, out)?)
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn import(ctx: &CliContext, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    engine.find_volume(&args.volume)?;
    let input: Box<dyn std::io::Read + Send> = if args.source == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.source)
                .map_err(|e| anyhow::anyhow!("opening {}: {e}", args.source))?,
        )
    };
    engine.import_volume(&args.volume, input)?;
    Ok(ExitCode::SUCCESS)
}

pub fn mount(ctx: &CliContext, args: MountArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    for v in &args.volumes {
        print_lines([engine.mount_volume(v)?.display().to_string()])?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn unmount(ctx: &CliContext, args: MountArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    for v in &args.volumes {
        print_lines([engine.unmount_volume(v)?.name])?;
    }
    Ok(ExitCode::SUCCESS)
}
