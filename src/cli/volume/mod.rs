//! `skiff volume ...`: named volumes of the local driver.

pub mod create;
pub mod data;
pub mod inspect;
pub mod ls;
pub mod rm;

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::CliContext;

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(create::CreateArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(ls::LsArgs),
    /// Show details of volumes
    Inspect(inspect::InspectArgs),
    /// Remove volumes
    #[command(visible_alias = "remove")]
    Rm(rm::RmArgs),
    /// Remove every volume no container uses
    Prune(rm::PruneArgs),
    /// Exit 0 if a volume exists, 1 if not
    Exists(rm::ExistsArgs),
    /// Write a volume's files to a tar archive
    Export(data::ExportArgs),
    /// Unpack a tar archive into a volume
    Import(data::ImportArgs),
    /// Mount a volume and print where its files are
    Mount(data::MountArgs),
    /// Release a volume mounted with `volume mount`
    #[command(visible_alias = "umount")]
    Unmount(data::MountArgs),
}

pub fn run(ctx: &CliContext, cmd: VolumeCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        VolumeCommand::Create(a) => create::run(ctx, a),
        VolumeCommand::Ls(a) => ls::run(ctx, a),
        VolumeCommand::Inspect(a) => inspect::run(ctx, a),
        VolumeCommand::Rm(a) => rm::rm(ctx, a),
        VolumeCommand::Prune(a) => rm::prune(ctx, a),
        VolumeCommand::Exists(a) => rm::exists(ctx, a),
        VolumeCommand::Export(a) => data::export(ctx, a),
        VolumeCommand::Import(a) => data::import(ctx, a),
        VolumeCommand::Mount(a) => data::mount(ctx, a),
        VolumeCommand::Unmount(a) => data::unmount(ctx, a),
    }
}

/// One `--filter` of `volume ls` and `volume prune`.
#[derive(Debug)]
pub enum Filter {
    Name(regex_lite::Regex),
    Driver(String),
    Label(String, Option<String>),
    LabelNot(String, Option<String>),
    Dangling(bool),
    Anonymous(bool),
}

impl Filter {
    pub fn parse(f: &str) -> anyhow::Result<Filter> {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: use KEY=VALUE"))?;
        let label = |v: &str| match v.split_once('=') {
            Some((lk, lv)) => (lk.to_string(), Some(lv.to_string())),
            None => (v.to_string(), None),
        };
        let boolean = |what: &str| {
            v.parse::<bool>()
                .map_err(|_| anyhow::anyhow!("invalid {what} filter {v:?}: use true or false"))
        };
        Ok(match k {
            "name" => Filter::Name(
                regex_lite::Regex::new(v)
                    .map_err(|e| anyhow::anyhow!("invalid name filter {v:?}: {e}"))?,
            ),
            "driver" => Filter::Driver(v.into()),
            "label" => {
                let (k, v) = label(v);
                Filter::Label(k, v)
            }
            "label!" => {
                let (k, v) = label(v);
                Filter::LabelNot(k, v)
            }
            "dangling" => Filter::Dangling(boolean("dangling")?),
            "anonymous" => Filter::Anonymous(boolean("anonymous")?),
            other => anyhow::bail!(
                "invalid filter {other:?}: use name, driver, label, label!, dangling or anonymous"
            ),
        })
    }

    /// Whether volume `v` passes; `unused` tells whether no container
    /// uses it.
    pub fn matches(&self, v: &crate::state::volume::VolumeRecord, unused: bool) -> bool {
        let has = |k: &str, want: &Option<String>| match (v.labels.get(k), want) {
            (Some(have), Some(want)) => have == want,
            (Some(_), None) => true,
            (None, _) => false,
        };
        match self {
            Filter::Name(p) => p.is_match(&v.name),
            Filter::Driver(d) => &v.driver == d,
            Filter::Label(k, want) => has(k, want),
            Filter::LabelNot(k, want) => !has(k, want),
            Filter::Dangling(d) => unused == *d,
            Filter::Anonymous(a) => v.anonymous == *a,
        }
    }
}

/// `--filter` values, parsed.
pub fn filters(raw: &[String]) -> anyhow::Result<Vec<Filter>> {
    raw.iter().map(|f| Filter::parse(f)).collect()
}
