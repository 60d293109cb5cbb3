//! `skiff images` / `skiff image ls`: list images in local storage.

use std::process::ExitCode;

use clap::Args;

use crate::cli::image::filter::ImageFilter;
use crate::cli::image::view::{self, RowOptions};
use crate::cli::output::{print_json, print_lines, print_rows};
use crate::cli::CliContext;
use crate::image::config::ImageConfig;

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Image name to list (as `--filter reference=NAME`)
    pub image: Option<String>,
    /// Show all images (skiff stores no intermediate images, so this lists
    /// the same images as without it)
    #[arg(short, long)]
    pub all: bool,
    /// Show only image ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Do not truncate ids
    #[arg(long)]
    pub no_trunc: bool,
    /// Do not print headers
    #[arg(short = 'n', long = "noheading")]
    pub noheading: bool,
    /// Filter output (reference=, dangling=, label=, id=, digest=)
    #[arg(short, long = "filter")]
    pub filters: Vec<String>,
    /// Go template, `table ...`, or `json`
    #[arg(long)]
    pub format: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "IMAGE ID"),
    ("Repository", "REPOSITORY"),
    ("Tag", "TAG"),
    ("Digest", "DIGEST"),
    ("Created", "CREATED"),
    ("CreatedSince", "CREATED"),
    ("CreatedAt", "CREATED AT"),
    ("Size", "SIZE"),
    ("ReadOnly", "R/O"),
];

pub fn run(ctx: &CliContext, args: LsArgs) -> anyhow::Result<ExitCode> {
    let mut filters = args
        .filters
        .iter()
        .map(|f| ImageFilter::parse(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(name) = &args.image {
        filters.push(ImageFilter::parse(&format!("reference={name}"))?);
    }
    let engine = ctx.engine()?;
    // Ids alone need no config unless a filter looks into it.
    let needs_config = !args.quiet || filters.iter().any(ImageFilter::needs_config);
    let mut selected = Vec::new();
    for rec in engine.store().images().list()? {
        let cfg = if needs_config {
            view::config_of(&engine, &rec)?
        } else {
            ImageConfig::default()
        };
        if ImageFilter::all_match(&filters, &rec, &cfg) {
            selected.push((rec, cfg));
        }
    }
    if args.quiet {
        let mut ids: Vec<String> = Vec::new();
        for (rec, _) in &selected {
            let id = if args.no_trunc {
                rec.id.to_string()
            } else {
                rec.id.hex()[..12].to_string()
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        print_lines(ids)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.format.as_deref() == Some("json") {
        let docs = selected
            .iter()
            .map(|(rec, cfg)| view::summary_json(rec, cfg))
            .collect();
        print_json(&serde_json::Value::Array(docs))?;
        return Ok(ExitCode::SUCCESS);
    }
    let opts = RowOptions {
        no_trunc: args.no_trunc,
    };
    let rows: Vec<serde_json::Value> = selected
        .iter()
        .flat_map(|(rec, cfg)| view::summary_rows(rec, cfg, &opts))
        .collect();
    let default = if args.digests {
        "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.Created}}\t{{.Size}}"
    } else {
        "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Created}}\t{{.Size}}"
    };
    print_rows(
        args.format.as_deref(),
        default,
        HEADERS,
        &rows,
        args.noheading,
    )?;
    Ok(ExitCode::SUCCESS)
}
