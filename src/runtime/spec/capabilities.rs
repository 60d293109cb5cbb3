//! Linux capabilities: the table of names and numbers, parsing of
//! `--cap-add`/`--cap-drop` values, and the sets a container process gets.
//!
//! The merge rules follow podman's (containers/common `MergeCapabilities`):
//! names are case-insensitive with or without the `CAP_` prefix; `ALL` in the
//! drop list leaves only what is added; `ALL` in the add list starts from the
//! caller's bounding set; naming one capability in both lists is an error.

use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

use super::SpecError;

/// Every capability the kernel defines up to CAP_CHECKPOINT_RESTORE, indexed
/// by its number (capabilities(7), <linux/capability.h>).
pub const ALL: [(&str, Capability); 41] = [
    ("CAP_CHOWN", Capability::Chown),
    ("CAP_DAC_OVERRIDE", Capability::DacOverride),
    ("CAP_DAC_READ_SEARCH", Capability::DacReadSearch),
    ("CAP_FOWNER", Capability::Fowner),
    ("CAP_FSETID", Capability::Fsetid),
    ("CAP_KILL", Capability::Kill),
    ("CAP_SETGID", Capability::Setgid),
    ("CAP_SETUID", Capability::Setuid),
    ("CAP_SETPCAP", Capability::Setpcap),
    ("CAP_LINUX_IMMUTABLE", Capability::LinuxImmutable),
    ("CAP_NET_BIND_SERVICE", Capability::NetBindService),
    ("CAP_NET_BROADCAST", Capability::NetBroadcast),
    ("CAP_NET_ADMIN", Capability::NetAdmin),
    ("CAP_NET_RAW", Capability::NetRaw),
    ("CAP_IPC_LOCK", Capability::IpcLock),
    ("CAP_IPC_OWNER", Capability::IpcOwner),
    ("CAP_SYS_MODULE", Capability::SysModule),
    ("CAP_SYS_RAWIO", Capability::SysRawio),
    ("CAP_SYS_CHROOT", Capability::SysChroot),
    ("CAP_SYS_PTRACE", Capability::SysPtrace),
    ("CAP_SYS_PACCT", Capability::SysPacct),
    ("CAP_SYS_ADMIN", Capability::SysAdmin),
    ("CAP_SYS_BOOT", Capability::SysBoot),
    ("CAP_SYS_NICE", Capability::SysNice),
    ("CAP_SYS_RESOURCE", Capability::SysResource),
    ("CAP_SYS_TIME", Capability::SysTime),
    ("CAP_SYS_TTY_CONFIG", Capability::SysTtyConfig),
    ("CAP_MKNOD", Capability::Mknod),
    ("CAP_LEASE", Capability::Lease),
    ("CAP_AUDIT_WRITE", Capability::AuditWrite),
    ("CAP_AUDIT_CONTROL", Capability::AuditControl),
    ("CAP_SETFCAP", Capability::Setfcap),
    ("CAP_MAC_OVERRIDE", Capability::MacOverride),
    ("CAP_MAC_ADMIN", Capability::MacAdmin),
    ("CAP_SYSLOG", Capability::Syslog),
    ("CAP_WAKE_ALARM", Capability::WakeAlarm),
    ("CAP_BLOCK_SUSPEND", Capability::BlockSuspend),
    ("CAP_AUDIT_READ", Capability::AuditRead),
    ("CAP_PERFMON", Capability::Perfmon),
    ("CAP_BPF", Capability::Bpf),
    ("CAP_CHECKPOINT_RESTORE", Capability::CheckpointRestore),
];

/// A set of capabilities as a bit mask by capability number, the way the
/// kernel reports them in /proc/PID/status (`CapEff:` and friends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(u64);

impl CapSet {
    pub const EMPTY: CapSet = CapSet(0);

    /// Every capability in [`ALL`].
    pub fn all() -> CapSet {
        CapSet((1u64 << ALL.len()) - 1)
    }

    /// From a kernel mask; bits this table does not know are dropped.
    pub fn from_mask(mask: u64) -> CapSet {
        CapSet(mask & CapSet::all().0)
    }

    pub fn mask(self) -> u64 {
        self.0
    }

    pub fn contains(self, number: usize) -> bool {
        number < 64 && self.0 & (1u64 << number) != 0
    }

    pub fn insert(&mut self, number: usize) {
        if number < ALL.len() {
            self.0 |= 1u64 << number;
        }
    }

    pub fn remove(&mut self, number: usize) {
        if number < 64 {
            self.0 &= !(1u64 << number);
        }
    }

    pub fn intersect(self, other: CapSet) -> CapSet {
        CapSet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the set holds the capability named `name` (`CAP_…`).
    pub fn has(self, name: &str) -> bool {
        number(name).is_some_and(|n| self.contains(n))
    }

    /// The names in the set, in capability-number order.
    pub fn names(self) -> Vec<&'static str> {
        ALL.iter()
            .enumerate()
            .filter(|(n, _)| self.contains(*n))
            .map(|(_, (name, _))| *name)
            .collect()
    }

    /// The set as the runtime spec types it.
    pub fn to_oci(self) -> Capabilities {
        ALL.iter()
            .enumerate()
            .filter(|(n, _)| self.contains(*n))
            .map(|(_, (_, cap))| *cap)
            .collect()
    }
}

impl FromIterator<usize> for CapSet {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> CapSet {
        let mut set = CapSet::EMPTY;
        for n in iter {
            set.insert(n);
        }
        set
    }
}

/// The number of the capability called `name` (exactly `CAP_…`, upper case).
pub fn number(name: &str) -> Option<usize> {
    ALL.iter().position(|(n, _)| *n == name)
}

/// One entry of a `--cap-add`/`--cap-drop` list, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CapName {
    All,
    One(usize),
}

fn parse(name: &str) -> Result<CapName, SpecError> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ALL" {
        return Ok(CapName::All);
    }
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    number(&full)
        .map(CapName::One)
        .ok_or_else(|| SpecError::UnknownCapability {
            name: name.to_string(),
        })
}

fn parse_list(names: &[String]) -> Result<Vec<CapName>, SpecError> {
    names.iter().map(|n| parse(n)).collect()
}

/// The capability set of a container: `base` plus `add` minus `drop`, never
/// more than `bounding` (what the caller itself may hand out).
pub fn merge(
    base: CapSet,
    add: &[String],
    drop: &[String],
    bounding: CapSet,
) -> Result<CapSet, SpecError> {
    let add = parse_list(add)?;
    let drop = parse_list(drop)?;
    let add_all = add.contains(&CapName::All);
    if drop.contains(&CapName::All) {
        if add_all {
            return Err(SpecError::CapabilitiesAllAddedAndDropped);
        }
        let only: CapSet = add
            .iter()
            .filter_map(|c| match c {
                CapName::One(n) => Some(*n),
                CapName::All => None,
            })
            .collect();
        return Ok(only.intersect(bounding));
    }
    for c in &drop {
        if let CapName::One(n) = c {
            if add.contains(c) {
                return Err(SpecError::CapabilityAddedAndDropped {
                    name: ALL[*n].0.to_string(),
                });
            }
        }
    }
    let mut set = if add_all { bounding } else { base };
    for c in &add {
        if let CapName::One(n) = c {
            set.insert(*n);
        }
    }
    for c in &drop {
        if let CapName::One(n) = c {
            set.remove(*n);
        }
    }
    Ok(set.intersect(bounding))
}

/// The set of `--cap-add` entries alone (for a process that does not run as
/// root), clipped to `bounding`.
pub fn added(add: &[String], bounding: CapSet) -> Result<CapSet, SpecError> {
    let mut set = CapSet::EMPTY;
    for c in parse_list(add)? {
        match c {
            CapName::All => return Ok(bounding),
            CapName::One(n) => set.insert(n),
        }
    }
    Ok(set.intersect(bounding))
}

/// The five capability sets of the container process, as podman fills them:
/// bounding is the container's set; a process running as uid 0 gets it as
/// effective and permitted too, with empty inheritable and ambient sets (the
/// kernel ignores those for root, and podman stopped setting inheritable
/// for CVE-2022-27649). A process with another uid keeps only what was added
/// explicitly, raised to ambient so that it survives `execve`.
pub fn process_sets(bounding: CapSet, uid: u32, added: CapSet) -> LinuxCapabilities {
    let (eff, inh) = if uid == 0 {
        (bounding, CapSet::EMPTY)
    } else {
        let a = added.intersect(bounding);
        (a, a)
    };
    let mut caps = LinuxCapabilities::default();
    caps.set_bounding(Some(bounding.to_oci()));
    caps.set_effective(Some(eff.to_oci()));
    caps.set_permitted(Some(eff.to_oci()));
    caps.set_inheritable(Some(inh.to_oci()));
    caps.set_ambient(Some(inh.to_oci()));
    caps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn table_matches_kernel_numbers() {
        assert_eq!(number("CAP_CHOWN"), Some(0));
        assert_eq!(number("CAP_NET_BIND_SERVICE"), Some(10));
        assert_eq!(number("CAP_SYS_CHROOT"), Some(18));
        assert_eq!(number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(number("CAP_SYS_RESOURCE"), Some(24));
        assert_eq!(number("CAP_SETFCAP"), Some(31));
        assert_eq!(number("CAP_CHECKPOINT_RESTORE"), Some(40));
        // The names agree with the serialised form of oci-spec's enum.
        for (name, cap) in ALL {
            assert_eq!(
                serde_json::to_value(cap).expect("serialise"),
                serde_json::Value::String(name.to_string())
            );
        }
    }

    #[test]
    fn names_are_normalised() {
        let base = CapSet::EMPTY;
        let set = merge(
            base,
            &s(&["net_raw", "CAP_SYS_ADMIN", "Mknod"]),
            &[],
            CapSet::all(),
        )
        .expect("merge");
        assert_eq!(set.names(), ["CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_MKNOD"]);
        let err = merge(base, &s(&["NOPE"]), &[], CapSet::all()).expect_err("unknown");
        assert_eq!(err.to_string(), "unknown capability \"NOPE\"");
    }

    #[test]
    fn all_rules() {
        let base: CapSet = [0usize, 1, 5].into_iter().collect();
        let bounding = CapSet::from_mask(0xffff);
        assert_eq!(
            merge(base, &s(&["ALL"]), &[], bounding).expect("add all"),
            bounding
        );
        assert_eq!(
            merge(base, &s(&["all"]), &s(&["chown"]), bounding)
                .expect("add all drop one")
                .mask(),
            0xfffe
        );
        assert_eq!(
            merge(
                base,
                &s(&["KILL", "SYS_ADMIN"]),
                &s(&["ALL"]),
                CapSet::all()
            )
            .expect("drop all")
            .names(),
            ["CAP_KILL", "CAP_SYS_ADMIN"]
        );
        assert!(matches!(
            merge(base, &s(&["ALL"]), &s(&["ALL"]), bounding),
            Err(SpecError::CapabilitiesAllAddedAndDropped)
        ));
        assert!(matches!(
            merge(base, &s(&["KILL"]), &s(&["cap_kill"]), bounding),
            Err(SpecError::CapabilityAddedAndDropped { .. })
        ));
        // Never more than the bounding set.
        assert_eq!(
            merge(base, &s(&["SYS_ADMIN"]), &[], bounding).expect("clip"),
            base
        );
    }
}
