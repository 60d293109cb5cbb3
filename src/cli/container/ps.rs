//! `skiff ps` / `container ls`: list containers.

use std::process::ExitCode;

use clap::Args;

use crate::cli::container::view;
use crate::cli::output::{print_json, print_lines, print_rows};
use crate::cli::CliContext;
use crate::state::container::ContainerRecord;

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers, not only running ones
    #[arg(short, long)]
    pub all: bool,
    /// Show only ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Show the latest container (of all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Show the N latest containers (of all states)
    #[arg(short = 'n', long)]
    pub last: Option<usize>,
    /// Filter: name=, id=, status=, label=, exited=, ancestor=
    #[arg(short, long = "filter")]
    pub filters: Vec<String>,
    /// Go template, `table ...`, or `json`
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate ids and commands
    #[arg(long)]
    pub no_trunc: bool,
    /// Do not print headers
    #[arg(long = "noheading")]
    pub noheading: bool,
    /// Show how much each container wrote and its root filesystem size
    #[arg(short, long)]
    pub size: bool,
    /// Show the pod of each container
    #[arg(short, long)]
    pub pod: bool,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Image", "IMAGE"),
    ("Command", "COMMAND"),
    ("Created", "CREATED"),
    ("CreatedHuman", "CREATED"),
    ("Status", "STATUS"),
    ("Ports", "PORTS"),
    ("Names", "NAMES"),
    ("State", "STATE"),
    ("Size", "SIZE"),
    ("Pod", "POD ID"),
    ("PodName", "PODNAME"),
];

/// One `--filter` of `ps`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    Name(String),
    Id(String),
    Status(String),
    Label(String, Option<String>),
    Exited(i32),
    Ancestor(String),
    /// A mount's destination or volume name.
    Volume(String),
}

impl Filter {
    fn parse(s: &str) -> anyhow::Result<Self> {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid filter {s:?}: expected KEY=VALUE"))?;
        Ok(match k {
            "name" => Filter::Name(v.to_string()),
            "id" => Filter::Id(v.to_string()),
            "status" => match v {
                "created" | "running" | "paused" | "exited" | "stopping" => Filter::Status(v.to_string()),
                _ => anyhow::bail!("invalid filter {s:?}: status is created, running, paused, exited or stopping"),
            },
            "label" => match v.split_once('=') {
                Some((a, b)) => Filter::Label(a.to_string(), Some(b.to_string())),
                None => Filter::Label(v.to_string(), None),
            },
            "exited" => Filter::Exited(
                v.parse()
                    .map_err(|_| anyhow::anyhow!("invalid filter {s:?}: exited takes an exit code"))?,
            ),
            "ancestor" => Filter::Ancestor(v.to_string()),
            "volume" => Filter::Volume(v.to_string()),
            other => anyhow::bail!(
                "invalid filter {other:?}: supported filters are name, id, status, label, exited, ancestor, volume"
            ),
        })
    }

    fn matches(&self, r: &ContainerRecord) -> bool {
        match self {
            Filter::Name(n) => r.name.contains(n.as_str()),
            Filter::Id(i) => r.id.starts_with(i.as_str()),
            Filter::Status(s) => r.state.status.as_str() == s,
            Filter::Label(k, v) => match v {
                Some(v) => r.config.labels.get(k) == Some(v),
                None => r.config.labels.contains_key(k),
            },
            Filter::Exited(c) => {
                r.state.status == crate::state::container::Status::Exited
                    && r.state.exit_code == Some(*c)
            }
            Filter::Ancestor(a) => {
                r.image.name.contains(a.as_str()) || r.image.id.hex().starts_with(a.as_str())
            }
            Filter::Volume(v) => r
                .config
                .mounts
                .iter()
                .any(|m| m.destination() == v || m.volume() == Some(v.as_str())),
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Filter::Name(_) => 0,
            Filter::Id(_) => 1,
            Filter::Status(_) => 2,
            Filter::Label(..) => 3,
            Filter::Exited(_) => 4,
            Filter::Ancestor(_) => 5,
            Filter::Volume(_) => 6,
        }
    }
}

pub fn run(ctx: &CliContext, args: PsArgs) -> anyhow::Result<ExitCode> {
    let filters = args
        .filters
        .iter()
        .map(|f| Filter::parse(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let engine = ctx.engine()?;
    let mut recs = engine.list_containers()?;
    let limit = if args.latest { Some(1) } else { args.last };
    let all = args.all
        || limit.is_some()
        || filters
            .iter()
            .any(|f| matches!(f, Filter::Status(_) | Filter::Exited(_)));
    recs.retain(|r| all || r.state.status.is_live());
    recs.retain(|r| {
        (0..=6).all(|k| {
            let of: Vec<&Filter> = filters.iter().filter(|f| f.kind() == k).collect();
            of.is_empty() || of.iter().any(|f| f.matches(r))
        })
    });
    if let Some(n) = limit {
        recs.truncate(n);
    }
    if args.quiet {
        print_lines(recs.iter().map(|r| {
            if args.no_trunc {
                r.id.clone()
            } else {
                r.short_id().to_string()
            }
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    // Sizes walk each container's files: only on request, as podman.
    let sizes = recs
        .iter()
        .map(|r| args.size.then(|| engine.container_size(r)).transpose())
        .collect::<Result<Vec<_>, _>>()?;
    let pod_names: std::collections::HashMap<String, String> =
        if recs.iter().any(|r| r.config.pod.is_some()) {
            engine
                .pods()?
                .list()?
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect()
        } else {
            Default::default()
        };
    let pod_name = |r: &ContainerRecord| {
        r.config
            .pod
            .as_ref()
            .and_then(|p| pod_names.get(p))
            .map_or("", String::as_str)
    };
    if args.format.as_deref() == Some("json") {
        print_json(&serde_json::Value::Array(
            recs.iter()
                .zip(&sizes)
                .map(|(r, s)| view::ps_json(r, *s, pod_name(r)))
                .collect(),
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<serde_json::Value> = recs
        .iter()
        .zip(&sizes)
        .map(|(r, s)| view::ps_row(r, args.no_trunc, *s, pod_name(r)))
        .collect();
    let mut default_format = String::from(
        "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
    );
    if args.size {
        default_format.push_str("\t{{.Size}}");
    }
    if args.pod {
        default_format.push_str("\t{{.Pod}}\t{{.PodName}}");
    }
    print_rows(
        args.format.as_deref(),
        &default_format,
        HEADERS,
        &rows,
        args.noheading,
    )?;
    Ok(ExitCode::SUCCESS)
}
