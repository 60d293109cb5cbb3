//! `skiff image history`: the layers of an image and the steps that made them.

use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use crate::cli::image::view;
use crate::cli::output::print_rows;
use crate::cli::{human, CliContext};

#[derive(Debug, Args)]
pub struct HistoryArgs {
    pub image: String,
    /// Show sizes in bytes and times as timestamps
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub human: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Print ids only
    #[arg(short, long)]
    pub quiet: bool,
    /// Go template, `table ...`, or `json`
    #[arg(long)]
    pub format: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Created", "CREATED"),
    ("CreatedBy", "CREATED BY"),
    ("Size", "SIZE"),
    ("Comment", "COMMENT"),
    ("CreatedAt", "CREATED AT"),
];

pub fn run(ctx: &CliContext, args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    let (rec, _) = engine.lookup_image(&args.image)?;
    let cfg = view::config_of(&engine, &rec)?;
    let layer_sizes: Vec<u64> = rec
        .layers
        .iter()
        .map(|l| {
            engine
                .store()
                .layers()
                .get(&l.chain_id)
                .ok()
                .flatten()
                .map(|r| r.size)
                .unwrap_or(0)
        })
        .collect();
    let mut entries = Vec::new();
    let mut layer_idx = 0;
    let history = if cfg.history.is_empty() {
        // Images without history still have layers to show.
        rec.layers.iter().map(|_| Default::default()).collect()
    } else {
        cfg.history.clone()
    };
    for h in &history {
        let size = if h.empty_layer {
            0
        } else {
            let s = layer_sizes.get(layer_idx).copied().unwrap_or(0);
            layer_idx += 1;
            s
        };
        entries.push((h.clone(), size));
    }
    let rows: Vec<serde_json::Value> = entries
        .into_iter()
        .rev()
        .enumerate()
        .map(|(i, (h, size))| {
            let id = if i == 0 {
                if args.no_trunc {
                    rec.id.hex().to_string()
                } else {
                    rec.id.hex()[..12].to_string()
                }
            } else {
                "<missing>".to_string()
            };
            let created = h
                .created
                .as_deref()
                .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                .map(|t| t.with_timezone(&chrono::Utc));
            let created_by = h.created_by.clone().unwrap_or_default();
            let created_by = if args.no_trunc || created_by.chars().count() <= 45 {
                created_by
            } else {
                format!("{}...", created_by.chars().take(42).collect::<String>())
            };
            json!({
                "ID": id,
                "Created": match (created, args.human) {
                    (Some(t), true) => human::ago(t),
                    (Some(t), false) => t.to_rfc3339(),
                    (None, _) => String::new(),
                },
                "CreatedAt": created.map(|t| t.to_rfc3339()).unwrap_or_default(),
                "CreatedBy": created_by,
                "Size": if args.human { human::size(size) } else { size.to_string() },
                "Comment": h.comment.clone().unwrap_or_default(),
                "Tags": if i == 0 { rec.names.clone() } else { vec![] },
            })
        })
        .collect();
    if args.quiet {
        crate::cli::output::print_lines(
            rows.iter()
                .filter_map(|r| r["ID"].as_str().map(str::to_string)),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.format.as_deref() == Some("json") {
        crate::cli::output::print_json(&serde_json::Value::Array(rows))?;
        return Ok(ExitCode::SUCCESS);
    }
    print_rows(
        args.format.as_deref(),
        "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
        HEADERS,
        &rows,
        false,
    )?;
    Ok(ExitCode::SUCCESS)
}
