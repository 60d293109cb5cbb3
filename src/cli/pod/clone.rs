//! `skiff pod clone`: copy a pod, its infra container and its containers.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::parse;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::pod::clone::PodCloneOptions;
use crate::state::pod::ExitPolicy;

#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The pod to copy, by name or id
    pub pod: String,
    /// Name of the copy (default: the pod's name with -clone)
    pub new_name: Option<String>,
    /// Name of the copy (as the second argument)
    #[arg(short, long, conflicts_with = "new_name")]
    pub name: Option<String>,
    /// Remove the original pod first (the copies keep their containers'
    /// names)
    #[arg(long)]
    pub destroy: bool,
    /// Start the copy
    #[arg(long)]
    pub start: bool,
    /// Add a label (KEY=VALUE) to the copy
    #[arg(short, long)]
    pub label: Vec<String>,
    /// CPUs for the whole copy
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Memory for the whole copy
    #[arg(short, long)]
    pub memory: Option<String>,
    /// The copy's exit policy: continue or stop
    #[arg(long, value_parser = ["continue", "stop"])]
    pub exit_policy: Option<String>,
}

pub fn run(ctx: &CliContext, args: CloneArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let mut config = engine.find_pod(&args.pod)?.config;
    config
        .labels
        .extend(parse::key_values(&args.label, "label")?);
    if let Some(c) = args.cpus {
        if c <= 0.0 {
            anyhow::bail!("invalid --cpus {c}: must be greater than 0");
        }
        config.resources.cpus = Some(c);
    }
    if let Some(m) = &args.memory {
        config.resources.memory = Some(parse::size(m)?);
    }
    match args.exit_policy.as_deref() {
        Some("stop") => config.exit_policy = ExitPolicy::Stop,
        Some(_) => config.exit_policy = ExitPolicy::Continue,
        None => {}
    }
    let pod = engine.clone_pod(
        &args.pod,
        PodCloneOptions {
            name: args.name.or(args.new_name),
            destroy: args.destroy,
            start: args.start,
            config: Some(config),
        },
    )?;
    print_lines([pod.id])?;
    Ok(ExitCode::SUCCESS)
}
