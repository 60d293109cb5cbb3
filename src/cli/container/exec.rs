//! `skiff exec`: run a command in a running container, in an exec session
//! of its own; attached, relay its stdio and return its exit code;
//! detached (`-d`), print the session's id.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::parse;
use crate::cli::container::run::exec_failure;
use crate::cli::container::terminal::{self, Input, Session};
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::container::attach::{Attachment, RelayEnd};
use crate::engine::container::exec::{ExecMode, ExecOptions};

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Keep stdin open and pass it to the command
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Run in the background and print the session id
    #[arg(short, long)]
    pub detach: bool,
    /// Set an environment variable (NAME=VALUE, or NAME to copy skiff's own)
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read environment variables from a file
    #[arg(long)]
    pub env_file: Vec<std::path::PathBuf>,
    /// User (and group) to run as: NAME|UID[:GROUP|GID]
    #[arg(short, long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Give the command every capability skiff itself has
    #[arg(long)]
    pub privileged: bool,
    /// Keys that detach from the command (ctrl-<c>,..., "" for none)
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Container
    pub container: String,
    /// Command and arguments
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl ExecArgs {
    fn to_options(&self) -> anyhow::Result<ExecOptions> {
        let mut env = Vec::new();
        for f in &self.env_file {
            env.extend(parse::env_file(f)?);
        }
        env.extend(self.env.iter().filter_map(|e| parse::env_entry(e)));
        Ok(ExecOptions {
            command: self.command.clone(),
            env,
            user: self.user.clone(),
            workdir: self.workdir.clone(),
            terminal: self.tty,
            console_size: if self.tty {
                terminal::our_window_size()
            } else {
                None
            },
            stdin: self.interactive,
            privileged: self.privileged,
            mode: if self.detach {
                ExecMode::Detached
            } else {
                ExecMode::Attached
            },
        })
    }
}

pub fn run(ctx: &CliContext, args: ExecArgs) -> anyhow::Result<ExitCode> {
    let opts = args.to_options()?;
    let keys = terminal::detach_keys(args.detach_keys.as_deref())?;
    let engine = ctx.engine()?;
    let mut attachment = None;
    let session = engine
        .exec_container(&args.container, &opts, &mut |dir| {
            attachment = Some(Attachment::connect(dir)?);
            if opts.terminal {
                // Before the command runs, so that it starts with our size.
                terminal::send_window_size(&dir.join("ctl"));
            }
            Ok(())
        })
        .map_err(|e| exec_failure(e.into()))?;
    if opts.mode == ExecMode::Detached {
        print_lines([&session.id])?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(a) = &attachment {
        let ctl = session.ctl();
        let end = terminal::relay(Session {
            attachment: a,
            input: if opts.stdin {
                Input::Forward
            } else {
                Input::Closed
            },
            tty: opts.terminal,
            ctl: &ctl,
            detach_keys: &keys,
        })?;
        if end == RelayEnd::Detached {
            // The session's monitor cleans up when the command ends.
            return Ok(ExitCode::SUCCESS);
        }
    }
    let code = session.wait()?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
