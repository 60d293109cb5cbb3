//! `skiff attach`: connect our terminal to a running container's stdio
//! until it exits (its exit code is ours) or the detach keys are typed (it
//! runs on; we exit 0).

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::terminal::{self, Input, Session};
use crate::cli::CliContext;
use crate::engine::container::attach::{Attachment, RelayEnd};
use crate::state::container::Status;

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Keys that detach from the container (ctrl-<c>,..., "" for none)
    #[arg(long)]
    pub detach_keys: Option<String>,
    /// Do not pass our stdin to the container
    #[arg(long)]
    pub no_stdin: bool,
    /// Container
    pub container: String,
}

pub fn run(ctx: &CliContext, args: AttachArgs) -> anyhow::Result<ExitCode> {
    let keys = terminal::detach_keys(args.detach_keys.as_deref())?;
    let engine = ctx.engine()?;
    let rec = engine.find_container(&args.container)?;
    if rec.state.status != Status::Running {
        anyhow::bail!(
            "you can only attach to running containers: {} is {}",
            rec.name,
            rec.state.status.as_str()
        );
    }
    let rundir = engine.containers()?.rundir(&rec.id);
    let attachment = Attachment::connect(&rundir)?;
    let end = terminal::relay(Session {
        attachment: &attachment,
        input: if args.no_stdin {
            Input::Closed
        } else {
            Input::Forward
        },
        tty: rec.config.tty,
        ctl: &rundir.join("ctl"),
        detach_keys: &keys,
    })?;
    if end == RelayEnd::Detached {
        return Ok(ExitCode::SUCCESS);
    }
    let code = match engine.wait_exited(&rec.id, std::time::Duration::MAX) {
        Ok(done) => done.and_then(|r| r.state.exit_code).unwrap_or(0),
        // Removed at exit (--rm): its code went with it.
        Err(e) if e.is_no_such_container() => 0,
        Err(e) => return Err(e.into()),
    };
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
