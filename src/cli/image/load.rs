//! `skiff load` / `skiff image load`: store the images of an archive or
//! layout directory, read from a path or from standard input.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::cli::image::progress::CopyLines;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::archive::load::LoadInput;
use crate::engine::copy::{CopyObserver, Quiet};

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read from this archive or directory instead of standard input
    #[arg(short, long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Print no progress
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(ctx: &CliContext, args: LoadArgs) -> anyhow::Result<ExitCode> {
    let input = match args.input {
        Some(p) if p.as_os_str() != "-" => LoadInput::Path(p),
        _ => {
            if std::io::stdin().is_terminal() {
                anyhow::bail!(
                    "cannot read from terminal, use command-line redirection or the --input flag"
                );
            }
            LoadInput::Stream(Box::new(std::io::stdin()))
        }
    };
    let engine = ctx.engine()?;
    let observer: &dyn CopyObserver = if args.quiet { &Quiet } else { &CopyLines };
    let loaded = engine.load(input, observer)?;
    let mut lines = Vec::new();
    for img in &loaded {
        if img.names.is_empty() {
            lines.push(format!("Loaded image: {}", img.id));
        }
        lines.extend(img.names.iter().map(|n| format!("Loaded image: {n}")));
    }
    print_lines(lines)?;
    Ok(ExitCode::SUCCESS)
}
