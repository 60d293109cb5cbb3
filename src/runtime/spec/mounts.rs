//! The mount list: podman's standard mounts, varied for user namespaces
//! (rootless) the way podman varies them, then the caller's mounts, which
//! replace a standard mount at the same place.

use std::path::{Component, Path};

use oci_spec::runtime::Mount;

use super::defaults::{self, Access};
use super::options::{ExtraMount, MountKind, Namespace, Shm, SpecOptions, Unmask};
use super::SpecError;

/// Whether the container may mount a new sysfs: that takes the owner of its
/// network namespace. A container in a user namespace (rootless, or a new
/// one) may when it also gets a network namespace of its own, or joins one
/// that the rootless user namespace owns; not when it shares the host's.
pub(super) fn can_mount_sysfs(opts: &SpecOptions) -> bool {
    let new_userns = opts.namespaces.user != Namespace::Host;
    let net = &opts.namespaces.net;
    if *net == Namespace::Host && (opts.caller.is_rootless() || new_userns) {
        return false;
    }
    if new_userns {
        return *net == Namespace::Private;
    }
    true
}

/// Whether /sys/fs/cgroup is writable: privileged, or unmasked.
fn cgroup_access(opts: &SpecOptions) -> Access {
    let unmasked = match &opts.security.unmask {
        Unmask::None => false,
        Unmask::All => true,
        Unmask::Paths(p) => p.iter().any(|p| clean(p) == "/sys/fs/cgroup"),
    };
    if opts.security.privileged || unmasked {
        Access::ReadWrite
    } else {
        Access::ReadOnly
    }
}

/// The standard mounts for these options.
fn standard(opts: &SpecOptions) -> Vec<Mount> {
    let in_userns = opts.caller.is_rootless() || opts.namespaces.user != Namespace::Host;
    let privileged = opts.security.privileged;
    let mut out = Vec::new();

    out.push(if in_userns && opts.namespaces.pid == Namespace::Host {
        defaults::proc_bind()
    } else {
        defaults::proc_mount()
    });

    let dev_access = if opts.rootfs.readonly && !opts.rootfs.read_write_tmpfs {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    out.push(defaults::dev_mount(dev_access));

    let gid5 = opts.host.gid5_mapped
        && opts.id_mappings.as_ref().is_none_or(|m| {
            m.gids.is_empty()
                || m.gids
                    .iter()
                    .any(|r| r.container <= 5 && 5 < u64::from(r.container) + u64::from(r.size))
        });
    out.push(if gid5 {
        defaults::devpts_mount()
    } else {
        defaults::devpts_mount_unmapped_tty()
    });

    match &opts.shm {
        Shm::Tmpfs { size } => out.push(defaults::shm_tmpfs(*size)),
        Shm::Bind(source) => out.push(defaults::shm_bind(&source.to_string_lossy())),
        Shm::None => {}
    }

    if opts.host.mqueue {
        out.push(if in_userns && opts.namespaces.ipc == Namespace::Host {
            defaults::mqueue_bind()
        } else {
            defaults::mqueue_mount()
        });
    }

    let sys_access = if privileged {
        Access::ReadWrite
    } else {
        Access::ReadOnly
    };
    if can_mount_sysfs(opts) {
        out.push(defaults::sysfs_mount(sys_access));
        out.push(defaults::cgroup_mount(cgroup_access(opts)));
    } else {
        out.push(defaults::sysfs_bind(sys_access));
        out.push(defaults::cgroup_host_tree(sys_access));
    }
    out
}

/// An extra mount as the runtime gets it, with podman's default options.
fn extra(m: &ExtraMount) -> Mount {
    let has = |names: &[&str]| m.options.iter().any(|o| names.contains(&o.as_str()));
    let mut options = m.options.clone();
    let propagation = [
        "private",
        "rprivate",
        "slave",
        "rslave",
        "shared",
        "rshared",
        "unbindable",
        "runbindable",
    ];
    let (typ, source) = match &m.kind {
        MountKind::Bind { source } => {
            if !has(&["bind", "rbind"]) {
                options.push("rbind".to_string());
            }
            if !has(&propagation) {
                let recursive = !has(&["bind"]);
                options.push(if recursive { "rprivate" } else { "private" }.to_string());
            }
            ("bind".to_string(), source.to_string_lossy().into_owned())
        }
        MountKind::Tmpfs => {
            if !has(&propagation) {
                options.push("rprivate".to_string());
            }
            for (flag, opposite) in [("noexec", "exec"), ("nosuid", "suid"), ("nodev", "dev")] {
                if !has(&[flag, opposite]) {
                    options.push(flag.to_string());
                }
            }
            if !has(&["tmpcopyup", "notmpcopyup"]) {
                options.push("tmpcopyup".to_string());
            }
            // Not a runtime option: only says "no tmpcopyup".
            options.retain(|o| o != "notmpcopyup");
            ("tmpfs".to_string(), "tmpfs".to_string())
        }
        MountKind::Other { typ, source } => (typ.clone(), source.clone()),
    };
    defaults::mount(
        &m.destination,
        &typ,
        &source,
        &options.iter().map(String::as_str).collect::<Vec<_>>(),
    )
}

/// The propagation the root needs for the mounts' own, as podman sets it:
/// a shared mount needs a shared root, a slave one a slave root (runtimes
/// otherwise make the root private, recursively, after the mounts and
/// cut what they asked for).
pub fn root_propagation(opts: &SpecOptions) -> Option<String> {
    let asked = |names: &[&str]| {
        opts.mounts
            .iter()
            .any(|m| m.options.iter().any(|o| names.contains(&o.as_str())))
    };
    if asked(&["shared", "rshared"]) {
        Some("shared".into())
    } else if asked(&["slave", "rslave"]) {
        Some("rslave".into())
    } else {
        None
    }
}

/// `destination` with `.` and duplicate slashes removed; `..` is kept, so
/// that such a path is refused rather than reinterpreted.
fn clean(destination: &str) -> String {
    let mut out = String::new();
    for c in Path::new(destination).components() {
        match c {
            Component::RootDir => {}
            Component::CurDir => continue,
            Component::ParentDir => out.push_str("/.."),
            Component::Normal(n) => {
                out.push('/');
                out.push_str(&n.to_string_lossy());
            }
            Component::Prefix(_) => {}
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn depth(m: &Mount) -> usize {
    m.destination()
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count()
}

/// Every mount of the container, parents before children.
pub fn mounts(opts: &SpecOptions) -> Result<Vec<Mount>, SpecError> {
    let mut extras = Vec::new();
    for m in &opts.mounts {
        if !m.destination.starts_with('/') || clean(&m.destination).contains("/..") {
            return Err(SpecError::BadMountDestination {
                destination: m.destination.clone(),
            });
        }
        extras.push(extra(m));
    }
    // Rootless: a device node cannot be created, only bound from the host.
    if opts.caller.is_rootless() {
        for d in &opts.devices {
            let rw = if d.access.contains('w') { "rw" } else { "ro" };
            extras.push(defaults::mount(
                &d.container_path.to_string_lossy(),
                "bind",
                &d.host_path.to_string_lossy(),
                &["slave", "nosuid", "noexec", rw, "rbind"],
            ));
        }
    }
    if opts.rootfs.readonly && opts.rootfs.read_write_tmpfs {
        for dest in defaults::READ_ONLY_TMPFS {
            if !extras
                .iter()
                .any(|m| clean(&m.destination().to_string_lossy()) == dest)
            {
                extras.push(defaults::read_only_tmpfs(dest));
            }
        }
    }

    let taken: Vec<String> = extras
        .iter()
        .map(|m| clean(&m.destination().to_string_lossy()))
        .collect();
    let dev_taken = taken.iter().any(|t| t == "/dev");
    let mut out: Vec<Mount> = standard(opts)
        .into_iter()
        .filter(|m| {
            let dest = clean(&m.destination().to_string_lossy());
            let under_dev = dev_taken && dest.starts_with("/dev/");
            !(taken.contains(&dest) || under_dev)
        })
        .collect();
    out.extend(extras);
    // Stable: among equals, the order given.
    out.sort_by_key(depth);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_follows_the_propagation_mounts_ask_for() {
        use crate::runtime::spec::{Caller, Host};
        let mut opts =
            SpecOptions::new("/r".into(), vec!["sh".into()], Caller::Root, Host::probe());
        assert_eq!(root_propagation(&opts), None);
        let bind = |o: &str| ExtraMount {
            destination: "/b".into(),
            kind: MountKind::Bind {
                source: "/s".into(),
            },
            options: vec![o.to_string()],
        };
        opts.mounts.push(bind("rslave"));
        assert_eq!(root_propagation(&opts).as_deref(), Some("rslave"));
        opts.mounts.push(bind("rshared"));
        assert_eq!(root_propagation(&opts).as_deref(), Some("shared"));
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean("/dev//shm/"), "/dev/shm");
        assert_eq!(clean("/./tmp"), "/tmp");
        assert_eq!(clean("/a/../b"), "/a/../b");
        assert_eq!(clean("/"), "/");
    }
}
