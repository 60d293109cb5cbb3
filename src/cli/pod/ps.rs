//! `skiff pod ps`: list pods, with their status derived from their
//! containers'.

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::{print_json, print_lines, print_rows};
use crate::cli::CliContext;
use crate::engine::pod::status::PodStatus;
use crate::state::container::ContainerRecord;
use crate::state::pod::PodRecord;

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show only ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate ids
    #[arg(long)]
    pub no_trunc: bool,
    /// Do not print headers
    #[arg(long = "noheading")]
    pub noheading: bool,
    /// Show the names of the pods' containers
    #[arg(long)]
    pub ctr_names: bool,
    /// Show the ids of the pods' containers
    #[arg(long)]
    pub ctr_ids: bool,
    /// Show the status of the pods' containers
    #[arg(long)]
    pub ctr_status: bool,
    /// Filter: id=, name=, label=KEY[=VALUE], status=, ctr-names=,
    /// ctr-ids=, ctr-status=, ctr-number=
    #[arg(short, long = "filter")]
    pub filters: Vec<String>,
    /// Go template, `table ...`, or `json`
    #[arg(long)]
    pub format: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "POD ID"),
    ("Name", "NAME"),
    ("Status", "STATUS"),
    ("Created", "CREATED"),
    ("InfraID", "INFRA ID"),
    ("NumberOfContainers", "# OF CONTAINERS"),
    ("ContainerNames", "NAMES"),
    ("ContainerIds", "IDS"),
    ("ContainerStatuses", "STATUS"),
    ("Labels", "LABELS"),
];

enum Filter {
    Id(String),
    Name(String),
    Label(String, Option<String>),
    Status(String),
    CtrNames(String),
    CtrIds(String),
    CtrStatus(String),
    CtrNumber(usize),
}

impl Filter {
    fn parse(f: &str) -> anyhow::Result<Filter> {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: use KEY=VALUE"))?;
        Ok(match k {
            "id" => Filter::Id(v.into()),
            "name" => Filter::Name(v.into()),
            "label" => match v.split_once('=') {
                Some((lk, lv)) => Filter::Label(lk.into(), Some(lv.into())),
                None => Filter::Label(v.into(), None),
            },
            "status" => {
                let known = ["created", "running", "degraded", "paused", "exited", "stopped"];
                if !known.contains(&v) {
                    anyhow::bail!("invalid status filter {v:?}: use one of {}", known.join(", "));
                }
                Filter::Status(v.into())
            }
            "ctr-names" => Filter::CtrNames(v.into()),
            "ctr-ids" => Filter::CtrIds(v.into()),
            "ctr-status" => Filter::CtrStatus(v.into()),
            "ctr-number" => Filter::CtrNumber(
                v.parse()
                    .map_err(|_| anyhow::anyhow!("invalid ctr-number filter {v:?}: not a number"))?,
            ),
            other => anyhow::bail!(
                "invalid filter {other:?}: use id, name, label, status, ctr-names, ctr-ids, ctr-status or ctr-number"
            ),
        })
    }

    fn matches(&self, p: &PodRecord, ctrs: &[ContainerRecord]) -> bool {
        match self {
            Filter::Id(x) => p.id.starts_with(x.as_str()),
            Filter::Name(x) => p.name.contains(x.as_str()),
            Filter::Label(k, v) => match (p.config.labels.get(k), v) {
                (Some(have), Some(want)) => have == want,
                (Some(_), None) => true,
                (None, _) => false,
            },
            Filter::Status(s) => PodStatus::of(ctrs).as_str().eq_ignore_ascii_case(s),
            Filter::CtrNames(n) => ctrs.iter().any(|c| c.name.contains(n.as_str())),
            Filter::CtrIds(i) => ctrs.iter().any(|c| c.id.starts_with(i.as_str())),
            Filter::CtrStatus(s) => ctrs.iter().any(|c| c.state.status.as_str() == s),
            Filter::CtrNumber(n) => ctrs.len() == *n,
        }
    }
}

fn row(p: &PodRecord, ctrs: &[ContainerRecord], no_trunc: bool) -> serde_json::Value {
    let id = |s: &str| {
        if no_trunc {
            s.to_string()
        } else {
            s[..12.min(s.len())].to_string()
        }
    };
    let labels: Vec<String> = p
        .config
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    serde_json::json!({
        "ID": id(&p.id),
        "Name": p.name,
        "Status": PodStatus::of(ctrs).as_str(),
        "Created": crate::cli::human::ago(p.created),
        "InfraID": p.infra.as_deref().map(id).unwrap_or_default(),
        "NumberOfContainers": ctrs.len(),
        "ContainerNames": ctrs.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(","),
        "ContainerIds": ctrs.iter().map(|c| id(&c.id)).collect::<Vec<_>>().join(","),
        "ContainerStatuses": ctrs.iter().map(|c| c.state.status.as_str()).collect::<Vec<_>>().join(","),
        "Labels": labels.join(","),
    })
}

/// A pod as `--format json` prints it (podman's field names).
fn json_entry(p: &PodRecord, ctrs: &[ContainerRecord]) -> serde_json::Value {
    serde_json::json!({
        "Id": p.id,
        "Name": p.name,
        "Status": PodStatus::of(ctrs).as_str(),
        "Created": p.created.to_rfc3339(),
        "InfraId": p.infra.clone().unwrap_or_default(),
        "Labels": p.config.labels,
        "Containers": ctrs.iter().map(|c| serde_json::json!({
            "Id": c.id,
            "Names": c.name,
            "Status": c.state.status.as_str(),
        })).collect::<Vec<_>>(),
    })
}

pub fn run(ctx: &CliContext, args: PsArgs) -> anyhow::Result<ExitCode> {
    let filters = args
        .filters
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let engine = ctx.engine()?;
    let pods = engine.pods()?.list()?;
    // One pass over the containers for every pod.
    let all = engine.list_containers()?;
    let mut shown: Vec<(PodRecord, Vec<ContainerRecord>)> = Vec::new();
    for p in pods {
        let mut ctrs: Vec<ContainerRecord> = all
            .iter()
            .filter(|c| c.config.pod.as_deref() == Some(p.id.as_str()))
            .cloned()
            .collect();
        ctrs.sort_by_key(|c| (!c.config.infra, c.created));
        if filters.iter().all(|f| f.matches(&p, &ctrs)) {
            shown.push((p, ctrs));
        }
    }
    if args.quiet {
        print_lines(shown.iter().map(|(p, _)| {
            if args.no_trunc {
                p.id.as_str()
            } else {
                p.short_id()
            }
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.format.as_deref() == Some("json") {
        let docs: Vec<_> = shown.iter().map(|(p, c)| json_entry(p, c)).collect();
        print_json(&serde_json::Value::Array(docs))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<_> = shown
        .iter()
        .map(|(p, c)| row(p, c, args.no_trunc))
        .collect();
    let mut table =
        String::from("table {{.ID}}\t{{.Name}}\t{{.Status}}\t{{.Created}}\t{{.InfraID}}");
    if args.ctr_ids {
        table.push_str("\t{{.ContainerIds}}");
    }
    if args.ctr_names {
        table.push_str("\t{{.ContainerNames}}");
    }
    if args.ctr_status {
        table.push_str("\t{{.ContainerStatuses}}");
    }
    if !(args.ctr_ids || args.ctr_names || args.ctr_status) {
        table.push_str("\t{{.NumberOfContainers}}");
    }
    print_rows(
        args.format.as_deref(),
        &table,
        HEADERS,
        &rows,
        args.noheading,
    )?;
    Ok(ExitCode::SUCCESS)
}
