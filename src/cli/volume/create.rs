//! `skiff volume create`.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::parse;
use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::engine::volume::VolumeCreateOptions;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The volume's name (default: a random one)
    pub name: Option<String>,
    /// Volume driver (local)
    #[arg(short, long)]
    pub driver: Option<String>,
    /// Driver option: type=TYPE, device=DEVICE, o=OPTIONS (mount(8) options; uid=, gid=)
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
    /// Label KEY=VALUE
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Succeed without change when the volume exists
    #[arg(long)]
    pub ignore: bool,
}

pub fn run(ctx: &CliContext, args: CreateArgs) -> anyhow::Result<ExitCode> {
    let mut options = std::collections::BTreeMap::new();
    for o in &args.opt {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid --opt {o:?}: use KEY=VALUE"))?;
        options.insert(k.to_string(), v.to_string());
    }
    let opts = VolumeCreateOptions {
        name: args.name,
        driver: args.driver,
        labels: parse::key_values(&args.label, "label")?,
        options,
        ignore: args.ignore,
        anonymous: false,
    };
    let engine = ctx.engine()?;
    let rec = engine.create_volume(&opts)?;
    print_lines([rec.name])?;
    Ok(ExitCode::SUCCESS)
}
