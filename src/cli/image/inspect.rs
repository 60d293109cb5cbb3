//! `skiff image inspect` (and `skiff inspect`): details of images as a
//! podman-shaped JSON array, or through `--format`.

use std::process::ExitCode;

use clap::Args;

use crate::cli::image::view;
use crate::cli::output::{print_json, print_value};
use crate::cli::CliContext;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Images to inspect
    #[arg(required = true, num_args = 1..)]
    pub images: Vec<String>,
    /// Go template or `json`
    #[arg(short, long)]
    pub format: Option<String>,
    /// The kind of object (only `image` until containers exist)
    #[arg(short = 't', long = "type", default_value = "image", value_parser = ["image"])]
    pub kind: String,
}

pub fn run(ctx: &CliContext, args: InspectArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let mut docs = Vec::new();
    let mut first_err = None;
    for name in &args.images {
        match engine.lookup_image(name) {
            Ok((rec, _)) => {
                let cfg = view::config_of(&engine, &rec)?;
                docs.push(view::inspect_doc(&engine, &rec, &cfg));
            }
            Err(e) => {
                first_err.get_or_insert(e);
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
        Some(e) => Err(e.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}
