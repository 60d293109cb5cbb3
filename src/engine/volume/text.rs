//! The text forms of the mounts a container asks for: `-v`, `--mount`
//! and `--tmpfs`, as the command line, containers.conf (`[containers]
//! mounts`) and unit files write them, parsed into [`MountSpec`]s.

use crate::state::container::MountSpec;

/// A mount text that does not parse; the message names the flag.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MountTextError(String);

macro_rules! bail {
    ($($t:tt)*) => {
        return Err(MountTextError(format!($($t)*)))
    };
}

macro_rules! err {
    ($($t:tt)*) => {
        MountTextError(format!($($t)*))
    };
}

/// A `subpath=`: a path inside the volume or image, without `..`; a
/// leading `/` is the volume's top.
fn subpath(p: &str, what: &str) -> Result<String, MountTextError> {
    let clean: Vec<&str> = p
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if clean.contains(&"..") {
        bail!("invalid {what}: subpath {p:?} may not contain ..");
    }
    if clean.is_empty() {
        bail!("invalid {what}: subpath {p:?} names no path inside");
    }
    Ok(clean.join("/"))
}

/// `512`, `64k`, `1.5m`, `2g`, `10MB` or `50%` (of memory, for tmpfs).
fn valid_size(v: &str) -> bool {
    let t = v.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let t = t.strip_suffix(['k', 'm', 'g', 't', '%']).unwrap_or(t);
    t.parse::<f64>().is_ok_and(|n| n >= 0.0)
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
    subpath: Option<String>,
}

impl MountFlags {
    /// Take one `-v` style option; `what` names the flag for errors.
    fn take(&mut self, o: &str, what: &str) -> Result<(), MountTextError> {
        let has =
            |names: &[&str], opts: &[String]| opts.iter().any(|x| names.contains(&x.as_str()));
        match o {
            "ro" | "rw" => {
                if has(&["ro", "rw"], &self.options) {
                    bail!("invalid {what}: give at most one of ro and rw");
                }
            }
            // Relabeling asks SELinux for a label; without SELinux it has
            // nothing to do, as in podman.
            "z" | "Z" => {
                if crate::sys::selinux_enabled() {
                    bail!(
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
                    bail!("invalid {what}: give at most one propagation option");
                }
            }
            _ if BIND_OPTIONS.contains(&o) => {}
            "O" | "idmap" => bail!(
                "{what}: the {o} option (overlay or id-mapped mounts) is not supported"
            ),
            _ => bail!(
                "unsupported option {o:?} in {what}: skiff supports ro, rw, z, Z, U, [no]copy, [no]dev, [no]exec, [no]suid, [r]bind and propagation ([r]shared, [r]slave, [r]private, [r]unbindable)"
            ),
        }
        self.options.push(o.to_string());
        Ok(())
    }

    fn into_mount(
        self,
        source: &str,
        destination: &str,
        what: &str,
    ) -> Result<MountSpec, MountTextError> {
        if !destination.starts_with('/') {
            bail!("invalid {what}: the container path {destination:?} must be absolute");
        }
        if source.is_empty() || !source.starts_with(['/', '.']) {
            if !source.is_empty() && !crate::state::volume::valid_name(source) {
                bail!(
                    "invalid {what}: {source:?} is neither a host path (absolute, or starting with ./) nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)"
                );
            }
            return Ok(MountSpec::Volume {
                name: source.to_string(),
                destination: destination.to_string(),
                options: self.options,
                chown: self.chown,
                no_copy: self.no_copy,
                subpath: self.subpath,
            });
        }
        if self.subpath.is_some() {
            bail!("invalid {what}: subpath applies to volumes and images, not to host paths");
        }
        if self.no_copy {
            bail!("invalid {what}: nocopy applies to volumes, not to host paths");
        }
        let source = std::path::absolute(source).map_err(|e| err!("{what}: {source}: {e}"))?;
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
pub fn volume(spec: &str) -> Result<MountSpec, MountTextError> {
    let what = format!("-v {spec}");
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, destination, opts) = match parts[..] {
        [d] => ("", d, ""),
        [s, d] if d.starts_with('/') => (s, d, ""),
        // `/path:ro`: an anonymous volume with options.
        [d, o] if d.starts_with('/') => ("", d, o),
        [s, d] => (s, d, ""),
        [s, d, o] => (s, d, o),
        _ => bail!("invalid -v {spec:?}: give [SOURCE:]DESTINATION[:OPTIONS]"),
    };
    let mut flags = MountFlags::default();
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        flags.take(o, &what)?;
    }
    flags.into_mount(source, destination, &what)
}

/// `--tmpfs DESTINATION[:OPTIONS]`.
pub fn tmpfs(spec: &str) -> Result<MountSpec, MountTextError> {
    let (destination, opts) = spec.split_once(':').unwrap_or((spec, ""));
    if !destination.starts_with('/') {
        bail!("invalid --tmpfs {spec:?}: the container path must be absolute");
    }
    let options = opts
        .split(',')
        .filter(|o| !o.is_empty())
        .map(|o| tmpfs_option(o, &format!("--tmpfs {spec}")))
        .collect::<Result<_, MountTextError>>()?;
    Ok(MountSpec::Tmpfs {
        destination: destination.to_string(),
        options,
    })
}

/// One tmpfs option, checked.
fn tmpfs_option(o: &str, what: &str) -> Result<String, MountTextError> {
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
        Some(("size", v)) => valid_size(v),
        Some(("mode", v)) => u32::from_str_radix(v, 8).is_ok(),
        Some(("uid" | "gid" | "nr_inodes", v)) => v.parse::<u64>().is_ok(),
        Some(_) => false,
    };
    if !ok {
        bail!(
            "invalid option {o:?} in {what}: tmpfs takes size=, mode=, uid=, gid=, nr_inodes=, ro/rw, [no]exec, [no]suid, [no]dev, [no]tmpcopyup"
        );
    }
    Ok(o.to_string())
}

/// `--mount type=TYPE,KEY=VALUE,...`. Image mounts name the image as
/// given; create resolves it.
pub fn mount(spec: &str) -> Result<MountSpec, MountTextError> {
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
                .ok_or_else(|| err!("invalid {what}: {k} needs a value"))
        };
        match k {
            "type" => typ = Some(need(v)?),
            "src" | "source" => source = Some(need(v)?),
            "dst" | "destination" | "target" => destination = Some(need(v)?),
            _ => rest.push((k, v)),
        }
    }
    let typ =
        typ.ok_or_else(|| err!("invalid {what}: give type=bind|volume|tmpfs|image|devpts"))?;
    let destination =
        destination.ok_or_else(|| err!("invalid {what}: give the container path with target="))?;
    if !destination.starts_with('/') {
        bail!("invalid {what}: the container path {destination:?} must be absolute");
    }
    let boolean = |k: &str, v: Option<&str>| -> Result<bool, MountTextError> {
        match v {
            None | Some("true") | Some("1") => Ok(true),
            Some("false") | Some("0") => Ok(false),
            Some(x) => bail!("invalid {what}: {k}={x} is not true or false"),
        }
    };
    let unknown = |k: &str| err!("invalid {what}: the option {k:?} does not apply to type={typ}");
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
                    ("z" | "Z", None) => flags.take(k, &what)?,
                    ("relabel", Some("shared")) => flags.take("z", &what)?,
                    ("relabel", Some("private")) => flags.take("Z", &what)?,
                    ("U" | "chown", v) => flags.chown = boolean(k, v)?,
                    ("nocopy" | "volume-nocopy", v) if typ == "volume" => {
                        flags.no_copy = boolean(k, v)?
                    }
                    ("subpath" | "volume-subpath", Some(p)) if typ == "volume" => {
                        flags.subpath = Some(subpath(p, &what)?)
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
                        bail!("invalid {what}: a bind source must be an absolute host path");
                    }
                    s
                }
                ("bind", None) => bail!("invalid {what}: a bind mount needs source="),
                (_, Some(s)) if s.starts_with(['/', '.']) => {
                    bail!("invalid {what}: a volume source is a volume name, not a path")
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
            let image = source.ok_or_else(|| err!("invalid {what}: an image mount needs source=IMAGE"))?;
            let mut options = Vec::new();
            let mut sub = None;
            for (k, v) in rest {
                let rw = match (k, v) {
                    ("rw" | "readwrite", v) => boolean(k, v)?,
                    ("ro" | "readonly", v) => !boolean(k, v)?,
                    ("subpath", Some(p)) => {
                        sub = Some(subpath(p, &what)?);
                        false
                    }
                    _ => return Err(unknown(k)),
                };
                if rw && !options.iter().any(|o| o == "rw") {
                    options.push("rw".to_string());
                }
            }
            Ok(MountSpec::Image {
                image,
                destination,
                options,
                subpath: sub,
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
        other => bail!(
            "invalid {what}: unsupported mount type {other:?}: skiff supports bind, volume, tmpfs, image and devpts"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                subpath: None,
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
        let m = mount("type=image,source=busybox,target=/img,ro=true").expect("image");
        assert!(matches!(&m, MountSpec::Image { image, .. } if image == "busybox"));
        let m = mount("type=image,source=busybox,target=/img,rw=true").expect("rw image");
        assert!(!m.read_only());
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
}
