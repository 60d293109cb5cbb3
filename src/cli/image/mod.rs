//! `skiff image ...`: pull, list, inspect, tag and remove images.

pub mod exists;
pub mod filter;
pub mod history;
pub mod import;
pub mod inspect;
pub mod load;
pub mod ls;
pub mod mount;
pub mod progress;
pub mod prune;
pub mod pull;
pub mod push;
pub mod rm;
pub mod save;
pub mod tag;
pub mod umount;
pub mod untag;
pub mod view;

use std::process::ExitCode;

use clap::Subcommand;

use crate::cli::CliContext;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Pull an image from a registry
    Pull(pull::PullArgs),
    /// Push an image to a registry
    Push(push::PushArgs),
    /// Save images to an archive
    Save(save::SaveArgs),
    /// Load images from an archive
    Load(load::LoadArgs),
    /// List images in local storage
    #[command(visible_alias = "list")]
    Ls(ls::LsArgs),
    /// Show details of images
    Inspect(inspect::InspectArgs),
    /// Show the history of an image
    History(history::HistoryArgs),
    /// Add names to an image
    Tag(tag::TagArgs),
    /// Remove names from an image
    Untag(untag::UntagArgs),
    /// Remove one or more images
    Rm(rm::RmArgs),
    /// Remove unused images
    Prune(prune::PruneArgs),
    /// Exit 0 if an image exists in local storage, 1 if not
    Exists(exists::ExistsArgs),
    /// Mount read-only views of images' files and print where
    Mount(mount::MountArgs),
    /// Unmount images mounted with `image mount`
    #[command(visible_alias = "unmount")]
    Umount(umount::UmountArgs),
    /// Make an image of a tar of a file system
    Import(import::ImportArgs),
    /// Show the files an image's top layer added, changed or deleted
    Diff(crate::cli::container::diff::DiffArgs),
}

pub fn run(ctx: &CliContext, cmd: ImageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ImageCommand::Pull(a) => pull::run(ctx, a),
        ImageCommand::Push(a) => push::run(ctx, a),
        ImageCommand::Save(a) => save::run(ctx, a),
        ImageCommand::Load(a) => load::run(ctx, a),
        ImageCommand::Ls(a) => ls::run(ctx, a),
        ImageCommand::Inspect(a) => inspect::run(ctx, a),
        ImageCommand::History(a) => history::run(ctx, a),
        ImageCommand::Tag(a) => tag::run(ctx, a),
        ImageCommand::Untag(a) => untag::run(ctx, a),
        ImageCommand::Rm(a) => rm::run(ctx, a),
        ImageCommand::Prune(a) => prune::run(ctx, a),
        ImageCommand::Exists(a) => exists::run(ctx, a),
        ImageCommand::Mount(a) => mount::run(ctx, a),
        ImageCommand::Umount(a) => umount::run(ctx, a),
        ImageCommand::Import(a) => import::run(ctx, a),
        ImageCommand::Diff(a) => {
            crate::cli::container::diff::run(ctx, a, crate::engine::commit::DiffTarget::Image)
        }
    }
}
