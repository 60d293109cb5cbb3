//! `skiff runtime ...`: the built-in OCI runtime with runc's command line,
//! so that anything that drives runc (skiff's monitor, conmon, the OCI
//! runtime-tools suite) can drive it. Its global options differ from
//! skiff's (`--root` is the runtime's state directory), so it has a parser
//! of its own, chosen before skiff's.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::runtime::builtin::{CreateOptions, ExecOptions, Runtime, RuntimeError};

#[derive(Debug, Parser)]
#[command(
    name = "skiff runtime",
    about = "skiff's OCI runtime (runc's command line)"
)]
pub struct RuntimeCli {
    /// Directory for container state (default: /run/skiff-runtime, or
    /// $XDG_RUNTIME_DIR/skiff-runtime)
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Also write errors to this file
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// text or json (one object per line, as runc writes them)
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    /// Accepted for runc compatibility: debug output
    #[arg(long, global = true)]
    debug: bool,
    /// Refused: cgroups through systemd are not supported
    #[arg(long, global = true)]
    systemd_cgroup: bool,
    #[command(subcommand)]
    command: RuntimeCommand,
}

#[derive(Debug, Subcommand)]
enum RuntimeCommand {
    /// Create a container from a bundle; it waits for start
    Create {
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        #[arg(long)]
        console_socket: Option<PathBuf>,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        #[arg(long)]
        no_pivot: bool,
        #[arg(long)]
        no_new_keyring: bool,
        #[arg(long, default_value_t = 0)]
        preserve_fds: u32,
        id: String,
    },
    /// Run the command of a created container
    Start { id: String },
    /// Print a container's state as JSON
    State { id: String },
    /// Send a signal (default SIGTERM) to a container
    Kill {
        #[arg(short, long)]
        all: bool,
        id: String,
        signal: Option<String>,
    },
    /// Delete a stopped container (-f: kill it first)
    Delete {
        #[arg(short, long)]
        force: bool,
        id: String,
    },
    /// Run a process in a running container
    Exec {
        #[arg(long)]
        console_socket: Option<PathBuf>,
        #[arg(long)]
        pid_file: Option<PathBuf>,
        /// The process as a runtime-spec process JSON
        #[arg(short, long)]
        process: Option<PathBuf>,
        #[arg(short, long)]
        detach: bool,
        #[arg(short, long)]
        tty: bool,
        #[arg(long)]
        cwd: Option<String>,
        #[arg(short, long = "env")]
        env: Vec<String>,
        /// UID[:GID]
        #[arg(short, long)]
        user: Option<String>,
        #[arg(long, default_value_t = 0)]
        preserve_fds: u32,
        #[arg(long)]
        ignore_paused: bool,
        id: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// The processes of a container
    Ps {
        #[arg(short, long, default_value = "table")]
        format: String,
        id: String,
    },
    /// List containers
    #[command(alias = "ls")]
    List {
        #[arg(short, long, default_value = "table")]
        format: String,
        #[arg(short, long)]
        quiet: bool,
    },
    /// Freeze a container's processes
    Pause { id: String },
    /// Thaw them
    Resume { id: String },
    /// What this runtime supports, as JSON
    Features,
}

/// Entry point for `skiff runtime ARGS...` (`args` starts after "runtime").
pub fn main(args: Vec<std::ffi::OsString>) -> ExitCode {
    let cli = match RuntimeCli::try_parse_from(
        std::iter::once(std::ffi::OsString::from("skiff runtime")).chain(args),
    ) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let log = (cli.log.clone(), cli.log_format == "json");
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let text = e.to_string();
            // runc's line, which whoever drives runtimes knows how to read.
            let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            eprintln!("time=\"{time}\" level=error msg={text:?}");
            if let (Some(path), json) = log {
                write_log(&path, json, &text);
            }
            ExitCode::FAILURE
        }
    }
}

fn write_log(path: &std::path::Path, json: bool, text: &str) {
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let line = if json {
        serde_json::json!({"level": "error", "msg": text, "time": time}).to_string()
    } else {
        format!("time=\"{time}\" level=error msg={text:?}")
    };
    let _ = writeln!(f, "{line}");
}

fn parse_signal(s: Option<&str>) -> anyhow::Result<nix::sys::signal::Signal> {
    let Some(s) = s else {
        return Ok(nix::sys::signal::Signal::SIGTERM);
    };
    let n = crate::cli::container::parse::signal(s)?;
    nix::sys::signal::Signal::try_from(n).map_err(|_| anyhow::anyhow!("unknown signal {s:?}"))
}

fn run(cli: RuntimeCli) -> anyhow::Result<ExitCode> {
    if cli.systemd_cgroup {
        anyhow::bail!(
            "--systemd-cgroup is not supported: skiff's runtime manages cgroups itself (cgroupfs)"
        );
    }
    let rt = Runtime::new(cli.root.unwrap_or_else(Runtime::default_root));
    match cli.command {
        RuntimeCommand::Create {
            bundle,
            console_socket,
            pid_file,
            no_pivot,
            no_new_keyring,
            preserve_fds,
            id,
        } => {
            rt.create(
                &id,
                &bundle,
                &CreateOptions {
                    pid_file,
                    console_socket,
                    preserve_fds,
                    no_pivot,
                    no_new_keyring,
                    console: None,
                },
            )?;
        }
        RuntimeCommand::Start { id } => rt.start(&id)?,
        RuntimeCommand::State { id } => {
            println!("{}", serde_json::to_string_pretty(&rt.state(&id)?)?);
        }
        RuntimeCommand::Kill { all, id, signal } => {
            rt.kill(&id, parse_signal(signal.as_deref())?, all)?
        }
        RuntimeCommand::Delete { force, id } => match rt.delete(&id, force) {
            // runc: deleting what does not exist with --force is fine.
            Err(RuntimeError::NotFound(_)) if force => {}
            r => r?,
        },
        RuntimeCommand::Exec {
            console_socket,
            pid_file,
            process,
            detach,
            tty,
            cwd,
            env,
            user,
            preserve_fds,
            ignore_paused,
            id,
            command,
        } => {
            let opts = ExecOptions {
                console_socket,
                pid_file,
                detach,
                preserve_fds,
                ignore_paused,
            };
            let process = match process {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
                    serde_json::from_str(&text)
                        .map_err(|e| anyhow::anyhow!("parsing {}: {e}", path.display()))?
                }
                None => rt.process_for_exec(&id, command, env, cwd, user, tty)?,
            };
            let code = rt.exec(&id, process, &opts)?;
            return Ok(ExitCode::from(code as u8));
        }
        RuntimeCommand::Ps { format, id } => {
            let pids = rt.pids(&id)?;
            if format == "json" {
                println!("{}", serde_json::to_string(&pids)?);
            } else {
                println!("PID");
                for p in pids {
                    println!("{p}");
                }
            }
        }
        RuntimeCommand::List { format, quiet } => {
            let all = rt.list()?;
            if format == "json" {
                println!("{}", serde_json::to_string(&all)?);
            } else if quiet {
                for s in all {
                    println!("{}", s["id"].as_str().unwrap_or_default());
                }
            } else {
                println!(
                    "{:<24}{:<10}{:<10}{:<40}CREATED",
                    "ID", "PID", "STATUS", "BUNDLE"
                );
                for s in all {
                    println!(
                        "{:<24}{:<10}{:<10}{:<40}{}",
                        s["id"].as_str().unwrap_or_default(),
                        s["pid"],
                        s["status"].as_str().unwrap_or_default(),
                        s["bundle"].as_str().unwrap_or_default(),
                        s["created"].as_str().unwrap_or_default()
                    );
                }
            }
        }
        RuntimeCommand::Pause { id } => rt.freeze(&id, true)?,
        RuntimeCommand::Resume { id } => rt.freeze(&id, false)?,
        RuntimeCommand::Features => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::runtime::builtin::features())?
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
