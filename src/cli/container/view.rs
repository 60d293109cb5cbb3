//! How containers look in command output: `ps` rows and the podman-shaped
//! `inspect` document.

use chrono::Utc;
use serde_json::{json, Value};

use crate::cli::human;
use crate::engine::container::size::ContainerSize;
use crate::engine::Engine;
use crate::state::container::{ContainerRecord, MountSpec, Status};

/// "Up 5 seconds", "Exited (0) 3 minutes ago", "Created", "Paused".
pub fn status_text(rec: &ContainerRecord) -> String {
    let s = &rec.state;
    match s.status {
        Status::Created => "Created".to_string(),
        Status::Running | Status::Stopping => match s.started_at {
            Some(t) => format!("Up {}", human::duration((Utc::now() - t).num_seconds())),
            None => "Up".to_string(),
        },
        Status::Paused => "Paused".to_string(),
        Status::Exited => format!(
            "Exited ({}) {}",
            s.exit_code.unwrap_or(0),
            s.finished_at.map(human::ago).unwrap_or_default()
        )
        .trim_end()
        .to_string(),
    }
}

/// Shell-like display of the command.
pub fn command_text(rec: &ContainerRecord) -> String {
    rec.args.join(" ")
}

/// A `ps` row with podman's template field names.
/// `ps --size`'s column: what the container wrote, and its whole root
/// ("100kB (virtual 4.96MB)", three significant digits and no space, as
/// podman prints it).
fn size_text(size: Option<ContainerSize>) -> String {
    let short = |b: u64| human::size(b).replace(' ', "");
    size.map(|s| format!("{} (virtual {})", short(s.rw), short(s.root_fs)))
        .unwrap_or_default()
}

pub fn ps_row(
    rec: &ContainerRecord,
    no_trunc: bool,
    size: Option<ContainerSize>,
    pod_name: &str,
) -> Value {
    let id = if no_trunc {
        rec.id.clone()
    } else {
        rec.short_id().to_string()
    };
    let mut command = command_text(rec);
    if !no_trunc && command.chars().count() > 17 {
        command = format!("{}...", command.chars().take(17).collect::<String>());
    }
    json!({
        "ID": id,
        "Id": rec.id,
        "Image": rec.image.name,
        "ImageID": rec.image.id.hex(),
        "Command": command,
        "CreatedHuman": human::ago(rec.created),
        "Created": human::ago(rec.created),
        "CreatedAt": rec.created.format("%Y-%m-%d %H:%M:%S %z UTC").to_string(),
        "Status": status_text(rec),
        "State": rec.state.status.as_str(),
        "Names": rec.name,
        "Ports": "",
        "Size": size_text(size),
        "Labels": rec.config.labels,
        "Pid": rec.state.pid.unwrap_or(0),
        "ExitCode": rec.state.exit_code.unwrap_or(0),
        "Exited": rec.state.status == Status::Exited,
        "AutoRemove": rec.config.auto_remove,
        "Pod": rec.config.pod.as_deref().map(|p| if no_trunc { p } else { &p[..12.min(p.len())] }).unwrap_or_default(),
        "PodName": pod_name,
        "IsInfra": rec.config.infra,
        "Restarts": rec.state.restart_count,
    })
}

/// The `--format json` entry of `ps` (podman's shape).
pub fn ps_json(rec: &ContainerRecord, size: Option<ContainerSize>, pod_name: &str) -> Value {
    json!({
        "Size": size.map(|s| json!({"rootFsSize": s.root_fs, "rwSize": s.rw})),
        "AutoRemove": rec.config.auto_remove,
        "Command": rec.args,
        "Created": rec.created.timestamp(),
        "CreatedAt": human::ago(rec.created),
        "Exited": rec.state.status == Status::Exited,
        "ExitedAt": rec.state.finished_at.map(|t| t.timestamp()).unwrap_or(0),
        "ExitCode": rec.state.exit_code.unwrap_or(0),
        "Id": rec.id,
        "Image": rec.image.name,
        "ImageID": rec.image.id.hex(),
        "IsInfra": rec.config.infra,
        "Labels": rec.config.labels,
        "Mounts": [],
        "Names": [rec.name],
        "Namespaces": {},
        "Networks": [],
        "Pid": rec.state.pid.unwrap_or(0),
        "Pod": rec.config.pod.clone().unwrap_or_default(),
        "PodName": pod_name,
        "Ports": null,
        "Restarts": rec.state.restart_count,
        "StartedAt": rec.state.started_at.map(|t| t.timestamp()).unwrap_or(0),
        "State": rec.state.status.as_str(),
        "Status": status_text(rec),
    })
}

fn time(t: Option<chrono::DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string())
}

/// `Mounts` of inspect: the user's mounts as podman lists them.
fn mounts_doc(engine: &Engine, rec: &ContainerRecord) -> Vec<Value> {
    rec.config
        .mounts
        .iter()
        .map(|m| {
            let options = m.options();
            let propagation = options
                .iter()
                .find(|o| {
                    o.contains("shared")
                        || o.contains("slave")
                        || o.contains("private")
                        || o.contains("bindable")
                })
                .cloned()
                .unwrap_or_else(|| "rprivate".into());
            let shown: Vec<&String> = options
                .iter()
                .filter(|o| *o != "ro" && *o != "rw")
                .collect();
            let mut doc = json!({
                "Destination": m.destination(),
                "Driver": "",
                "Mode": "",
                "Options": shown,
                "RW": !m.read_only(),
                "Propagation": propagation,
            });
            match m {
                MountSpec::Bind { source, .. } => {
                    doc["Type"] = json!("bind");
                    doc["Source"] = json!(source);
                }
                MountSpec::Volume { name, .. } => {
                    doc["Type"] = json!("volume");
                    doc["Name"] = json!(name);
                    doc["Driver"] = json!(crate::engine::volume::LOCAL_DRIVER);
                    doc["Source"] = json!(engine
                        .volumes()
                        .map(|v| v.data_dir(name))
                        .unwrap_or_default());
                }
                MountSpec::Tmpfs { .. } => {
                    doc["Type"] = json!("tmpfs");
                    doc["Source"] = json!("tmpfs");
                }
                MountSpec::Image { image, .. } => {
                    doc["Type"] = json!("image");
                    doc["Source"] = json!(image);
                }
                MountSpec::Devpts { .. } => {
                    doc["Type"] = json!("devpts");
                    doc["Source"] = json!("devpts");
                }
            }
            doc
        })
        .collect()
}

/// `HostConfig.Binds`: bind and volume mounts as `SOURCE:DEST[:OPTIONS]`.
fn binds(rec: &ContainerRecord) -> Vec<String> {
    rec.config
        .mounts
        .iter()
        .filter_map(|m| {
            let source = match m {
                MountSpec::Bind { source, .. } => source.display().to_string(),
                MountSpec::Volume { name, .. } => name.clone(),
                _ => return None,
            };
            let mut bind = format!("{source}:{}", m.destination());
            if !m.options().is_empty() {
                bind.push(':');
                bind.push_str(&m.options().join(","));
            }
            Some(bind)
        })
        .collect()
}

/// `HostConfig.Tmpfs`: destination to options.
fn tmpfs_doc(rec: &ContainerRecord) -> serde_json::Map<String, Value> {
    rec.config
        .mounts
        .iter()
        .filter_map(|m| match m {
            MountSpec::Tmpfs {
                destination,
                options,
            } => Some((destination.clone(), json!(options.join(",")))),
            _ => None,
        })
        .collect()
}

/// The `inspect` document of a container.
pub fn inspect_doc(engine: &Engine, rec: &ContainerRecord) -> Value {
    let s = &rec.state;
    let (rundir, userdata) = engine
        .containers()
        .map(|c| (c.rundir(&rec.id), c.userdata(&rec.id)))
        .unwrap_or_default();
    let mut doc = json!({
        "Id": rec.id,
        "Created": time(Some(rec.created)),
        "Path": rec.args.first().cloned().unwrap_or_default(),
        "Args": rec.args.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": s.status.as_str(),
            "Running": s.status == Status::Running,
            "Paused": s.status == Status::Paused,
            "Restarting": false,
            "OOMKilled": s.oom_killed,
            "Dead": false,
            "Pid": s.pid.unwrap_or(0),
            "ConmonPid": s.monitor_pid.unwrap_or(0),
            "ExitCode": s.exit_code.unwrap_or(0),
            "Error": "",
            "StartedAt": time(s.started_at),
            "FinishedAt": time(s.finished_at),
        },
        "Image": rec.image.id.hex(),
        "ImageName": rec.image.name,
        "Rootfs": "",
        "ResolvConfPath": "",
        "HostnamePath": "",
        "HostsPath": "",
        "StaticDir": userdata,
        "OCIRuntime": rec.runtime,
        "LogPath": userdata.join("ctr.log"),
        "ConmonPidFile": rundir.join("conmon.pid"),
        "Name": rec.name,
        "RestartCount": s.restart_count,
        "Dependencies": rec.config.requires,
        "Driver": engine.store().driver().to_string(),
        "Mounts": mounts_doc(engine, rec),
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "Config": {
            "Hostname": rec.config.hostname.clone().unwrap_or_else(|| rec.short_id().to_string()),
            "User": rec.config.user.clone().unwrap_or_default(),
            "Env": rec.config.env,
            "Cmd": rec.config.command,
            "Image": rec.image.name,
            "WorkingDir": rec.config.workdir.clone().unwrap_or_default(),
            "Entrypoint": rec.config.entrypoint.clone().map(|e| e.join(" ")).unwrap_or_default(),
            "Labels": rec.config.labels,
            "Annotations": rec.config.annotations,
            "StopSignal": rec.config.stop_signal.unwrap_or(libc::SIGTERM),
            "StopTimeout": rec.config.stop_timeout.unwrap_or(10),
            "Tty": rec.config.tty,
            "OpenStdin": rec.config.interactive,
        },
        "HostConfig": {
            "AutoRemove": rec.config.auto_remove,
            "Privileged": rec.config.privileged,
            "ReadonlyRootfs": rec.config.read_only,
            "Init": rec.config.init,
            "CapAdd": rec.config.cap_add,
            "CapDrop": rec.config.cap_drop,
            "Memory": rec.config.resources.memory.unwrap_or(0),
            "NanoCpus": rec.config.resources.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
            "PidsLimit": rec.config.resources.pids_limit.unwrap_or(0),
            "UsernsMode": rec.config.userns.as_podman(),
            "IDMappings": rec.config.id_mappings.as_ref().map(|m| json!({
                "UidMap": m.uid_texts(),
                "GidMap": m.gid_texts(),
            })),
            "GroupAdd": if rec.config.keep_groups {
                vec!["keep-groups".to_string()]
            } else {
                rec.config.group_add.clone()
            },
            "Binds": binds(rec),
            "LogConfig": {"Type": match rec.config.log_driver {
                crate::state::container::LogDriver::K8sFile => "k8s-file",
                crate::state::container::LogDriver::None => "none",
                crate::state::container::LogDriver::Passthrough => "passthrough",
            }},
        },
    });
    let host = &mut doc["HostConfig"];
    host["NetworkMode"] = json!(rec.config.network.display());
    host["Tmpfs"] = json!(tmpfs_doc(rec));
    host["VolumesFrom"] = json!(rec.config.volumes_from);
    let ns = &rec.config.namespaces;
    host["IpcMode"] = json!(ns.ipc.display());
    host["UTSMode"] = json!(ns.uts.display());
    host["PidMode"] = json!(ns.pid.display());
    if let Some(other) = &ns.user {
        host["UsernsMode"] = json!(format!("container:{other}"));
    }
    host["CgroupnsMode"] = json!(ns.cgroup.as_ref().map_or("private".into(), |m| m.display()));
    host["ExtraHosts"] = json!(rec
        .config
        .add_hosts
        .iter()
        .map(|h| format!("{}:{}", h.names.join(";"), h.ip))
        .collect::<Vec<_>>());
    host["Dns"] = json!(rec.config.dns.servers);
    host["DnsSearch"] = json!(rec.config.dns.search);
    host["DnsOptions"] = json!(rec.config.dns.options);
    doc["NetworkSettings"] = network_settings(rec);
    doc["Pod"] = json!(rec.config.pod.clone().unwrap_or_default());
    doc["IsInfra"] = json!(rec.config.infra);
    doc
}

/// One network's addresses as inspect shows them (podman's keys).
fn endpoint(status: &crate::state::container::NetworkStatus) -> Value {
    let v4 = status.addresses.iter().find(|(a, _)| a.is_ipv4());
    let v6 = status.addresses.iter().find(|(a, _)| a.is_ipv6());
    json!({
        "EndpointID": "",
        "Gateway": status.gateways.iter().find(|g| g.is_ipv4()).map(|g| g.to_string()).unwrap_or_default(),
        "IPAddress": v4.map(|(a, _)| a.to_string()).unwrap_or_default(),
        "IPPrefixLen": v4.map_or(0, |(_, p)| *p),
        "IPv6Gateway": status.gateways.iter().find(|g| g.is_ipv6()).map(|g| g.to_string()).unwrap_or_default(),
        "GlobalIPv6Address": v6.map(|(a, _)| a.to_string()).unwrap_or_default(),
        "GlobalIPv6PrefixLen": v6.map_or(0, |(_, p)| *p),
        "MacAddress": status.mac,
    })
}

/// `NetworkSettings`: the published ports and, on bridge networks, the
/// container's addresses while it runs.
fn network_settings(rec: &ContainerRecord) -> Value {
    let mut ports = serde_json::Map::new();
    for m in &rec.config.ports {
        for (c, h) in m.pairs() {
            let key = format!("{c}/{}", m.protocol.as_str());
            let entry = ports.entry(key).or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.push(json!({"HostIp": m.host_ip, "HostPort": h.to_string()}));
            }
        }
    }
    let live = rec.state.status.is_live();
    let mut doc = json!({
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports,
        "SandboxKey": "",
    });
    if let crate::state::container::NetworkMode::Bridge(attached) = &rec.config.network {
        let mut networks = serde_json::Map::new();
        for a in attached {
            let status = rec.state.networks.get(&a.network).filter(|_| live);
            let mut e = status
                .map(endpoint)
                .unwrap_or_else(|| endpoint(&Default::default()));
            e["NetworkID"] = json!(a.network);
            e["DriverOpts"] = Value::Null;
            e["IPAMConfig"] = Value::Null;
            e["Links"] = Value::Null;
            let mut aliases = vec![rec.short_id().to_string()];
            aliases.extend(a.aliases.iter().cloned());
            e["Aliases"] = json!(aliases);
            networks.insert(a.network.clone(), e);
        }
        if let Some(first) = attached
            .first()
            .and_then(|a| rec.state.networks.get(&a.network))
            .filter(|_| live)
        {
            if let (Value::Object(d), Value::Object(e)) = (&mut doc, endpoint(first)) {
                d.extend(e);
            }
        }
        doc["Networks"] = Value::Object(networks);
    }
    doc
}
