//! The command line: a noun-verb tree (`skiff image pull`) with podman's
//! top-level aliases (`skiff pull`). Arguments are parsed by clap, turned into
//! the engine's typed options, and never passed further down.

pub mod completion;
pub mod container;
pub mod exit;
pub mod human;
pub mod image;
pub mod inspect;
pub mod login;
pub mod logout;
pub mod network;
pub mod output;
pub mod pod;
pub mod runtime;
pub mod system;
pub mod unshare;
pub mod volume;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::paths::Privilege;
use crate::engine::{Engine, EngineOptions};

/// Global flags, accepted before the command.
#[derive(Debug, Parser)]
#[command(
    name = "skiff",
    version,
    about = "Manage pods, containers and images, without a daemon",
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Path to the storage root directory
    #[arg(long, global = true, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// Path to the run state directory
    #[arg(long, global = true, value_name = "PATH")]
    pub runroot: Option<PathBuf>,
    /// Storage driver for a new store (overlay, vfs)
    #[arg(long, global = true, value_name = "DRIVER")]
    pub storage_driver: Option<String>,
    /// Log messages at or above this level (trace, debug, info, warn, error)
    #[arg(long, global = true, default_value = "warn", value_name = "LEVEL",
          value_parser = ["trace", "debug", "info", "warn", "warning", "error", "fatal", "panic"])]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage images
    #[command(subcommand)]
    Image(image::ImageCommand),
    /// Manage containers
    #[command(subcommand)]
    Container(container::ContainerCommand),
    /// Create a container without starting it
    #[command(disable_help_flag = true)]
    Create(Box<container::create::CreateArgs>),
    /// Create and start a container
    #[command(disable_help_flag = true)]
    Run(Box<container::run::RunArgs>),
    /// Start containers
    Start(container::start::StartArgs),
    /// Show a container's output
    Logs(container::logs::LogsArgs),
    /// Run a command in a running container
    Exec(container::exec::ExecArgs),
    /// Attach to a running container's stdio
    Attach(container::attach::AttachArgs),
    /// List containers
    Ps(container::ps::PsArgs),
    /// Pause all processes of containers
    Pause(container::pause::PauseArgs),
    /// Unpause paused containers
    Unpause(container::unpause::UnpauseArgs),
    /// Restart containers
    Restart(container::restart::RestartArgs),
    /// Show the processes of a container
    Top(container::top::TopArgs),
    /// Show resource usage of containers
    Stats(container::stats::StatsArgs),
    /// List the ports a container publishes
    Port(container::port::PortArgs),
    /// Rename a container
    Rename(container::rename::RenameArgs),
    /// Stop containers
    Stop(container::stop::StopArgs),
    /// Send a signal to containers
    Kill(container::kill::KillArgs),
    /// Wait for containers to exit
    Wait(container::wait::WaitArgs),
    /// Remove containers
    Rm(container::rm::RmArgs),
    /// Copy files between a container and the host
    Cp(container::cp::CpArgs),
    /// Mount containers' root file systems and print where
    Mount(container::mount::MountArgs),
    /// Unmount containers' root file systems
    #[command(visible_alias = "unmount")]
    Umount(container::umount::UmountArgs),
    /// Write a container's file system as a tar archive
    Export(container::export::ExportArgs),
    /// Manage networks
    #[command(subcommand)]
    Network(network::NetworkCommand),
    /// Manage pods
    #[command(subcommand)]
    Pod(pod::PodCommand),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
    /// Manage skiff itself
    #[command(subcommand)]
    System(system::SystemCommand),
    /// Pull an image from a registry
    Pull(image::pull::PullArgs),
    /// Push an image to a registry
    Push(image::push::PushArgs),
    /// Save images to an archive
    Save(image::save::SaveArgs),
    /// Load images from an archive
    Load(image::load::LoadArgs),
    /// List images in local storage
    Images(image::ls::LsArgs),
    /// Remove one or more images
    Rmi(image::rm::RmArgs),
    /// Add names to an image
    Tag(image::tag::TagArgs),
    /// Remove names from an image
    Untag(image::untag::UntagArgs),
    /// Show the history of an image
    History(image::history::HistoryArgs),
    /// Make an image of a container's changes
    Commit(container::commit::CommitArgs),
    /// Show the files a container (or image) added, changed or deleted
    Diff(container::diff::DiffArgs),
    /// Make an image of a tar of a file system
    Import(image::import::ImportArgs),
    /// Show details of containers or images
    Inspect(inspect::InspectArgs),
    /// Show version information
    Version(system::version::VersionArgs),
    /// Show information about the host and the store
    Info(system::info::InfoArgs),
    /// Generate shell completion scripts
    Completion(completion::CompletionArgs),
    /// Log in to a registry
    Login(login::LoginArgs),
    /// Log out of a registry
    Logout(logout::LogoutArgs),
    /// Run a command in the rootless user namespace
    Unshare(unshare::UnshareArgs),
    /// Relay published ports into the rootless network namespace (skiff
    /// starts it for rootless containers on bridge networks)
    #[command(hide = true, name = "port-forward")]
    PortForward {
        netns: PathBuf,
        #[arg(required = true)]
        forwards: Vec<String>,
    },
    /// skiff's OCI runtime, with runc's command line (skiff runtime --help)
    #[command(disable_help_flag = true)]
    Runtime {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// Internal: the DNS server of a directory of network files, started
    /// by skiff itself (see `network::dns`)
    #[command(hide = true, name = "dns-server")]
    DnsServer { dir: PathBuf },
}

/// What a command needs: the parsed global options and, opened on demand,
/// the engine.
pub struct CliContext {
    pub options: EngineOptions,
}

impl CliContext {
    /// This skiff binary with the same global options, to run a command in
    /// a child process.
    pub fn reexec(&self) -> anyhow::Result<std::process::Command> {
        let exe = std::env::current_exe()
            .map_err(|e| anyhow::anyhow!("finding skiff's own binary: {e}"))?;
        let mut cmd = std::process::Command::new(exe);
        if let Some(r) = &self.options.root {
            cmd.arg("--root").arg(r);
        }
        if let Some(r) = &self.options.runroot {
            cmd.arg("--runroot").arg(r);
        }
        if let Some(d) = self.options.storage_driver {
            cmd.arg("--storage-driver").arg(d.to_string());
        }
        Ok(cmd)
    }

    /// The engine, inside the rootless user namespace for a normal user
    /// (joined, or created, first: before any thread starts).
    pub fn engine(&self) -> anyhow::Result<Engine> {
        let (paths, conf) = Engine::resolve_paths(&self.options)?;
        if Privilege::current() == Privilege::Rootless {
            crate::engine::rootless::ensure(&paths.runroot)?;
        }
        Engine::open_resolved(&self.options, paths, &conf).context("opening the store")
    }
}

fn init_logging(level: &str) {
    let level = match level {
        "warning" => "warn",
        "fatal" | "panic" => "error",
        other => other,
    };
    let filter = tracing_subscriber::EnvFilter::new(format!("skiff={level},warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Parse the command line, run the command, and map the outcome to an exit
/// code.
pub fn main() -> ExitCode {
    // The built-in runtime has runc's options, not skiff's.
    let mut argv = std::env::args_os();
    let _program = argv.next();
    let rest: Vec<std::ffi::OsString> = argv.collect();
    if rest.first().is_some_and(|a| a == "runtime") {
        return runtime::main(rest[1..].to_vec());
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                _ => {
                    let text = e.kind().as_str().map(str::to_string).unwrap_or_default();
                    let rendered = e.render().to_string();
                    let first = rendered
                        .lines()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or(&text)
                        .trim_start_matches("error: ")
                        .to_string();
                    eprintln!("Error: {first}");
                    ExitCode::from(125)
                }
            };
        }
    };
    init_logging(&cli.log_level);
    match run(cli) {
        Ok(code) => code,
        Err(e) => exit::report(&e),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let storage_driver = cli.storage_driver.as_deref().map(str::parse).transpose()?;
    let ctx = CliContext {
        options: EngineOptions {
            root: cli.root,
            runroot: cli.runroot,
            storage_driver,
            id_map: Default::default(),
        },
    };
    match cli.command {
        Command::Image(c) => image::run(&ctx, c),
        Command::Container(c) => container::run(&ctx, c),
        Command::Create(a) => container::create::run(&ctx, *a),
        Command::Run(a) => container::run::run(&ctx, *a),
        Command::Start(a) => container::start::run(&ctx, a),
        Command::Logs(a) => container::logs::run(&ctx, a),
        Command::Exec(a) => container::exec::run(&ctx, a),
        Command::Attach(a) => container::attach::run(&ctx, a),
        Command::Ps(a) => container::ps::run(&ctx, a),
        Command::Pause(a) => container::pause::run(&ctx, a),
        Command::Unpause(a) => container::unpause::run(&ctx, a),
        Command::Restart(a) => container::restart::run(&ctx, a),
        Command::Top(a) => container::top::run(&ctx, a),
        Command::Stats(a) => container::stats::run(&ctx, a),
        Command::Port(a) => container::port::run(&ctx, a),
        Command::Rename(a) => container::rename::run(&ctx, a),
        Command::Unshare(a) => unshare::run(&ctx, a),
        Command::Runtime { args } => Ok(runtime::main(args)),
        Command::PortForward { netns, forwards } => {
            let forwards = forwards
                .iter()
                .map(|f| crate::network::forward::Forward::parse(f))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            crate::network::forward::serve(&netns, &forwards, std::io::stdout())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stop(a) => container::stop::run(&ctx, a),
        Command::Kill(a) => container::kill::run(&ctx, a),
        Command::Wait(a) => container::wait::run(&ctx, a),
        Command::Rm(a) => container::rm::run(&ctx, a),
        Command::Cp(a) => container::cp::run(&ctx, a),
        Command::Mount(a) => container::mount::run(&ctx, a),
        Command::Umount(a) => container::umount::run(&ctx, a),
        Command::Export(a) => container::export::run(&ctx, a),
        Command::Network(c) => network::run(&ctx, c),
        Command::Pod(c) => pod::run(&ctx, c),
        Command::Volume(c) => volume::run(&ctx, c),
        Command::System(c) => system::run(&ctx, c),
        Command::Pull(a) => image::pull::run(&ctx, a),
        Command::Push(a) => image::push::run(&ctx, a),
        Command::Save(a) => image::save::run(&ctx, a),
        Command::Load(a) => image::load::run(&ctx, a),
        Command::Images(a) => image::ls::run(&ctx, a),
        Command::Rmi(a) => image::rm::run(&ctx, a),
        Command::Tag(a) => image::tag::run(&ctx, a),
        Command::Untag(a) => image::untag::run(&ctx, a),
        Command::History(a) => image::history::run(&ctx, a),
        Command::Commit(a) => container::commit::run(&ctx, a),
        Command::Diff(a) => {
            container::diff::run(&ctx, a, crate::engine::commit::DiffTarget::ContainerOrImage)
        }
        Command::Import(a) => image::import::run(&ctx, a),
        Command::Inspect(a) => inspect::run(&ctx, a),
        Command::Version(a) => system::version::run(&ctx, a),
        Command::Info(a) => system::info::run(&ctx, a),
        Command::Completion(a) => completion::run(a),
        Command::Login(a) => login::run(&ctx, a),
        Command::Logout(a) => logout::run(&ctx, a),
        Command::DnsServer { dir } => {
            crate::network::dns::serve(&dir).context("DNS server")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
