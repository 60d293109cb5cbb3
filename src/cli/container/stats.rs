//! `skiff stats`: CPU, memory, block I/O and pids of containers, read from
//! their cgroups; once with `--no-stream`, else redrawn every `--interval`
//! seconds until interrupted. Network I/O shows `-- / --`: skiff does not
//! give containers a network of their own yet.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::{json, Value};

use crate::cli::human::{compact_size, go_duration, SizeUnits};
use crate::cli::output::{print_json, print_rows};
use crate::cli::CliContext;
use crate::engine::container::stats::StatsSample;
use crate::engine::Engine;
use crate::state::container::ContainerRecord;

#[derive(Debug, Args)]
pub struct StatsArgs {
    pub containers: Vec<String>,
    /// Show all containers, not only running ones
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub show: StatsFlags,
}

/// How readings are shown (`stats` and `pod stats`).
#[derive(Debug, Args)]
pub struct StatsFlags {
    /// Print one reading and exit
    #[arg(long)]
    pub no_stream: bool,
    /// Go template, `table ...`, or `json`
    #[arg(long)]
    pub format: Option<String>,
    /// Seconds between readings when streaming
    #[arg(short, long, default_value_t = 5)]
    pub interval: u64,
    /// Do not clear the screen between readings
    #[arg(long)]
    pub no_reset: bool,
    /// Do not truncate ids
    #[arg(long)]
    pub no_trunc: bool,
}

const HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("Name", "NAME"),
    ("CPUPerc", "CPU %"),
    ("CPU", "CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemUsageBytes", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET IO"),
    ("BlockIO", "BLOCK IO"),
    ("PIDS", "PIDS"),
    ("PIDs", "PIDS"),
    ("UpTime", "CPU TIME"),
    ("AVGCPU", "AVG CPU %"),
    ("AvgCPU", "AVG CPU %"),
    ("Pod", "POD"),
    ("CID", "CID"),
];

const DEFAULT_TABLE: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}\t{{.UpTime}}\t{{.AVGCPU}}";

/// Template fields of one reading (podman's names).
fn row(
    s: &StatsSample,
    pod: Option<&str>,
    previous: Option<&StatsSample>,
    no_trunc: bool,
) -> Value {
    let cpu = s.cpu_percent(previous);
    let avg = s.average_cpu_percent();
    let pair =
        |a: u64, b: u64, units| format!("{} / {}", compact_size(a, units), compact_size(b, units));
    json!({
        "ID": if no_trunc { &s.id[..] } else { &s.id[..12.min(s.id.len())] },
        "CID": if no_trunc { &s.id[..] } else { &s.id[..12.min(s.id.len())] },
        "Pod": pod.map(|p| if no_trunc { p } else { &p[..12.min(p.len())] }).unwrap_or_default(),
        "ContainerID": s.id,
        "Name": s.name,
        "CPUPerc": format!("{cpu:.2}%"),
        "CPU": cpu,
        "AVGCPU": format!("{avg:.2}%"),
        "AvgCPU": avg,
        "CPUNano": s.cpu_ns,
        "SystemNano": s.system_ns,
        "UpTime": go_duration(Duration::from_nanos(s.cpu_ns)),
        "MemUsage": pair(s.mem_usage, s.mem_limit, SizeUnits::Decimal),
        "MemUsageBytes": pair(s.mem_usage, s.mem_limit, SizeUnits::Binary),
        "MemLimit": s.mem_limit,
        "MemPerc": format!("{:.2}%", s.mem_percent()),
        "NetIO": "-- / --",
        "BlockIO": pair(s.block_read, s.block_write, SizeUnits::Decimal),
        "BlockInput": s.block_read,
        "BlockOutput": s.block_write,
        "PIDS": s.pids.to_string(),
        "PIDs": s.pids,
    })
}

/// The `--format json` entry of one reading (podman's keys).
fn json_entry(r: &Value) -> Value {
    json!({
        "id": r["ID"], "name": r["Name"], "cpu_time": r["UpTime"],
        "cpu_percent": r["CPUPerc"], "avg_cpu": r["AVGCPU"], "mem_usage": r["MemUsage"],
        "mem_percent": r["MemPerc"], "net_io": r["NetIO"], "block_io": r["BlockIO"],
        "pids": r["PIDS"],
    })
}

/// The containers of this round: those named, else every container (with
/// `--all`) or the live ones, by id.
fn targets(engine: &Engine, args: &StatsArgs) -> anyhow::Result<Vec<ContainerRecord>> {
    if !args.containers.is_empty() {
        return args
            .containers
            .iter()
            .map(|c| Ok(engine.find_container(c)?))
            .collect();
    }
    let mut recs: Vec<ContainerRecord> = engine
        .list_containers()?
        .into_iter()
        .filter(|r| args.all || r.state.status.is_live())
        .collect();
    recs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(recs)
}

pub fn run(ctx: &CliContext, args: StatsArgs) -> anyhow::Result<ExitCode> {
    if args.all && !args.containers.is_empty() {
        anyhow::bail!("--all and container names cannot be used together");
    }
    let engine = ctx.engine()?;
    stream(&engine, &args.show, DEFAULT_TABLE, &|| {
        targets(&engine, &args)
    })
}

/// Show readings of the containers `targets` gives (asked again at each
/// round), once or every interval until interrupted.
pub fn stream(
    engine: &Engine,
    d: &StatsFlags,
    table: &str,
    targets: &dyn Fn() -> anyhow::Result<Vec<ContainerRecord>>,
) -> anyhow::Result<ExitCode> {
    if d.interval == 0 {
        anyhow::bail!("--interval must be greater than 0");
    }
    let json = d.format.as_deref().is_some_and(crate::format::is_json);
    engine.require_cgroups("stats")?;
    let mut previous: HashMap<String, StatsSample> = HashMap::new();
    loop {
        let recs = targets()?;
        let samples: Vec<StatsSample> = recs.iter().map(|r| engine.container_stats(r)).collect();
        let rows: Vec<Value> = samples
            .iter()
            .zip(&recs)
            .map(|(s, r)| row(s, r.config.pod.as_deref(), previous.get(&s.id), d.no_trunc))
            .collect();
        if !d.no_stream && !d.no_reset {
            // Clear the screen and go home, as podman redraws.
            let mut out = std::io::stdout().lock();
            write!(out, "\x1b[2J\x1b[H")?;
            out.flush()?;
        }
        if json {
            print_json(&Value::Array(rows.iter().map(json_entry).collect()))?;
        } else {
            print_rows(d.format.as_deref(), table, HEADERS, &rows, false)?;
        }
        if d.no_stream {
            return Ok(ExitCode::SUCCESS);
        }
        previous = samples.into_iter().map(|s| (s.id.clone(), s)).collect();
        std::thread::sleep(Duration::from_secs(d.interval));
    }
}
