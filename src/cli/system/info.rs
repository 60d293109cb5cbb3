//! `skiff info`: the host (kernel, cgroups, rootless), the store (paths,
//! driver, image count) and the registries configuration.

use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use crate::cli::output::{print_json, print_value};
use crate::cli::CliContext;
use crate::config::paths::Privilege;

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Go template or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

pub fn run(ctx: &CliContext, args: InfoArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let uname = nix::sys::utsname::uname()?;
    let images = engine.store().images().list()?.len();
    let registries = engine.registries()?;
    let doc = json!({
        "host": {
            "arch": crate::image::platform::Platform::host().architecture,
            "os": "linux",
            "kernel": uname.release().to_string_lossy(),
            "hostname": uname.nodename().to_string_lossy(),
            "cgroupVersion": crate::sys::cgroup::mode().to_string(),
            "security": { "rootless": engine.privilege() == Privilege::Rootless },
            "cgroupsUsable": engine.cgroups_usable(),
            "idMappings": {
                "uidmap": id_map("uid_map"),
                "gidmap": id_map("gid_map"),
            },
        },
        "store": {
            "graphRoot": engine.paths().root,
            "runRoot": engine.paths().runroot,
            "graphDriverName": engine.store().driver().to_string(),
            "imageStore": { "number": images },
            "configFile": engine.paths().config_file,
        },
        "registries": {
            "search": registries.unqualified_search_registries(),
        },
        "version": { "Version": env!("CARGO_PKG_VERSION") },
    });
    match args.format.as_deref() {
        None => {
            let mut out = String::new();
            yaml_like(&doc, 0, &mut out);
            crate::cli::output::print_lines([out.trim_end()])?;
        }
        Some("json") => print_json(&doc)?,
        Some(f) => print_value(f, &doc)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// This process's id map (the rootless namespace's, for a normal user), as
/// podman lists it.
fn id_map(file: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("/proc/self/{file}")).unwrap_or_default();
    crate::idmap::parse_proc_map(&text)
        .iter()
        .map(|m| json!({"container_id": m.container, "host_id": m.host, "size": m.size}))
        .collect()
}

/// podman prints `info` as YAML; this prints the same nesting.
fn yaml_like(v: &serde_json::Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        serde_json::Value::Object(m) => {
            for (k, val) in m {
                match val {
                    serde_json::Value::Object(_) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        yaml_like(val, indent + 2, out);
                    }
                    serde_json::Value::Array(a) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        for item in a {
                            out.push_str(&format!("{pad}- {}\n", scalar(item)));
                        }
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(val))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
