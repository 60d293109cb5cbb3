//! `skiff port`: the ports a container publishes on the host, as
//! `CONTAINER_PORT/PROTO -> HOST_IP:HOST_PORT` lines (podman's format).

use std::process::ExitCode;

use clap::Args;

use crate::cli::output::print_lines;
use crate::cli::CliContext;
use crate::state::container::{ContainerRecord, PortMapping};

#[derive(Debug, Args)]
pub struct PortArgs {
    /// Every container's ports
    #[arg(short, long)]
    pub all: bool,
    /// The latest container
    #[arg(short, long)]
    pub latest: bool,
    /// CONTAINER [PRIVATE_PORT[/PROTO]]
    pub args: Vec<String>,
}

/// `PORT[/PROTO]` (tcp when left out).
fn parse_private(s: &str) -> anyhow::Result<(u16, String)> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    let port = port
        .parse::<u16>()
        .map_err(|_| anyhow::anyhow!("invalid port {s:?}: expected PORT[/PROTOCOL]"))?;
    if !matches!(proto, "tcp" | "udp" | "sctp") {
        anyhow::bail!("invalid protocol {proto:?}: tcp, udp or sctp");
    }
    Ok((port, proto.to_string()))
}

fn host_addr(m: &PortMapping, host_port: u16) -> String {
    let ip = if m.host_ip.is_empty() {
        "0.0.0.0"
    } else {
        m.host_ip.as_str()
    };
    if ip.contains(':') {
        format!("[{ip}]:{host_port}")
    } else {
        format!("{ip}:{host_port}")
    }
}

/// Every published port of `rec`, one line each.
fn lines_of(rec: &ContainerRecord) -> Vec<String> {
    rec.config
        .ports
        .iter()
        .flat_map(|m| {
            m.pairs()
                .map(move |(c, h)| format!("{c}/{} -> {}", m.protocol.as_str(), host_addr(m, h)))
        })
        .collect()
}

/// Where `private` is published (`HOST_IP:HOST_PORT` lines).
fn published_at(rec: &ContainerRecord, private: &(u16, String)) -> Vec<String> {
    rec.config
        .ports
        .iter()
        .filter(|m| m.protocol.as_str() == private.1)
        .flat_map(|m| {
            m.pairs()
                .filter(|(c, _)| *c == private.0)
                .map(|(_, h)| host_addr(m, h))
                .collect::<Vec<_>>()
        })
        .collect()
}

pub fn run(ctx: &CliContext, args: PortArgs) -> anyhow::Result<ExitCode> {
    let engine = ctx.engine()?;
    if args.all || args.latest {
        if args.all && args.latest {
            anyhow::bail!("--all and --latest cannot be used together");
        }
        if args.args.len() > 1 || (args.all && !args.args.is_empty()) {
            anyhow::bail!("no container can be named with --all or --latest");
        }
        let mut recs = engine.list_containers()?;
        if args.latest {
            recs.truncate(1);
        }
        let private = args.args.first().map(|p| parse_private(p)).transpose()?;
        for rec in recs.iter().filter(|r| r.state.status.is_live()) {
            let lines = match &private {
                Some(p) => published_at(rec, p),
                None => lines_of(rec),
            };
            let short = rec.short_id();
            if args.all {
                print_lines(lines.iter().map(|l| format!("{short}\t{l}")))?;
            } else {
                print_lines(lines)?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (name, private) = match args.args.as_slice() {
        [] => anyhow::bail!("a container name or ID, --all or --latest is needed"),
        [name] => (name, None),
        [name, p] => (name, Some(parse_private(p)?)),
        _ => anyhow::bail!("too many arguments: CONTAINER [PRIVATE_PORT[/PROTO]]"),
    };
    let rec = engine.find_container(name)?;
    match private {
        None => print_lines(lines_of(&rec))?,
        Some(p) => {
            let found = published_at(&rec, &p);
            if found.is_empty() {
                anyhow::bail!("failed to find published port \"{}/{}\"", p.0, p.1);
            }
            print_lines(found)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::container::Protocol;

    fn rec_with(ports: Vec<PortMapping>) -> ContainerRecord {
        let mut rec: ContainerRecord = serde_json::from_value(serde_json::json!({
            "id": "0123456789abcdef", "name": "c",
            "image": {"id": format!("sha256:{}", "a".repeat(64)), "name": "x", "top_layer": null},
            "created": "2026-01-01T00:00:00Z", "config": {}, "args": [], "runtime": "runc",
            "state": {"status": "running", "pid": null, "monitor_pid": null, "monitor_start": null,
                      "started_at": null, "finished_at": null, "exit_code": null,
                      "oom_killed": false, "restart_count": 0, "stopped_by_user": false, "boot": null}
        }))
        .expect("record");
        rec.config.ports = ports;
        rec
    }

    #[test]
    fn ranges_list_one_line_per_port_and_filters_match_protocols() {
        let rec = rec_with(vec![
            PortMapping {
                host_ip: String::new(),
                host_port: 8080,
                container_port: 80,
                protocol: Protocol::Tcp,
                range: 2,
            },
            PortMapping {
                host_ip: "127.0.0.1".into(),
                host_port: 5353,
                container_port: 53,
                protocol: Protocol::Udp,
                range: 1,
            },
        ]);
        assert_eq!(
            lines_of(&rec),
            [
                "80/tcp -> 0.0.0.0:8080",
                "81/tcp -> 0.0.0.0:8081",
                "53/udp -> 127.0.0.1:5353"
            ]
        );
        let p = parse_private("81").expect("valid");
        assert_eq!(published_at(&rec, &p), ["0.0.0.0:8081"]);
        let p = parse_private("53/tcp").expect("valid");
        assert!(published_at(&rec, &p).is_empty());
        assert!(parse_private("53/icmp").is_err());
        assert!(parse_private("x").is_err());
    }
}
