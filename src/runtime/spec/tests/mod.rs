//! Tests of the whole spec: what a container gets by default, and how each
//! option changes it, by area; here the helpers they share.

use std::collections::HashSet;

use oci_spec::runtime::{
    Capability, LinuxNamespaceType, LinuxSeccompAction, Mount, PosixRlimitType, Spec,
};

use super::*;
use crate::runtime::spec::host::Limit;

/// A host like the development machines: hybrid cgroups, root without
/// CAP_SYS_RESOURCE and a NOFILE hard limit of 20000.
pub(crate) fn host() -> Host {
    Host {
        cgroup: CgroupMode::Hybrid,
        limits: vec![
            Limit {
                kind: PosixRlimitType::RlimitNofile,
                soft: 20000,
                hard: 20000,
            },
            Limit {
                kind: PosixRlimitType::RlimitNproc,
                soft: 96365,
                hard: 96365,
            },
            Limit {
                kind: PosixRlimitType::RlimitCore,
                soft: 0,
                hard: RLIM_INFINITY,
            },
        ],
        can_raise_limits: false,
        nr_open: 1_048_576,
        bounding: CapSet::all(),
        oom_score_adj: 0,
        mqueue: true,
        gid5_mapped: true,
        kernel: (6, 18),
        extra_masked_paths: Vec::new(),
        swap_accounting: true,
    }
}

pub(super) fn opts() -> SpecOptions {
    SpecOptions::new(
        "/var/lib/skiff/rootfs".into(),
        vec!["sh".into(), "-c".into(), "true".into()],
        Caller::Root,
        host(),
    )
}

pub(super) fn rootless() -> SpecOptions {
    SpecOptions {
        caller: Caller::Rootless {
            cgroups_delegated: false,
        },
        ..opts()
    }
}

pub(super) fn spec(o: &SpecOptions) -> Spec {
    build(o).expect("build")
}

pub(super) fn linux(s: &Spec) -> &oci_spec::runtime::Linux {
    s.linux().as_ref().expect("linux")
}

pub(super) fn process(s: &Spec) -> &oci_spec::runtime::Process {
    s.process().as_ref().expect("process")
}

pub(super) fn mount<'a>(s: &'a Spec, dest: &str) -> Option<&'a Mount> {
    s.mounts()
        .as_ref()
        .expect("mounts")
        .iter()
        .find(|m| m.destination().to_str() == Some(dest))
}

pub(super) fn options(m: &Mount) -> Vec<&str> {
    m.options()
        .as_ref()
        .map(|o| o.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

pub(super) fn ns_types(s: &Spec) -> Vec<LinuxNamespaceType> {
    linux(s)
        .namespaces()
        .as_ref()
        .expect("namespaces")
        .iter()
        .map(|n| n.typ())
        .collect()
}

pub(super) fn caps(list: &[&str]) -> HashSet<Capability> {
    list.iter()
        .map(|name| capabilities::ALL[capabilities::number(name).expect("known")].1)
        .collect()
}

pub(super) fn env(s: &Spec) -> Vec<String> {
    process(s).env().clone().expect("env")
}

pub(super) fn rlimit(s: &Spec, kind: PosixRlimitType) -> Option<(u64, u64)> {
    process(s)
        .rlimits()
        .as_ref()
        .expect("rlimits")
        .iter()
        .find(|r| r.typ() == kind)
        .map(|r| (r.soft(), r.hard()))
}

mod namespaces_and_mounts;
mod process;
mod resources;
mod security;
