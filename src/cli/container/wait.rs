//! `skiff wait`: block until containers exit; print their exit codes.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::cli::output::print_lines;
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[arg(required = true, num_args = 1..)]
    pub containers: Vec<String>,
    /// Wait for this state: stopped/exited (default) or running
    #[arg(long, default_value = "stopped", value_parser = ["stopped", "exited", "running", "created"])]
    pub condition: String,
    /// Do not fail for containers that do not exist
    #[arg(short, long)]
    pub ignore: bool,
}

pub fn run(ctx: &CliContext, args: WaitArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    for c in &args.containers {
        let rec = match engine.find_container(c) {
            Ok(r) => r,
            Err(e) if e.is_no_such_container() && args.ignore => {
                print_lines(["-1"])?;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let line = match args.condition.as_str() {
            "running" | "created" => {
                let want = args.condition.clone();
                loop {
                    let r = engine.find_container(&rec.id)?;
                    if r.state.status.as_str() == want {
                        break "-1".to_string();
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            _ => {
                let done = engine.wait_exited(&rec.id, Duration::MAX)?.unwrap_or(rec);
                done.state.exit_code.unwrap_or(0).to_string()
            }
        };
        print_lines([line])?;
    }
    Ok(ExitCode::SUCCESS)
}
