//! Parsing of container flag values: signals, sizes, ulimits, `--env`,
//! `--restart`, `--security-opt`, `--userns`, `-v`.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::state::container::{RestartPolicy, SeccompChoice, Ulimit, UserNsMode};

pub use crate::engine::volume::text::{mount, tmpfs, volume};

/// `SIGTERM`, `TERM`, `term` or `15`.
pub fn signal(s: &str) -> anyhow::Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
        anyhow::bail!("invalid signal: {s}");
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    nix::sys::signal::Signal::from_str(&name)
        .map(|sig| sig as i32)
        .map_err(|_| anyhow::anyhow!("invalid signal: {s}"))
}

/// `512`, `100k`, `64m`, `1g` (binary units, as podman).
pub fn size(s: &str) -> anyhow::Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let v: f64 = num.parse().map_err(|_| {
        anyhow::anyhow!("invalid size {s:?}: use a number with an optional unit (k, m, g)")
    })?;
    if v < 0.0 {
        anyhow::bail!("invalid size {s:?}: must not be negative");
    }
    Ok((v * mult as f64) as i64)
}

/// Seconds to wait for a stop (`-t`): a negative number waits for as long
/// as it takes (podman's `-t -1`), which is counted as a century.
pub fn stop_time(s: &str) -> Result<u64, String> {
    const FOREVER: u64 = 100 * 365 * 24 * 3600;
    match s.parse::<i64>() {
        Ok(n) if n < 0 => Ok(FOREVER),
        Ok(n) => Ok(n as u64),
        Err(_) => Err(format!("invalid number of seconds {s:?}")),
    }
}

/// `nofile=1024:2048`, `nproc=512`, or `host`-less names as podman.
pub fn ulimit(s: &str) -> anyhow::Result<Ulimit> {
    let (name, vals) = s
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("invalid ulimit {s:?}: expected NAME=SOFT[:HARD]"))?;
    let num = |v: &str| -> anyhow::Result<u64> {
        if v == "-1" || v == "unlimited" {
            return Ok(u64::MAX);
        }
        v.parse()
            .map_err(|_| anyhow::anyhow!("invalid ulimit {s:?}: {v:?} is not a number"))
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(vals)?, num(vals)?),
    };
    if soft > hard {
        anyhow::bail!("invalid ulimit {s:?}: soft limit above hard limit");
    }
    const KNOWN: &[&str] = &[
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
        "as",
    ];
    if !KNOWN.contains(&name) {
        anyhow::bail!("invalid ulimit {s:?}: unknown limit {name:?}");
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// `--restart no|on-failure[:N]|always|unless-stopped`.
pub fn restart(s: &str) -> anyhow::Result<RestartPolicy> {
    match s.split_once(':') {
        None => match s {
            "no" | "" => Ok(RestartPolicy::No),
            "on-failure" => Ok(RestartPolicy::OnFailure { max_retries: 0 }),
            "always" => Ok(RestartPolicy::Always),
            "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
            _ => anyhow::bail!(
                "invalid restart policy {s:?}: use no, on-failure[:N], always or unless-stopped"
            ),
        },
        Some(("on-failure", n)) => Ok(RestartPolicy::OnFailure {
            max_retries: n.parse().map_err(|_| {
                anyhow::anyhow!("invalid restart policy {s:?}: {n:?} is not a count")
            })?,
        }),
        Some(_) => {
            anyhow::bail!("invalid restart policy {s:?}: only on-failure takes a retry count")
        }
    }
}

/// `--env NAME=VALUE`, or `--env NAME` taking the value from skiff's own
/// environment (dropped when unset, as podman does).
pub fn env_entry(s: &str) -> Option<String> {
    if s.contains('=') {
        Some(s.to_string())
    } else {
        std::env::var(s).ok().map(|v| format!("{s}={v}"))
    }
}

/// The lines of an `--env-file`: `NAME=VALUE`, `NAME`, comments and blanks.
pub fn env_file(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading env file {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(env_entry)
        .collect())
}

/// `KEY=VALUE` (or `KEY`) list into a map.
pub fn key_values(items: &[String], what: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for i in items {
        let (k, v) = i.split_once('=').unwrap_or((i.as_str(), ""));
        if k.is_empty() {
            anyhow::bail!("invalid {what} {i:?}: the key is empty");
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// What `--security-opt` values set.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SecurityOpts {
    pub no_new_privileges: bool,
    pub seccomp: SeccompChoice,
    pub mask: Vec<String>,
    pub unmask: Vec<String>,
}

pub fn security_opts(items: &[String]) -> anyhow::Result<SecurityOpts> {
    let mut out = SecurityOpts::default();
    for i in items {
        let (k, v) = i.split_once(['=', ':']).unwrap_or((i.as_str(), ""));
        match (k, v) {
            ("no-new-privileges", "" | "true") => out.no_new_privileges = true,
            ("no-new-privileges", "false") => out.no_new_privileges = false,
            ("seccomp", "unconfined") => out.seccomp = SeccompChoice::Unconfined,
            ("seccomp", path) if !path.is_empty() => {
                let p = std::path::PathBuf::from(path);
                if !p.exists() {
                    anyhow::bail!("seccomp profile {path} does not exist");
                }
                out.seccomp = SeccompChoice::Profile(p)
            }
            ("mask", paths) if !paths.is_empty() => {
                out.mask.extend(paths.split(':').map(str::to_string))
            }
            ("unmask", paths) if !paths.is_empty() => {
                out.unmask.extend(paths.split(':').map(str::to_string))
            }
            _ => anyhow::bail!(
                "unsupported --security-opt {i:?}: skiff supports no-new-privileges, seccomp=unconfined|PATH, mask=PATHS, unmask=PATHS"
            ),
        }
    }
    Ok(out)
}

/// `--ipc`, `--uts`, `--pid` or `--cgroupns` (`flag`) MODE: private, host,
/// container:NAME or ns:PATH (and `shareable`, private, for `--ipc`).
pub fn namespace_mode(
    flag: &str,
    mode: &str,
) -> anyhow::Result<crate::state::container::NamespaceMode> {
    use crate::state::container::NamespaceMode;
    Ok(match mode.split_once(':') {
        None if mode.is_empty() || mode == "private" => NamespaceMode::Private,
        None if mode == "shareable" && flag == "ipc" => NamespaceMode::Private,
        None if mode == "host" => NamespaceMode::Host,
        Some(("container", name)) if !name.is_empty() => NamespaceMode::Container(name.into()),
        Some(("ns", path)) if path.starts_with('/') => NamespaceMode::Ns(path.into()),
        _ => {
            anyhow::bail!("invalid --{flag} {mode:?}: use private, host, container:NAME or ns:PATH")
        }
    })
}

/// `--userns MODE[:OPTIONS]`.
pub fn userns(mode: &str) -> anyhow::Result<UserNsMode> {
    let (name, opts) = mode.split_once(':').unwrap_or((mode, ""));
    let options = || {
        opts.split(',')
            .filter(|o| !o.is_empty())
            .map(|o| {
                let (k, v) = o.split_once('=').unwrap_or((o, ""));
                let n = v.parse::<u32>().map_err(|_| {
                    anyhow::anyhow!("invalid --userns={mode}: {k} needs a number, not {v:?}")
                })?;
                Ok((k, n))
            })
            .collect::<anyhow::Result<Vec<(&str, u32)>>>()
    };
    let unknown = |k: &str| anyhow::anyhow!("invalid --userns={mode}: unknown option {k:?}");
    Ok(match name {
        "" | "host" if opts.is_empty() => UserNsMode::Host,
        "keep-id" => {
            let (mut uid, mut gid) = (None, None);
            for (k, n) in options()? {
                match k {
                    "uid" => uid = Some(n),
                    "gid" => gid = Some(n),
                    _ => return Err(unknown(k)),
                }
            }
            UserNsMode::KeepId { uid, gid }
        }
        "nomap" if opts.is_empty() => UserNsMode::NoMap,
        "auto" => {
            let mut size = None;
            for (k, n) in options()? {
                match k {
                    "size" if n > 0 => size = Some(n),
                    "size" => anyhow::bail!("invalid --userns={mode}: the size must be at least 1"),
                    _ => return Err(unknown(k)),
                }
            }
            UserNsMode::Auto { size }
        }
        _ => anyhow::bail!(
            "unsupported --userns={mode}: skiff supports host, keep-id[:uid=N,gid=N], nomap and auto[:size=N] (or --uidmap/--gidmap)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userns_modes() {
        assert_eq!(userns("host").expect("valid"), UserNsMode::Host);
        assert_eq!(
            userns("keep-id:uid=200,gid=210").expect("valid"),
            UserNsMode::KeepId {
                uid: Some(200),
                gid: Some(210)
            }
        );
        assert_eq!(
            userns("auto:size=2048").expect("valid"),
            UserNsMode::Auto { size: Some(2048) }
        );
        assert_eq!(userns("nomap").expect("valid"), UserNsMode::NoMap);
        assert!(userns("keep-id:uid=x").is_err());
        assert!(userns("keep-id:size=1").is_err());
        assert!(userns("auto:size=0").is_err());
        assert!(userns("ns:/proc/1/ns/user").is_err());
    }

    #[test]
    fn stop_times() {
        assert_eq!(stop_time("10"), Ok(10));
        assert!(stop_time("-1").expect("forever") > 1 << 31);
        assert!(stop_time("soon").is_err());
    }

    #[test]
    fn signals() {
        assert_eq!(signal("TERM").expect("valid"), libc::SIGTERM);
        assert_eq!(signal("sigkill").expect("valid"), libc::SIGKILL);
        assert_eq!(signal("9").expect("valid"), 9);
        assert!(signal("NOPE").is_err());
        assert!(signal("0").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size("512").expect("valid"), 512);
        assert_eq!(size("64m").expect("valid"), 64 << 20);
        assert_eq!(size("1.5g").expect("valid"), 3 << 29);
        assert_eq!(size("10MB").expect("valid"), 10 << 20);
        assert!(size("lots").is_err());
    }

    #[test]
    fn ulimits_and_restart() {
        let u = ulimit("nofile=1024:2048").expect("valid");
        assert_eq!((u.soft, u.hard), (1024, 2048));
        assert!(ulimit("nofile=3:2").is_err());
        assert!(ulimit("bogus=1").is_err());
        assert_eq!(
            restart("on-failure:3").expect("valid"),
            RestartPolicy::OnFailure { max_retries: 3 }
        );
        assert!(restart("sometimes").is_err());
    }

    #[test]
    fn security_options() {
        let s = security_opts(&["no-new-privileges".into(), "mask=/a:/b".into()]).expect("valid");
        assert!(s.no_new_privileges);
        assert_eq!(s.mask, ["/a", "/b"]);
        assert!(security_opts(&["label=disable".into()]).is_err());
    }
}
