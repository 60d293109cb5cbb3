//! `skiff top`: the processes of a running container, described by
//! ps-style descriptors (podman's set; see `skiff-container(1)`).

use std::process::ExitCode;

use clap::Args;
use serde_json::{Map, Value};

use crate::cli::human::go_duration;
use crate::cli::output::print_rows;
use crate::cli::CliContext;
use crate::engine::container::top::{parse_descriptors, TopValue};

#[derive(Debug, Args)]
pub struct TopArgs {
    /// The container, by name or id
    pub container: String,
    /// Descriptors (user, pid, ppid, pcpu, etime, tty, time, args, comm,
    /// group, nice, pgid, rss, vsz, state, stime, hpid, huser, hgroup,
    /// ruser, rgroup, seccomp, capeff, capprm, capinh, capbnd, capamb, or
    /// AIX forms such as %p), separately or comma-separated
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub descriptors: Vec<String>,
}

fn text(v: &TopValue) -> String {
    match v {
        TopValue::Text(s) => s.clone(),
        TopValue::Int(n) => n.to_string(),
        TopValue::Duration(d) => go_duration(*d),
        TopValue::Percent(p) => format!("{p:.3}"),
        TopValue::Time(t) => t.format("%Y-%m-%d %H:%M:%S %z UTC").to_string(),
    }
}

pub fn run(ctx: &CliContext, args: TopArgs) -> anyhow::Result<ExitCode> {
    let descriptors = parse_descriptors(&args.descriptors)?;
    let engine = ctx.engine()?;
    let rows = engine.top_container(&args.container, &descriptors)?;
    print_top(&descriptors, &rows)?;
    Ok(ExitCode::SUCCESS)
}

/// The rows of `top` as a table headed by the descriptors.
pub fn print_top(
    descriptors: &[crate::engine::container::top::Descriptor],
    rows: &[Vec<TopValue>],
) -> anyhow::Result<()> {
    // Columns as fields c0, c1, ... of each row, headed by the descriptors.
    let keys: Vec<String> = (0..descriptors.len()).map(|i| format!("c{i}")).collect();
    let headers: Vec<(&str, &str)> = keys
        .iter()
        .zip(descriptors)
        .map(|(k, d)| (k.as_str(), d.header()))
        .collect();
    let template = format!(
        "table {}",
        keys.iter()
            .map(|k| format!("{{{{.{k}}}}}"))
            .collect::<Vec<_>>()
            .join("\t")
    );
    let rows: Vec<Value> = rows
        .iter()
        .map(|row| {
            let m: Map<String, Value> = keys
                .iter()
                .zip(row)
                .map(|(k, v)| (k.clone(), Value::String(text(v))))
                .collect();
            Value::Object(m)
        })
        .collect();
    print_rows(None, &template, &headers, &rows, false)
}
