//! The seccomp filter: podman's default profile as a table of our own, the
//! profile file format (`--security-opt seccomp=FILE`), and the step that
//! turns a profile into the runtime spec's `linux.seccomp` for one container
//! (keeping the rules that apply to its architecture and capabilities).
//!
//! The semantics follow the default profile containers-common ships for
//! podman, documented in containers.conf(5) (`seccomp_profile`) and in
//! Docker's "Seccomp security profiles" reference, whose format it shares:
//! an allowlist, with every other system call failing. Unknown system calls
//! fail with ENOSYS (so that a C library falls back to an older call, as it
//! does on an older kernel), known but refused ones with EPERM. A few calls
//! are allowed only with the capability the kernel would check anyway, a
//! few only with certain arguments (personality(2) personas, socket(2)
//! families).
//!
//! Where two rules name the same system call without arguments, the runtime's
//! seccomp library keeps the first one; the default table avoids relying on
//! that by naming each call once.

use std::path::PathBuf;
use std::str::FromStr;

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};
use serde::{Deserialize, Serialize};

use super::capabilities::CapSet;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("reading seccomp profile {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing seccomp profile: {source}")]
    Parse {
        #[source]
        source: serde_json::Error,
    },
    #[error("seccomp profile sets both \"architectures\" and \"archMap\": use one")]
    ArchitecturesTwice,
    #[error("seccomp rule sets both \"name\" and \"names\": use one")]
    NameTwice,
    #[error("seccomp profile names unknown errno {name:?}")]
    UnknownErrno { name: String },
    #[error("assembling a seccomp rule: {source}")]
    Assemble {
        #[source]
        source: oci_spec::OciSpecError,
    },
}

/// A seccomp profile in the format podman and Docker read
/// (`defaultAction`, `archMap`, `syscalls` with `includes`/`excludes`); a
/// plain runtime-spec `linux.seccomp` object is a valid profile too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: LinuxSeccompAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// An errno by name (`ENOSYS`); wins over `default_errno_ret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno: Option<String>,
    /// Explicit architectures (`SCMP_ARCH_…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    /// Architectures by native one: the entry for the native architecture
    /// gives the list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arch_map: Vec<ArchMap>,
    #[serde(default)]
    pub syscalls: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<LinuxSeccompFilterFlag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_path: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_metadata: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchMap {
    #[serde(rename = "architecture")]
    pub arch: String,
    #[serde(rename = "subArchitectures", default)]
    pub sub: Vec<String>,
}

/// One rule: system calls, the action, and when it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    pub action: LinuxSeccompAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<Arg>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno: Option<String>,
    #[serde(default)]
    pub includes: Filter,
    #[serde(default)]
    pub excludes: Filter,
}

/// An argument comparison; all of a rule's must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: usize,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: LinuxSeccompOperator,
}

/// When a rule applies: `includes` needs every capability and one of the
/// architectures listed; `excludes` drops the rule when any listed
/// capability or architecture is present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    /// Architectures as Go names them (`amd64`, `arm64`, `x32`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    /// `major.minor`: the rule needs at least this kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

impl Profile {
    pub fn from_json(text: &str) -> Result<Profile, SeccompError> {
        serde_json::from_str(text).map_err(|source| SeccompError::Parse { source })
    }

    pub fn from_file(path: &std::path::Path) -> Result<Profile, SeccompError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeccompError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Profile::from_json(&text)
    }

    /// The filter for one container on this machine: the rules for the
    /// native architecture and the container's bounding set `caps`, on a
    /// kernel of version `kernel`.
    pub fn to_oci(&self, caps: CapSet, kernel: (u32, u32)) -> Result<LinuxSeccomp, SeccompError> {
        self.to_oci_for(Native::current(), caps, kernel)
    }

    fn to_oci_for(
        &self,
        native: Native,
        caps: CapSet,
        kernel: (u32, u32),
    ) -> Result<LinuxSeccomp, SeccompError> {
        if !self.architectures.is_empty() && !self.arch_map.is_empty() {
            return Err(SeccompError::ArchitecturesTwice);
        }
        let mut arches: Vec<String> = self.architectures.clone();
        if let Some(entry) = self.arch_map.iter().find(|m| m.arch == native.seccomp) {
            arches.push(entry.arch.clone());
            arches.extend(entry.sub.iter().cloned());
        }
        // An architecture this crate cannot name is left out: the kernel
        // never reports it for this machine anyway.
        let arches: Vec<Arch> = arches
            .iter()
            .filter_map(|a| Arch::from_str(a).ok())
            .collect();

        let mut syscalls = Vec::new();
        for rule in &self.syscalls {
            if !rule.applies(native.go, caps, kernel) {
                continue;
            }
            if rule.name.is_some() && !rule.names.is_empty() {
                return Err(SeccompError::NameTwice);
            }
            let names: Vec<String> = match &rule.name {
                Some(n) => vec![n.clone()],
                None => rule.names.clone(),
            };
            if names.is_empty() {
                continue;
            }
            let mut call = LinuxSyscall::default();
            call.set_names(names);
            call.set_action(rule.action);
            call.set_errno_ret(errno(rule.errno.as_deref(), rule.errno_ret)?);
            if let Some(args) = rule.args.as_ref().filter(|a| !a.is_empty()) {
                call.set_args(Some(
                    args.iter().map(|a| a.to_oci()).collect::<Result<_, _>>()?,
                ));
            }
            syscalls.push(call);
        }

        let mut out = LinuxSeccomp::default();
        out.set_default_action(self.default_action);
        out.set_default_errno_ret(errno(
            self.default_errno.as_deref(),
            self.default_errno_ret,
        )?);
        out.set_architectures((!arches.is_empty()).then_some(arches));
        out.set_flags((!self.flags.is_empty()).then(|| self.flags.clone()));
        out.set_listener_path(self.listener_path.clone());
        out.set_listener_metadata(self.listener_metadata.clone());
        out.set_syscalls(Some(syscalls));
        Ok(out)
    }
}

impl Rule {
    fn applies(&self, arch: &str, caps: CapSet, kernel: (u32, u32)) -> bool {
        let ex = &self.excludes;
        if ex.arches.iter().any(|a| a == arch) || ex.caps.iter().any(|c| caps.has(c)) {
            return false;
        }
        let inc = &self.includes;
        if !inc.arches.is_empty() && !inc.arches.iter().any(|a| a == arch) {
            return false;
        }
        if !inc.caps.iter().all(|c| caps.has(c)) {
            return false;
        }
        match inc.min_kernel.as_deref().map(parse_version) {
            Some(Some(min)) => kernel >= min,
            Some(None) => false,
            None => true,
        }
    }
}

impl Arg {
    fn to_oci(self) -> Result<LinuxSeccompArg, SeccompError> {
        let mut b = LinuxSeccompArgBuilder::default()
            .index(self.index)
            .value(self.value)
            .op(self.op);
        if self.value_two != 0 {
            b = b.value_two(self.value_two);
        }
        b.build()
            .map_err(|source| SeccompError::Assemble { source })
    }
}

fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// An errno by name (as nix names them, which are the C names) or number.
fn errno(name: Option<&str>, number: Option<u32>) -> Result<Option<u32>, SeccompError> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Ok(number);
    };
    if let Ok(n) = name.parse::<u32>() {
        return Ok(Some(n));
    }
    (1..4096)
        .find(|&n| format!("{:?}", nix::errno::Errno::from_raw(n)) == name)
        .map(|n| Some(n.unsigned_abs()))
        .ok_or_else(|| SeccompError::UnknownErrno {
            name: name.to_string(),
        })
}

/// The machine's architecture as seccomp and as Go (the profile's
/// `arches`) name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Native {
    seccomp: &'static str,
    go: &'static str,
}

impl Native {
    fn current() -> Native {
        let (seccomp, go) = match std::env::consts::ARCH {
            "x86_64" => ("SCMP_ARCH_X86_64", "amd64"),
            "x86" => ("SCMP_ARCH_X86", "x86"),
            "aarch64" => ("SCMP_ARCH_AARCH64", "arm64"),
            "arm" => ("SCMP_ARCH_ARM", "arm"),
            "riscv64" => ("SCMP_ARCH_RISCV64", "riscv64"),
            "s390x" => ("SCMP_ARCH_S390X", "s390x"),
            "powerpc64" if cfg!(target_endian = "little") => ("SCMP_ARCH_PPC64LE", "ppc64le"),
            "powerpc64" => ("SCMP_ARCH_PPC64", "ppc64"),
            "mips64" if cfg!(target_endian = "little") => ("SCMP_ARCH_MIPSEL64", "mipsel64"),
            "mips64" => ("SCMP_ARCH_MIPS64", "mips64"),
            _ => ("SCMP_ARCH_NATIVE", "native"),
        };
        Native { seccomp, go }
    }
}

mod default;

pub use default::default_profile;

#[cfg(test)]
mod test_support {
    use super::*;

    pub const AMD64: Native = Native {
        seccomp: "SCMP_ARCH_X86_64",
        go: "amd64",
    };
    pub const ARM64: Native = Native {
        seccomp: "SCMP_ARCH_AARCH64",
        go: "arm64",
    };

    pub fn default_caps() -> CapSet {
        super::super::defaults::CAPABILITIES
            .iter()
            .filter_map(|c| super::super::capabilities::number(c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn profile_file_format() {
        let text = r#"{
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrno": "EPERM",
            "archMap": [
                {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                {"architecture": "SCMP_ARCH_PARISC64", "subArchitectures": []}
            ],
            "syscalls": [
                {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "args": null,
                 "comment": "", "includes": {}, "excludes": {}},
                {"name": "ptrace", "action": "SCMP_ACT_ALLOW", "args": [],
                 "includes": {"minKernel": "4.8"}},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
                 "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errno": "ESRCH",
                 "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}
            ]
        }"#;
        let p = Profile::from_json(text).expect("parse");
        let f = p.to_oci_for(AMD64, default_caps(), (4, 4)).expect("filter");
        assert_eq!(f.default_errno_ret(), Some(1));
        assert_eq!(
            f.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86][..])
        );
        let calls = f.syscalls().as_ref().expect("syscalls");
        // ptrace needs 4.8, mount needs CAP_SYS_ADMIN.
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].errno_ret(), Some(3));
        let json = serde_json::to_value(&calls[1]).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3,
                "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]})
        );
        let f = p.to_oci_for(AMD64, CapSet::all(), (6, 1)).expect("filter");
        assert_eq!(f.syscalls().as_ref().expect("syscalls").len(), 4);
    }

    #[test]
    fn profile_errors() {
        let both = r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#;
        assert!(matches!(
            Profile::from_json(both)
                .expect("parse")
                .to_oci_for(AMD64, CapSet::all(), (6, 1)),
            Err(SeccompError::ArchitecturesTwice)
        ));
        let errno = r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOPE"}"#;
        let err = Profile::from_json(errno)
            .expect("parse")
            .to_oci_for(AMD64, CapSet::all(), (6, 1))
            .expect_err("unknown errno");
        assert_eq!(
            err.to_string(),
            "seccomp profile names unknown errno \"ENOPE\""
        );
        assert!(Profile::from_json("{").is_err());
    }

    #[test]
    fn default_profile_round_trips_through_the_file_format() {
        let p = default_profile();
        let text = serde_json::to_string(&p).expect("serialise");
        assert_eq!(Profile::from_json(&text).expect("parse"), p);
    }
}
