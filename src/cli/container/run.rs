//! `skiff run`: create and start a container; attached, relay its output and
//! return its exit code; detached (`-d`), print its id.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::create::CreateArgs;
use crate::cli::container::terminal::{self, Input, Session};
use crate::cli::exit::with_code;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::container::attach::{Attachment, RelayEnd};
use crate::engine::container::cleanup::ATTACHED_MARKER;
use crate::engine::container::detach_keys::DetachKeys;
use crate::engine::container::remove::RemoveOptions;
use crate::engine::container::ContainerError;
use crate::engine::pull::Silent;
use crate::engine::Engine;

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Run in the background and print the container id
    #[arg(short, long)]
    pub detach: bool,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Keys that detach from the container (ctrl-<c>,..., "" for none)
    #[arg(long)]
    pub detach_keys: Option<String>,
    #[command(flatten)]
    pub create: CreateArgs,
}

/// How an attached run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attached {
    /// The container exited with this code.
    Exited(i32),
    /// The detach keys were typed: it runs on.
    Detached,
}

/// Start `id` attached: relay its output (and stdin with `interactive`)
/// until it exits or the detach keys are typed.
pub fn start_attached(
    engine: &Engine,
    id: &str,
    interactive: bool,
    tty: bool,
    detach_keys: &DetachKeys,
) -> anyhow::Result<Attached> {
    let rundir = engine.containers()?.rundir(id);
    crate::config::paths::ensure_private_dir(&rundir)?;
    let marker = rundir.join(ATTACHED_MARKER);
    std::fs::write(&marker, std::process::id().to_string())?;
    let ctl = rundir.join("ctl");
    let mut attachment = None;
    let size = if tty {
        terminal::our_window_size()
    } else {
        None
    };
    let started = engine.start_container_with(id, size, &mut |bundle| {
        attachment = Some(Attachment::connect(bundle)?);
        if tty {
            // Before the process runs, so that it starts with our size.
            terminal::send_window_size(&ctl);
        }
        Ok(())
    });
    let result = (|| -> anyhow::Result<Attached> {
        let rec = started?;
        // Already running: attach to it as it is.
        let attachment = match attachment {
            Some(a) => Some(a),
            None if rec.state.status.is_live() => Some(Attachment::connect(&rundir)?),
            None => None,
        };
        if let Some(a) = &attachment {
            let end = terminal::relay(Session {
                attachment: a,
                input: if interactive {
                    Input::Forward
                } else {
                    Input::Closed
                },
                tty,
                ctl: &ctl,
                detach_keys,
            })?;
            if end == RelayEnd::Detached {
                return Ok(Attached::Detached);
            }
        }
        let done = engine
            .wait_exited(&rec.id, std::time::Duration::MAX)?
            .unwrap_or(rec);
        Ok(Attached::Exited(done.state.exit_code.unwrap_or(0)))
    })();
    // After an exit the caller drops the marker once it is done (`run --rm`
    // removes the container first, so its cleanup does not race it).
    if !matches!(result, Ok(Attached::Exited(_))) {
        let _ = std::fs::remove_file(&marker);
    }
    result
}

/// Drop the marker that tells the container's cleanup a foreground command
/// is in charge of it.
pub fn release_attach_marker(engine: &Engine, id: &str) {
    if let Ok(store) = engine.containers() {
        let _ = std::fs::remove_file(store.rundir(id).join(ATTACHED_MARKER));
    }
}

/// 126/127 for a command that could not be run, 125 for the rest.
pub fn exec_failure(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<ContainerError>() {
        Ok(ContainerError::Exec(f)) => with_code(f.code, f),
        Ok(other) => other.into(),
        Err(e) => e,
    }
}

pub fn run(ctx: &CliContext, args: RunArgs) -> anyhow::Result<ExitCode> {
    let opts = args.create.to_options(args.rm)?;
    let detach_keys = terminal::detach_keys(args.detach_keys.as_deref())?;
    if args.detach && opts.config.log_driver == crate::state::container::LogDriver::Passthrough {
        anyhow::bail!("the passthrough log driver cannot be used with --detach");
    }
    let engine = ctx.engine()?;
    let rec = engine.create_container(&opts, &Silent)?;
    let remove = |engine: &Engine| {
        let _ = engine.remove_container(
            &rec.id,
            RemoveOptions {
                force: true,
                timeout: Some(0),
                depend: false,
                infra: false,
                volumes: true,
            },
        );
    };
    if args.detach {
        if let Err(e) = engine.start_container(&rec.id) {
            if args.rm {
                remove(&engine);
            }
            return Err(exec_failure(e.into()));
        }
        print_lines([&rec.id])?;
        return Ok(ExitCode::SUCCESS);
    }
    let attached = start_attached(
        &engine,
        &rec.id,
        opts.config.interactive,
        opts.config.tty,
        &detach_keys,
    );
    let code = match attached {
        // Still running: `--rm` is carried out by its cleanup at exit.
        Ok(Attached::Detached) => return Ok(ExitCode::SUCCESS),
        Ok(Attached::Exited(code)) => Ok(code),
        Err(e) => Err(e),
    };
    if args.rm {
        remove(&engine);
    }
    release_attach_marker(&engine, &rec.id);
    let code = code.map_err(exec_failure)?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
