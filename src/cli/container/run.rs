//! `skiff run`: create and start a container; attached, relay its output and
//! return its exit code; detached (`-d`), print its id.

use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::process::ExitCode;

use clap::Args;

use crate::cli::container::create::CreateArgs;
use crate::cli::exit::with_code;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::container::attach::Attachment;
use crate::engine::container::cleanup::ATTACHED_MARKER;
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
    #[command(flatten)]
    pub create: CreateArgs,
}

/// Puts the terminal in raw mode for the life of the value.
pub struct RawTerminal {
    saved: nix::sys::termios::Termios,
}

impl RawTerminal {
    pub fn enter() -> Option<Self> {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return None;
        }
        let saved = nix::sys::termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        nix::sys::termios::cfmakeraw(&mut raw);
        nix::sys::termios::tcsetattr(stdin.as_fd(), nix::sys::termios::SetArg::TCSANOW, &raw)
            .ok()?;
        Some(RawTerminal { saved })
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = nix::sys::termios::tcsetattr(
            std::io::stdin().as_fd(),
            nix::sys::termios::SetArg::TCSANOW,
            &self.saved,
        );
    }
}

/// Start `id` attached: relay its output (and stdin with `interactive`)
/// until it exits; returns its exit code.
pub fn start_attached(
    engine: &Engine,
    id: &str,
    interactive: bool,
    tty: bool,
) -> anyhow::Result<i32> {
    let rundir = engine.containers()?.rundir(id);
    crate::config::paths::ensure_private_dir(&rundir)?;
    let marker = rundir.join(ATTACHED_MARKER);
    std::fs::write(&marker, std::process::id().to_string())?;
    let mut attachment = None;
    let started = engine.start_container_with(id, &mut |bundle| {
        attachment = Some(Attachment::connect(bundle)?);
        Ok(())
    });
    let result = (|| -> anyhow::Result<i32> {
        let rec = started?;
        if let Some(a) = &attachment {
            let _raw = if tty && interactive {
                RawTerminal::enter()
            } else {
                None
            };
            let stdin = std::io::stdin();
            let mut input = stdin.lock();
            let (inp, fd): (Option<&mut dyn std::io::Read>, _) = if interactive {
                (Some(&mut input), Some(stdin.as_fd()))
            } else {
                (None, None)
            };
            a.relay(&mut std::io::stdout(), &mut std::io::stderr(), inp, fd)?;
        }
        let done = engine
            .wait_exited(&rec.id, std::time::Duration::MAX)?
            .unwrap_or(rec);
        Ok(done.state.exit_code.unwrap_or(0))
    })();
    let _ = std::fs::remove_file(&marker);
    result
}

fn exec_failure(e: anyhow::Error) -> anyhow::Error {
    match e.downcast::<ContainerError>() {
        Ok(ContainerError::Exec(f)) => with_code(f.code, f),
        Ok(other) => other.into(),
        Err(e) => e,
    }
}

pub fn run(ctx: &CliContext, args: RunArgs) -> anyhow::Result<ExitCode> {
    let opts = args.create.to_options(args.rm)?;
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
    let code = start_attached(&engine, &rec.id, opts.config.interactive, opts.config.tty);
    if args.rm {
        remove(&engine);
    }
    let code = code.map_err(exec_failure)?;
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}
