//! `skiff inspect`: containers or images (podman looks for a container first,
//! then an image), as one podman-shaped JSON array.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::{print_json, print_value};
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(required = true, num_args = 1..)]
    pub names: Vec<String>,
    /// Go template or `json`
    #[arg(short, long)]
    pub format: Option<String>,
    /// What to look for: container, image, or all
    #[arg(short = 't', long = "type", default_value = "all", value_parser = ["all", "container", "image"])]
    pub kind: String,
}

pub fn run(ctx: &CliContext, args: InspectArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let mut docs = Vec::new();
    let mut first_err: Option<anyhow::Error> = None;
    for name in &args.names {
        if args.kind != "image" {
            match engine.find_container(name) {
                Ok(rec) => {
                    docs.push(crate::cli::container::view::inspect_doc(&engine, &rec));
                    continue;
                }
                Err(e) if !e.is_no_such_container() => {
                    first_err.get_or_insert(e.into());
                    continue;
                }
                Err(_) if args.kind == "container" => {
                    first_err.get_or_insert(anyhow::anyhow!("no such container {name}"));
                    continue;
                }
                Err(_) => {}
            }
        }
        match engine.lookup_image(name) {
            Ok((rec, _)) => {
                let cfg = crate::cli::image::view::config_of(&engine, &rec)?;
                docs.push(crate::cli::image::view::inspect_doc(&engine, &rec, &cfg));
            }
            Err(_) => {
                let what = if args.kind == "image" {
                    "image"
                } else {
                    "object"
                };
                first_err.get_or_insert(anyhow::anyhow!("no such {what} {name}"));
            }
        }
    }
    match args.format.as_deref() {
        None | Some("json") => print_json(&serde_json::Value::Array(docs))?,
        Some(f) => {
            for d in &docs {
                print_value(f, d)?;
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}
