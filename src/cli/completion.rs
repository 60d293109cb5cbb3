//! `skiff completion bash|zsh|fish`: shell completion scripts.

use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// bash, zsh or fish
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    pub shell: String,
    /// Write the script to this file instead of stdout
    #[arg(short, long)]
    pub file: Option<std::path::PathBuf>,
}

pub fn run(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    let shell = match args.shell.as_str() {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        _ => Shell::Fish,
    };
    let mut cmd = Cli::command();
    match args.file {
        Some(path) => {
            let mut f = std::fs::File::create(&path)
                .map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
            clap_complete::generate(shell, &mut cmd, "skiff", &mut f);
        }
        None => clap_complete::generate(shell, &mut cmd, "skiff", &mut std::io::stdout()),
    }
    Ok(ExitCode::SUCCESS)
}
