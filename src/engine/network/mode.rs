//! `--network` values (and containers.conf's `netns`) as typed modes.

use std::net::IpAddr;

use crate::state::container::{NetworkAttachment, NetworkMode};
use crate::state::network::DEFAULT_NETWORK;

/// What `--ip`, `--mac-address` and `--network-alias` ask for, outside
/// any `--network` value.
#[derive(Debug, Clone, Default)]
pub struct AttachmentFlags {
    pub ips: Vec<IpAddr>,
    pub mac: Option<String>,
    pub aliases: Vec<String>,
}

impl AttachmentFlags {
    fn is_empty(&self) -> bool {
        self.ips.is_empty() && self.mac.is_none() && self.aliases.is_empty()
    }
}

/// One network name with its `:key=value,...` options.
fn attachment(name: &str, opts: Option<&str>) -> Result<NetworkAttachment, String> {
    let network = if name == "bridge" {
        DEFAULT_NETWORK.to_string()
    } else {
        crate::state::network::validate_name(name)?;
        name.to_string()
    };
    let mut a = NetworkAttachment {
        network,
        ..NetworkAttachment::default()
    };
    for opt in opts.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
        let (k, v) = opt
            .split_once('=')
            .ok_or_else(|| format!("invalid network option {opt:?}: use KEY=VALUE"))?;
        match k {
            "ip" | "ip6" => a.ips.push(
                v.parse()
                    .map_err(|_| format!("invalid {k}={v}: not an IP address"))?,
            ),
            "mac" => a.mac = Some(v.to_string()),
            "alias" => a.aliases.push(v.to_string()),
            "interface_name" => {
                if !crate::engine::network::valid_ifname(v) {
                    return Err(format!(
                        "invalid interface_name {v:?}: at most 15 letters, digits, - or _"
                    ));
                }
                a.interface = Some(v.to_string());
            }
            other => {
                return Err(format!(
                    "unknown network option {other}: use ip, ip6, mac, alias or interface_name"
                ))
            }
        }
    }
    Ok(a)
}

/// The mode of a container's `--network` values; none given is the
/// engine's default, unless addresses or aliases were asked for, which
/// need the default bridge network.
pub fn parse(values: &[String], flags: &AttachmentFlags) -> Result<NetworkMode, String> {
    let mode = match values {
        [] if flags.is_empty() => return Ok(NetworkMode::Default),
        [] => NetworkMode::Bridge(vec![attachment("bridge", None)?]),
        [one] => single(one)?,
        many => {
            let mut attached = Vec::new();
            for v in many {
                match single(v)? {
                    NetworkMode::Bridge(mut a) => attached.append(&mut a),
                    _ => {
                        return Err(format!(
                            "--network {v} cannot be combined with other networks: only bridge networks can"
                        ))
                    }
                }
            }
            let mut seen = std::collections::BTreeSet::new();
            if let Some(dup) = attached.iter().find(|a| !seen.insert(a.network.clone())) {
                return Err(format!("network {} is given twice", dup.network));
            }
            if attached.len() > 16 {
                return Err("a container can be on at most 16 networks".into());
            }
            NetworkMode::Bridge(attached)
        }
    };
    if flags.is_empty() {
        return Ok(mode);
    }
    match mode {
        NetworkMode::Bridge(mut a) if a.len() == 1 => {
            a[0].ips.extend(flags.ips.iter().copied());
            if flags.mac.is_some() {
                a[0].mac.clone_from(&flags.mac);
            }
            a[0].aliases.extend(flags.aliases.iter().cloned());
            Ok(NetworkMode::Bridge(a))
        }
        NetworkMode::Bridge(_) => Err(
            "--ip, --mac-address and --network-alias can only be set for a single network: give them per network as --network NAME:ip=...,mac=...,alias=..."
                .into(),
        ),
        _ => Err(
            "networks and static ip/mac address can only be used with bridge mode networking"
                .into(),
        ),
    }
}

/// One `--network` value.
pub fn single(arg: &str) -> Result<NetworkMode, String> {
    Ok(match arg.split_once(':') {
        None if arg == "none" => NetworkMode::None,
        None if arg == "host" => NetworkMode::Host,
        None if arg == "private" => NetworkMode::Default,
        Some(("container", name)) if !name.is_empty() => NetworkMode::Container(name.into()),
        Some(("ns", path)) if path.starts_with('/') => NetworkMode::Ns(path.into()),
        Some(("ns", path)) => {
            return Err(format!(
                "invalid --network ns:{path}: the path must be absolute"
            ))
        }
        None if arg == "pasta" => NetworkMode::Pasta(Vec::new()),
        Some(("pasta", opts)) => NetworkMode::Pasta(
            opts.split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        None if arg == "slirp4netns" => {
            NetworkMode::Slirp4netns(crate::engine::container::slirp::parse_options("")?)
        }
        Some(("slirp4netns", opts)) => NetworkMode::Slirp4netns(
            crate::engine::container::slirp::parse_options(opts)
                .map_err(|e| format!("invalid --network {arg}: {e}"))?,
        ),
        Some((name, opts)) => NetworkMode::Bridge(vec![attachment(name, Some(opts))?]),
        None => NetworkMode::Bridge(vec![attachment(arg, None)?]),
    })
}

/// containers.conf's `netns` (or skiff's built-in default): what a
/// container gets when no `--network` is given.
pub fn default_mode(conf: Option<&str>, rootless: bool) -> Result<NetworkMode, String> {
    let builtin = if rootless { "pasta" } else { "bridge" };
    let value = match conf {
        None | Some("") | Some("private") => builtin,
        Some(v) => v,
    };
    match single(value)? {
        NetworkMode::Default => single(builtin),
        NetworkMode::Container(_) => Err("containers.conf's netns cannot name a container".into()),
        m => Ok(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn values_become_modes() {
        let none = AttachmentFlags::default();
        assert_eq!(parse(&[], &none), Ok(NetworkMode::Default));
        assert_eq!(parse(&s(&["host"]), &none), Ok(NetworkMode::Host));
        let NetworkMode::Bridge(a) = parse(&s(&["bridge"]), &none).expect("bridge") else {
            panic!("not a bridge")
        };
        assert_eq!(a[0].network, DEFAULT_NETWORK);
        let NetworkMode::Bridge(a) = parse(
            &s(&["n1:ip=10.89.0.9,alias=db,mac=92:d0:c6:0a:29:33", "n2"]),
            &none,
        )
        .expect("two") else {
            panic!("not a bridge")
        };
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].ips, ["10.89.0.9".parse::<IpAddr>().expect("ip")]);
        assert_eq!(a[0].aliases, ["db"]);
        assert_eq!(a[1].network, "n2");
        assert!(parse(&s(&["n1", "host"]), &none).is_err());
        assert!(parse(&s(&["n1", "n1"]), &none).is_err());
        assert!(parse(&s(&["n1:bogus=1"]), &none).is_err());
    }

    #[test]
    fn address_flags_need_one_bridge_network() {
        let flags = AttachmentFlags {
            ips: vec!["10.88.0.9".parse().expect("ip")],
            ..AttachmentFlags::default()
        };
        let NetworkMode::Bridge(a) = parse(&[], &flags).expect("default bridge") else {
            panic!("not a bridge")
        };
        assert_eq!(a[0].network, DEFAULT_NETWORK);
        assert_eq!(a[0].ips.len(), 1);
        assert!(parse(&s(&["n1", "n2"]), &flags).is_err());
        assert!(parse(&s(&["host"]), &flags).is_err());
    }

    #[test]
    fn defaults_follow_the_privilege_and_the_configuration() {
        assert!(matches!(
            default_mode(None, false),
            Ok(NetworkMode::Bridge(_))
        ));
        assert_eq!(default_mode(None, true), Ok(NetworkMode::Pasta(Vec::new())));
        assert_eq!(default_mode(Some("none"), true), Ok(NetworkMode::None));
        assert!(matches!(
            default_mode(Some("private"), false),
            Ok(NetworkMode::Bridge(_))
        ));
    }
}
