//! Parsing of container flag values: signals, sizes, ulimits, `--env`,
//! `--restart`, `--security-opt`, `--userns`, `-v`.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::state::container::{MountSpec, RestartPolicy, SeccompChoice, Ulimit, UserNsMode};

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

/// mount(8) options `-v` passes on as they are.
const BIND_OPTIONS: &[&str] = &[
    "ro", "rw", "dev", "nodev", "exec", "noexec", "suid", "nosuid", "bind", "rbind",
];
const PROPAGATIONS: &[&str] = &[
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "unbindable",
    "runbindable",
];

/// The options of a volume or bind mount, checked, with the ones that are
/// not mount(8) options taken out.
#[derive(Debug, Default)]
struct MountFlags {
    options: Vec<String>,
    chown: bool,
    no_copy: bool,
}

impl MountFlags {
    /// Take one `-v` style option; `what` names the flag for errors.
    fn take(&mut self, o: &str, what: &str) -> anyhow::Result<()> {
        let has =
            |names: &[&str], opts: &[String]| opts.iter().any(|x| names.contains(&x.as_str()));
        match o {
            "ro" | "rw" => {
                if has(&["ro", "rw"], &self.options) {
                    anyhow::bail!("invalid {what}: give at most one of ro and rw");
                }
            }
            // Relabeling asks SELinux for a label; without SELinux it has
            // nothing to do, as in podman.
            "z" | "Z" => {
                if crate::sys::selinux_enabled() {
                    anyhow::bail!(
                        "{what}: relabeling (:{o}) is not supported yet on a host with SELinux"
                    );
                }
                return Ok(());
            }
            "U" => {
                self.chown = true;
                return Ok(());
            }
            "nocopy" => {
                self.no_copy = true;
                return Ok(());
            }
            "copy" => {
                self.no_copy = false;
                return Ok(());
            }
            _ if PROPAGATIONS.contains(&o) => {
                if has(PROPAGATIONS, &self.options) {
                    anyhow::bail!("invalid {what}: give at most one propagation option");
                }
            }
            _ if BIND_OPTIONS.contains(&o) => {}
            "O" | "idmap" => anyhow::bail!(
                "{what}: the {o} option (overlay or id-mapped mounts) is not supported"
            ),
            _ => anyhow::bail!(
                "unsupported option {o:?} in {what}: skiff supports ro, rw, z, Z, U, [no]copy, [no]dev, [no]exec, [no]suid, [r]bind and propagation ([r]shared, [r]slave, [r]private, [r]unbindable)"
            ),
        }
        self.options.push(o.to_string());
        Ok(())
    }

    fn into_mount(self, source: &str, destination: &str, what: &str) -> anyhow::Result<MountSpec> {
        if !destination.starts_with('/') {
            anyhow::bail!("invalid {what}: the container path {destination:?} must be absolute");
        }
        if source.is_empty() || !source.starts_with(['/', '.']) {
            if !source.is_empty() && !crate::state::volume::valid_name(source) {
                anyhow::bail!(
                    "invalid {what}: {source:?} is neither a host path (absolute, or starting with ./) nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)"
                );
            }
            return Ok(MountSpec::Volume {
                name: source.to_string(),
                destination: destination.to_string(),
                options: self.options,
                chown: self.chown,
                no_copy: self.no_copy,
            });
        }
        if self.no_copy {
            anyhow::bail!("invalid {what}: nocopy applies to volumes, not to host paths");
        }
        let source =
            std::path::absolute(source).map_err(|e| anyhow::anyhow!("{what}: {source}: {e}"))?;
        Ok(MountSpec::Bind {
            source,
            destination: destination.to_string(),
            options: self.options,
            chown: self.chown,
        })
    }
}

/// `-v [SOURCE:]DESTINATION[:OPTIONS]`: a host path (absolute or `./...`)
/// is bound, a name is a volume (created if missing), none is an
/// anonymous volume (a volume with an empty name, made at create).
pub fn volume(spec: &str) -> anyhow::Result<MountSpec> {
    let what = format!("-v {spec}");
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, destination, opts) = match parts[..] {
        [d] => ("", d, ""),
        [s, d] if d.starts_with('/') => (s, d, ""),
        // `/path:ro`: an anonymous volume with options.
        [d, o] if d.starts_with('/') => ("", d, o),
        [s, d] => (s, d, ""),
        [s, d, o] => (s, d, o),
        _ => anyhow::bail!("invalid -v {spec:?}: give [SOURCE:]DESTINATION[:OPTIONS]"),
    };
    let mut flags = MountFlags::default();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        flags.take(o, &what)?;
    }
    flags.into_mount(source, destination, &what)
}

/// `--tmpfs DESTINATION[:OPTIONS]`.
pub fn tmpfs(spec: &str) -> anyhow::Result<MountSpec> {
    let (destination, opts) = spec.split_once(':').unwrap_or((spec, ""));
    if !destination.starts_with('/') {
        anyhow::bail!("invalid --tmpfs {spec:?}: the container path must be absolute");
    }
    let options = opts
        .split(',')
        .filter(|o| !o.is_empty())
        .map(|o| tmpfs_option(o, &format!("--tmpfs {spec}")))
        .collect::<anyhow::Result<_>>()?;
    Ok(MountSpec::Tmpfs {
        destination: destination.to_string(),
        options,
    })
}

/// One tmpfs option, checked.
fn tmpfs_option(o: &str, what: &str) -> anyhow::Result<String> {
    const FLAGS: &[&str] = &[
        "ro",
        "rw",
        "dev",
        "nodev",
        "exec",
        "noexec",
        "suid",
        "nosuid",
        "tmpcopyup",
        "notmpcopyup",
        "noatime",
        "atime",
        "relatime",
        "strictatime",
        "sync",
        "async",
    ];
    let ok = match o.split_once('=') {
        None => FLAGS.contains(&o) || PROPAGATIONS.contains(&o),
        Some(("size", v)) => size(v).is_ok() || v.ends_with('%'),
        Some(("mode", v)) => u32::from_str_radix(v, 8).is_ok(),
        Some(("uid" | "gid" | "nr_inodes", v)) => v.parse::<u64>().is_ok(),
        Some(_) => false,
    };
    if !ok {
        anyhow::bail!(
            "invalid option {o:?} in {what}: tmpfs takes size=, mode=, uid=, gid=, nr_inodes=, ro/rw, [no]exec, [no]suid, [no]dev, [no]tmpcopyup"
        );
    }
    Ok(o.to_string())
}

/// `--mount type=TYPE,KEY=VALUE,...`. Image mounts name the image as
/// given; create resolves it.
pub fn mount(spec: &str) -> anyhow::Result<MountSpec> {
    let what = format!("--mount {spec}");
    let mut typ = None;
    let mut source = None;
    let mut destination = None;
    let mut rest: Vec<(&str, Option<&str>)> = Vec::new();
    for field in spec.split(',').filter(|f| !f.is_empty()) {
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (field, None),
        };
        let need = |v: Option<&str>| {
            v.filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("invalid {what}: {k} needs a value"))
        };
        match k {
            "type" => typ = Some(need(v)?),
            "src" | "source" => source = Some(need(v)?),
            "dst" | "destination" | "target" => destination = Some(need(v)?),
            _ => rest.push((k, v)),
        }
    }
    let typ = typ.ok_or_else(|| {
        anyhow::anyhow!("invalid {what}: give type=bind|volume|tmpfs|image|devpts")
    })?;
    let destination = destination
        .ok_or_else(|| anyhow::anyhow!("invalid {what}: give the container path with target="))?;
    if !destination.starts_with('/') {
        anyhow::bail!("invalid {what}: the container path {destination:?} must be absolute");
    }
    let boolean = |k: &str, v: Option<&str>| -> anyhow::Result<bool> {
        match v {
            None | Some("true") | Some("1") => Ok(true),
            Some("false") | Some("0") => Ok(false),
            Some(x) => anyhow::bail!("invalid {what}: {k}={x} is not true or false"),
        }
    };
    let unknown =
        |k: &str| anyhow::anyhow!("invalid {what}: the option {k:?} does not apply to type={typ}");
    match typ.as_str() {
        "bind" | "volume" => {
            let mut flags = MountFlags::default();
            for (k, v) in rest {
                match (k, v) {
                    ("ro" | "readonly", v) => {
                        if boolean(k, v)? {
                            flags.take("ro", &what)?;
                        }
                    }
                    ("rw", v) => {
                        if !boolean(k, v)? {
                            flags.take("ro", &what)?;
                        }
                    }
                    ("bind-propagation", Some(p)) if typ == "bind" => flags.take(p, &what)?,
                    ("bind-nonrecursive", v) if typ == "bind" => {
                        if boolean(k, v)? {
                            flags.take("bind", &what)?;
                        }
                    }
                    ("relabel", Some("shared")) => flags.take("z", &what)?,
                    ("relabel", Some("private")) => flags.take("Z", &what)?,
                    ("U" | "chown", v) => flags.chown = boolean(k, v)?,
                    ("nocopy" | "volume-nocopy", v) if typ == "volume" => {
                        flags.no_copy = boolean(k, v)?
                    }
                    ("nosuid" | "suid" | "nodev" | "dev" | "noexec" | "exec", None) => {
                        flags.take(k, &what)?
                    }
                    _ => return Err(unknown(k)),
                }
            }
            let source = match (typ.as_str(), source) {
                ("bind", Some(s)) => {
                    if !s.starts_with('/') {
                        anyhow::bail!("invalid {what}: a bind source must be an absolute host path");
                    }
                    s
                }
                ("bind", None) => anyhow::bail!("invalid {what}: a bind mount needs source="),
                (_, Some(s)) if s.starts_with(['/', '.']) => {
                    anyhow::bail!("invalid {what}: a volume source is a volume name, not a path")
                }
                (_, s) => s.unwrap_or_default(),
            };
            flags.into_mount(&source, &destination, &what)
        }
        "tmpfs" => {
            let mut options = Vec::new();
            for (k, v) in rest {
                let o = match (k, v) {
                    ("tmpfs-size", Some(v)) => format!("size={v}"),
                    ("tmpfs-mode", Some(v)) => format!("mode={v}"),
                    ("ro" | "readonly", v) => (if boolean(k, v)? { "ro" } else { "rw" }).to_string(),
                    ("rw", v) => (if boolean(k, v)? { "rw" } else { "ro" }).to_string(),
                    ("tmpcopyup" | "notmpcopyup", None) => k.to_string(),
                    (k, None) => k.to_string(),
                    (k, Some(v)) => format!("{k}={v}"),
                };
                options.push(tmpfs_option(&o, &what)?);
            }
            if source.is_some() {
                return Err(unknown("source"));
            }
            Ok(MountSpec::Tmpfs {
                destination,
                options,
            })
        }
        "image" => {
            let image = source.ok_or_else(|| anyhow::anyhow!("invalid {what}: an image mount needs source=IMAGE"))?;
            let mut options = Vec::new();
            for (k, v) in rest {
                match k {
                    "rw" | "readwrite" => {
                        if boolean(k, v)? {
                            options.push("rw".to_string());
                        }
                    }
                    "ro" | "readonly" => {
                        if !boolean(k, v)? {
                            options.push("rw".to_string());
                        }
                    }
                    _ => return Err(unknown(k)),
                }
            }
            Ok(MountSpec::Image {
                image,
                destination,
                options,
            })
        }
        "devpts" => {
            let mut options = Vec::new();
            for (k, v) in rest {
                match (k, v) {
                    ("uid" | "gid" | "max", Some(n)) if n.parse::<u32>().is_ok() => {}
                    ("mode" | "ptmxmode", Some(m)) if u32::from_str_radix(m, 8).is_ok() => {}
                    _ => return Err(unknown(k)),
                }
                options.push(format!("{k}={}", v.unwrap_or_default()));
            }
            if source.is_some() {
                return Err(unknown("source"));
            }
            Ok(MountSpec::Devpts {
                destination,
                options,
            })
        }
        other => anyhow::bail!(
            "invalid {what}: unsupported mount type {other:?}: skiff supports bind, volume, tmpfs, image and devpts"
        ),
    }
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
    fn volume_flags() {
        let MountSpec::Bind {
            source,
            destination,
            options,
            chown,
        } = volume("/srv/data:/data:ro,Z,rslave,U").expect("valid")
        else {
            panic!("a bind mount")
        };
        assert_eq!(source, std::path::Path::new("/srv/data"));
        assert_eq!(destination, "/data");
        assert!(chown);
        if crate::sys::selinux_enabled() {
            return;
        }
        assert_eq!(options, ["ro", "rslave"]);
        assert!(volume("/a:/b:ro,rw").is_err());
        assert!(volume("/a:/b:shared,slave").is_err());
        assert!(volume("/a:/b:O").is_err());
        assert!(volume("/a:/b:bogus").is_err());
        assert!(volume("/a:b").is_err());
        assert!(volume("/a:/b:nocopy").is_err());
        assert!(volume("bad/name:/b").is_err());
        let MountSpec::Bind { source, .. } = volume("./d:/b").expect("relative") else {
            panic!("a bind mount")
        };
        assert!(source.is_absolute());
        assert_eq!(
            volume("data:/b:ro,nocopy").expect("named"),
            MountSpec::Volume {
                name: "data".into(),
                destination: "/b".into(),
                options: vec!["ro".into()],
                chown: false,
                no_copy: true,
            }
        );
        for anon in ["/b", "/b:ro"] {
            let m = volume(anon).expect("anonymous");
            assert_eq!(m.volume(), Some(""));
            assert_eq!(m.destination(), "/b");
        }
    }

    #[test]
    fn mount_flags() {
        let m = mount("type=bind,src=/srv,dst=/data,ro=true,bind-propagation=rslave,U=true")
            .expect("bind");
        assert!(
            matches!(&m, MountSpec::Bind { chown: true, options, .. } if options == &["ro", "rslave"])
        );
        let m = mount("type=volume,source=v1,target=/v,readonly").expect("volume");
        assert!(
            matches!(&m, MountSpec::Volume { name, options, .. } if name == "v1" && options == &["ro"])
        );
        let m = mount("type=volume,target=/v").expect("anonymous");
        assert_eq!(m.volume(), Some(""));
        let m = mount("type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1777").expect("tmpfs");
        assert_eq!(
            m,
            MountSpec::Tmpfs {
                destination: "/t".into(),
                options: vec!["size=1m".into(), "mode=1777".into()]
            }
        );
        let m = mount("type=image,source=busybox,target=/img,rw=true").expect("image");
        assert!(
            matches!(&m, MountSpec::Image { image, options, .. } if image == "busybox" && options == &["rw"])
        );
        assert!(mount("type=devpts,target=/dev/pts2,mode=620").is_ok());
        assert!(mount("type=bind,src=/srv").is_err(), "no target");
        assert!(mount("type=bind,target=/x").is_err(), "no source");
        assert!(mount("type=bind,src=rel,target=/x").is_err());
        assert!(mount("type=volume,src=/abs,target=/x").is_err());
        assert!(mount("type=tmpfs,target=/t,tmpfs-size=lots").is_err());
        assert!(mount("type=glob,target=/t").is_err());
        assert!(mount("type=bind,src=/a,target=/b,bogus=1").is_err());
        assert!(mount("target=/b").is_err());
        assert!(tmpfs("/t:size=64k,mode=700,noexec").is_ok());
        assert!(tmpfs("/t:size=x").is_err());
        assert!(tmpfs("t").is_err());
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
