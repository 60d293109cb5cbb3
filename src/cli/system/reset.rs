//! `skiff system reset`: remove every container, image and layer, and the
//! run state: the store as if skiff had never run (configuration files are
//! kept). Rootless, the files are removed inside the user namespace (they
//! belong to subordinate ids) and the namespace is ended last.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::confirm;
use crate::cli::CliContext;
use crate::engine::container::remove::RemoveOptions;
use crate::engine::container::ContainerError;
use crate::engine::rootless;
use crate::state::StateError;

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(ctx: &CliContext, args: ResetArgs) -> anyhow::Result<ExitCode> {
    if !args.force
        && !confirm(
            "WARNING! This will remove all containers, images and layers, and the run state.",
            "use --force to reset without asking",
        )?
    {
        return Ok(ExitCode::SUCCESS);
    }
    let engine = ctx.engine()?;
    let root = engine.paths().root.clone();
    let runroot = engine.paths().runroot.clone();
    // Pods first: with their containers go their cgroups.
    for pod in engine.pods()?.list()? {
        let opts = crate::engine::pod::lifecycle::PodRemoveOptions {
            force: true,
            timeout: Some(0),
        };
        match engine.remove_pod(&pod.id, &opts) {
            Ok(_) | Err(ContainerError::State(StateError::NoSuchPod(_))) => {}
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!("removing pod {}", pod.name)))
            }
        }
    }
    let ids: Vec<String> =
        crate::engine::container::depend::removal_order(&engine.list_containers()?);
    for id in ids {
        let opts = RemoveOptions {
            force: true,
            timeout: Some(0),
            depend: true,
            infra: true,
            volumes: false,
        };
        match engine.remove_container(&id, opts) {
            Ok(_) => {}
            Err(e) if e.is_no_such_container() => {}
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!("removing container {id}")))
            }
        }
    }
    // Volumes with a file system of their own are unmounted first.
    for v in engine.volumes()?.names()? {
        let opts = crate::engine::volume::VolumeRemoveOptions {
            force: true,
            timeout: Some(0),
        };
        match engine.remove_volume(&v, opts) {
            Ok(_) | Err(ContainerError::State(StateError::NoSuchVolume(_))) => {}
            Err(e) => return Err(anyhow::Error::from(e).context(format!("removing volume {v}"))),
        }
    }
    // `image mount` views live in the run directory, over the layers.
    engine
        .unmount_all_images()
        .map_err(|e| anyhow::Error::from(e).context("unmounting images"))?;
    drop(engine);
    remove_dir(&root)?;
    // The run directory holds the pause process's pid: read it first.
    let pause = rootless::own_pause_process(&runroot);
    remove_dir(&runroot)?;
    if let Some(pid) = pause {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    }
    Ok(ExitCode::SUCCESS)
}

fn remove_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::anyhow!("removing {}: {e}", dir.display())),
    }
}
