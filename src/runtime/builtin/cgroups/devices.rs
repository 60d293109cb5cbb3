//! The device rules of a container's cgroup (`linux.resources.devices`):
//! checked into a rule model, then written as `devices.allow` and
//! `devices.deny` lines on cgroup v1, or compiled into a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program (as runc generates it) and
//! attached to the cgroup on v2. The rules mean what the kernel's
//! security/device_cgroup.c makes of them (see
//! Documentation/admin-guide/cgroup-v1/devices.rst).

use std::collections::BTreeMap;
use std::fmt;
use std::os::fd::AsFd as _;
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::{write, Cgroup, CgroupError, Controller, Version};
use crate::sys::bpf::{self, Insn};

impl Cgroup {
    pub(super) fn apply_devices(&self, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
        let rules = rules
            .iter()
            .map(DeviceRule::from_spec)
            .collect::<Result<Vec<_>, _>>()?;
        // Refuses what v1 would silently ignore, on v1 too.
        let state = DeviceState::of(&rules)?;
        match self.target(Controller::Devices)? {
            (dir, Version::V1) => {
                for (file, line) in v1_device_writes(&rules) {
                    write(dir, file, &line)?;
                }
                Ok(())
            }
            (dir, Version::V2) => attach_device_filter(dir, &state),
        }
    }
}

/// The kind of device a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DeviceKind {
    All,
    Block,
    Char,
}

/// Access bits, as `BPF_DEVCG_ACC_*`: mknod 1, read 2, write 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Access(u8);

impl Access {
    const MKNOD: u8 = 1;
    const READ: u8 = 2;
    const WRITE: u8 = 4;
    const ALL: Access = Access(7);
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, c) in [
            (Access::READ, 'r'),
            (Access::WRITE, 'w'),
            (Access::MKNOD, 'm'),
        ] {
            if self.0 & bit != 0 {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// One entry of `linux.resources.devices`, checked. Major and minor are
/// `None` for any (`*`), else at most `i32::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DeviceRule {
    allow: bool,
    kind: DeviceKind,
    major: Option<i32>,
    minor: Option<i32>,
    access: Access,
}

impl DeviceRule {
    fn from_spec(r: &LinuxDeviceCgroup) -> Result<DeviceRule, CgroupError> {
        let shown = || {
            let num = |n: Option<i64>| n.map_or("*".to_string(), |n| n.to_string());
            format!(
                "{} {} {}:{} {}",
                if r.allow() { "allow" } else { "deny" },
                r.typ().unwrap_or_default().as_str(),
                num(r.major()),
                num(r.minor()),
                r.access().as_deref().unwrap_or("rwm")
            )
        };
        let bad = |detail: &str| CgroupError::DeviceRule {
            rule: shown(),
            detail: detail.to_string(),
        };
        let kind = match r.typ().unwrap_or_default() {
            LinuxDeviceType::A => DeviceKind::All,
            LinuxDeviceType::B => DeviceKind::Block,
            LinuxDeviceType::C => DeviceKind::Char,
            LinuxDeviceType::U | LinuxDeviceType::P => {
                return Err(bad("the device cgroup knows only types a, b and c"))
            }
        };
        let number = |n: Option<i64>| match n {
            None => Ok(None),
            Some(n) if n < 0 => Ok(None),
            Some(n) => i32::try_from(n)
                .map(Some)
                .map_err(|_| bad("device number out of range")),
        };
        let mut access = 0;
        for c in r.access().as_deref().unwrap_or("rwm").chars() {
            access |= match c {
                'r' => Access::READ,
                'w' => Access::WRITE,
                'm' => Access::MKNOD,
                _ => return Err(bad("access is made of r, w and m")),
            };
        }
        if access == 0 {
            return Err(bad("no access given (r, w, m)"));
        }
        Ok(DeviceRule {
            allow: r.allow(),
            kind,
            major: number(r.major())?,
            minor: number(r.minor())?,
            access: Access(access),
        })
    }
}

/// The rule as v1 `devices.allow`/`devices.deny` take it (and as runc
/// writes it): "c 1:3 rwm", "a *:* rwm".
impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            DeviceKind::All => 'a',
            DeviceKind::Block => 'b',
            DeviceKind::Char => 'c',
        };
        let num = |n: Option<i32>| n.map_or("*".to_string(), |n| n.to_string());
        write!(
            f,
            "{kind} {}:{} {}",
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

/// The v1 writes for `rules`: everything denied first, then each rule in
/// the spec's order, to `devices.allow` or `devices.deny`.
fn v1_device_writes(rules: &[DeviceRule]) -> Vec<(&'static str, String)> {
    std::iter::once(("devices.deny", "a".to_string()))
        .chain(rules.iter().map(|r| {
            let file = if r.allow {
                "devices.allow"
            } else {
                "devices.deny"
            };
            (file, r.to_string())
        }))
        .collect()
}

type DeviceKey = (DeviceKind, Option<i32>, Option<i32>);

/// What a list of rules leaves, as the v1 kernel keeps it
/// (security/device_cgroup.c): a default, and exceptions to it with their
/// access bits. Starts from "deny everything".
#[derive(Debug, Default, PartialEq, Eq)]
struct DeviceState {
    default_allow: bool,
    exceptions: BTreeMap<DeviceKey, u8>,
}

impl DeviceState {
    fn of(rules: &[DeviceRule]) -> Result<DeviceState, CgroupError> {
        let mut state = DeviceState::default();
        for r in rules {
            if r.kind == DeviceKind::All {
                // "a" resets, whatever its numbers and access.
                state = DeviceState {
                    default_allow: r.allow,
                    exceptions: BTreeMap::new(),
                };
                continue;
            }
            let key = (r.kind, r.major, r.minor);
            if r.allow != state.default_allow {
                *state.exceptions.entry(key).or_default() |= r.access.0;
                continue;
            }
            // The kernel removes only an exception with these very numbers
            // and silently ignores a hole in a wider one: refused instead,
            // as runc does.
            for wider in [
                (r.kind, None, r.minor),
                (r.kind, r.major, None),
                (r.kind, None, None),
            ] {
                if wider == key {
                    continue;
                }
                if let Some(bits) = state
                    .exceptions
                    .get(&wider)
                    .filter(|b| *b & r.access.0 != 0)
                {
                    let rule = DeviceRule {
                        allow: !r.allow,
                        kind: wider.0,
                        major: wider.1,
                        minor: wider.2,
                        access: Access(*bits),
                    };
                    return Err(CgroupError::DeviceRule {
                        rule: format!("{} {r}", if r.allow { "allow" } else { "deny" }),
                        detail: format!("cannot punch a hole in the wider rule \"{rule}\""),
                    });
                }
            }
            if let Some(bits) = state.exceptions.get_mut(&key) {
                *bits &= !r.access.0;
                if *bits == 0 {
                    state.exceptions.remove(&key);
                }
            }
        }
        Ok(state)
    }
}

/// Load the program for `state` and attach it to cgroup `dir` (v2), beside
/// any others (`BPF_F_ALLOW_MULTI`: every attached program must allow).
fn attach_device_filter(dir: &Path, state: &DeviceState) -> Result<(), CgroupError> {
    let prog = bpf::load_device_program(&device_program(state)).map_err(|e| {
        CgroupError::DeviceFilterLoad {
            dir: dir.to_path_buf(),
            source: e.source,
            log: e
                .verifier
                .map(|line| format!(" (verifier: {line})"))
                .unwrap_or_default(),
        }
    })?;
    crate::sys::fs::open_dir(dir)
        .and_then(|cgroup| bpf::attach_device_program(cgroup.as_fd(), prog.as_fd()))
        .map_err(|source| CgroupError::DeviceFilterAttach {
            dir: dir.to_path_buf(),
            source,
        })
}

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;
/// BPF_LDX | BPF_MEM | BPF_W
const LDX_W: u8 = 0x61;
/// BPF_ALU | BPF_AND | BPF_K
const AND32_K: u8 = 0x54;
/// BPF_ALU | BPF_RSH | BPF_K
const RSH32_K: u8 = 0x74;
/// BPF_ALU | BPF_MOV | BPF_K
const MOV32_K: u8 = 0xb4;
/// BPF_ALU | BPF_MOV | BPF_X
const MOV32_X: u8 = 0xbc;
/// BPF_JMP | BPF_JEQ | BPF_K
const JEQ_K: u8 = 0x15;
/// BPF_JMP | BPF_JNE | BPF_K
const JNE_K: u8 = 0x55;
/// BPF_JMP | BPF_JNE | BPF_X
const JNE_X: u8 = 0x5d;
/// BPF_JMP | BPF_EXIT
const EXIT: u8 = 0x95;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn::new(code, dst, src, off, imm)
}

/// The device program for `state`, as runc generates it: each exception is
/// a block that returns its verdict when the device matches and otherwise
/// jumps to the next; the default comes last. The context is
/// `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
/// with the type in the low 16 bits of `access_type`, the access above.
fn device_program(state: &DeviceState) -> Vec<Insn> {
    let mut prog = vec![
        insn(LDX_W, R2, R1, 0, 0),
        insn(AND32_K, R2, 0, 0, 0xffff),
        insn(LDX_W, R3, R1, 0, 0),
        insn(RSH32_K, R3, 0, 0, 16),
        insn(LDX_W, R4, R1, 4, 0),
        insn(LDX_W, R5, R1, 8, 0),
    ];
    let verdict = i32::from(!state.default_allow);
    for (&(kind, major, minor), &bits) in &state.exceptions {
        let bpf_type = if kind == DeviceKind::Block { 1 } else { 2 };
        // (instruction, whether it jumps to the next block)
        let mut block = vec![(insn(JNE_K, R2, 0, 0, bpf_type), true)];
        if bits != Access::ALL.0 {
            block.push((insn(MOV32_X, R1, R3, 0, 0), false));
            block.push((insn(AND32_K, R1, 0, 0, i32::from(bits)), false));
            block.push(if state.default_allow {
                // A deny exception applies when any access asked is denied
                // (the kernel's match_exception_partial).
                (insn(JEQ_K, R1, 0, 0, 0), true)
            } else {
                // An allow exception must cover all the access asked.
                (insn(JNE_X, R1, R3, 0, 0), true)
            });
        }
        if let Some(n) = major {
            block.push((insn(JNE_K, R4, 0, 0, n), true));
        }
        if let Some(n) = minor {
            block.push((insn(JNE_K, R5, 0, 0, n), true));
        }
        block.push((insn(MOV32_K, R0, 0, 0, verdict), false));
        block.push((insn(EXIT, 0, 0, 0, 0), false));
        let len = block.len();
        prog.extend(block.into_iter().enumerate().map(|(i, (mut ins, jumps))| {
            if jumps {
                // At most a dozen instructions: fits.
                ins.off = i16::try_from(len - i - 1).unwrap_or(i16::MAX);
            }
            ins
        }));
    }
    prog.push(insn(MOV32_K, R0, 0, 0, i32::from(state.default_allow)));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxResources};

    use super::super::tests::{dir_with, file, Scratch};
    use super::*;

    fn rule(
        allow: bool,
        typ: LinuxDeviceType,
        major: i64,
        minor: i64,
        access: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default()
            .allow(allow)
            .typ(typ)
            .access(access);
        if major >= 0 {
            b = b.major(major);
        }
        if minor >= 0 {
            b = b.minor(minor);
        }
        b.build().expect("a device rule builds")
    }

    fn rules(spec: &[LinuxDeviceCgroup]) -> Vec<DeviceRule> {
        spec.iter()
            .map(|r| DeviceRule::from_spec(r).expect("valid rule"))
            .collect()
    }

    /// deny all; null rwm; zero rwm then its write taken back.
    fn null_and_read_only_zero() -> Vec<LinuxDeviceCgroup> {
        vec![
            rule(false, LinuxDeviceType::A, -1, -1, "rwm"),
            rule(true, LinuxDeviceType::C, 1, 3, "rwm"),
            rule(true, LinuxDeviceType::C, 1, 5, "rwm"),
            rule(false, LinuxDeviceType::C, 1, 5, "w"),
        ]
    }

    /// What a shell in the cgroup may open: one line per success.
    const OPENS: &str = "read go; \
        true </dev/null && echo null-r; true >/dev/null && echo null-w; \
        true </dev/zero && echo zero-r; true >/dev/zero && echo zero-w; \
        true </dev/full && echo full-r";

    /// Run `OPENS` in cgroup `cg` (joined before it opens anything).
    fn opens_in(cg: &Cgroup) -> String {
        let mut child = Command::new("sh")
            .args(["-c", OPENS])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh runs");
        let joined = cg.add(i32::try_from(child.id()).expect("pids fit in i32"));
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let _ = stdin.write_all(b"go\n");
        drop(stdin);
        let out = child.wait_with_output().expect("sh ends");
        joined.expect("the shell joins the cgroup");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn v1_device_writes_follow_the_spec_order() {
        let spec = vec![
            rule(false, LinuxDeviceType::A, -1, -1, "rwm"),
            rule(true, LinuxDeviceType::C, 1, 3, "rwm"),
            rule(true, LinuxDeviceType::C, 136, -1, "rw"),
            rule(true, LinuxDeviceType::B, 8, 0, "r"),
            rule(false, LinuxDeviceType::C, 1, 3, "m"),
        ];
        let writes = v1_device_writes(&rules(&spec));
        let expected = [
            ("devices.deny", "a"),
            ("devices.deny", "a *:* rwm"),
            ("devices.allow", "c 1:3 rwm"),
            ("devices.allow", "c 136:* rw"),
            ("devices.allow", "b 8:0 r"),
            ("devices.deny", "c 1:3 m"),
        ];
        let writes: Vec<(&str, &str)> = writes.iter().map(|(f, l)| (*f, l.as_str())).collect();
        assert_eq!(writes, expected);
    }

    #[test]
    fn device_rules_are_checked() {
        let untyped = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .build()
            .expect("builds");
        let r = DeviceRule::from_spec(&untyped).expect("defaults");
        assert_eq!(r.to_string(), "a *:* rwm");
        for (bad, why) in [
            (
                rule(true, LinuxDeviceType::P, 1, 3, "rwm"),
                "types a, b and c",
            ),
            (rule(true, LinuxDeviceType::C, 1, 3, "rwx"), "r, w and m"),
            (rule(true, LinuxDeviceType::C, 1, 3, ""), "no access"),
            (
                rule(true, LinuxDeviceType::C, 1 << 40, 3, "r"),
                "out of range",
            ),
        ] {
            let e = DeviceRule::from_spec(&bad).expect_err("refused");
            assert!(e.to_string().contains(why), "{e}");
        }
        // A hole in a wider allow rule would be ignored by v1: refused.
        let hole = rules(&[
            rule(false, LinuxDeviceType::A, -1, -1, "rwm"),
            rule(true, LinuxDeviceType::C, 1, -1, "rwm"),
            rule(false, LinuxDeviceType::C, 1, 3, "w"),
        ]);
        let e = DeviceState::of(&hole).expect_err("hole refused");
        assert!(
            e.to_string()
                .contains("cannot punch a hole in the wider rule \"c 1:* rwm\""),
            "{e}"
        );
        let state = DeviceState::of(&rules(&null_and_read_only_zero())).expect("valid");
        assert!(!state.default_allow);
        let expected: BTreeMap<DeviceKey, u8> = [
            ((DeviceKind::Char, Some(1), Some(3)), 7),
            (
                (DeviceKind::Char, Some(1), Some(5)),
                Access::READ | Access::MKNOD,
            ),
        ]
        .into();
        assert_eq!(state.exceptions, expected);
        // "a" resets: a later allow-all wins.
        let reset = rules(&[
            rule(true, LinuxDeviceType::C, 1, 3, "rwm"),
            rule(true, LinuxDeviceType::A, -1, -1, "rwm"),
        ]);
        assert_eq!(
            DeviceState::of(&reset).expect("valid"),
            DeviceState {
                default_allow: true,
                exceptions: BTreeMap::new()
            }
        );
    }

    #[test]
    fn device_program_is_runcs() {
        let state = DeviceState {
            default_allow: false,
            exceptions: [
                ((DeviceKind::Char, Some(1), Some(3)), 7),
                (
                    (DeviceKind::Char, Some(136), None),
                    Access::READ | Access::WRITE,
                ),
            ]
            .into(),
        };
        let expected = vec![
            insn(LDX_W, R2, R1, 0, 0),
            insn(AND32_K, R2, 0, 0, 0xffff),
            insn(LDX_W, R3, R1, 0, 0),
            insn(RSH32_K, R3, 0, 0, 16),
            insn(LDX_W, R4, R1, 4, 0),
            insn(LDX_W, R5, R1, 8, 0),
            // c 1:3 rwm: no access test.
            insn(JNE_K, R2, 0, 4, 2),
            insn(JNE_K, R4, 0, 3, 1),
            insn(JNE_K, R5, 0, 2, 3),
            insn(MOV32_K, R0, 0, 0, 1),
            insn(EXIT, 0, 0, 0, 0),
            // c 136:* rw: the access asked must be within rw.
            insn(JNE_K, R2, 0, 6, 2),
            insn(MOV32_X, R1, R3, 0, 0),
            insn(AND32_K, R1, 0, 0, 6),
            insn(JNE_X, R1, R3, 3, 0),
            insn(JNE_K, R4, 0, 2, 136),
            insn(MOV32_K, R0, 0, 0, 1),
            insn(EXIT, 0, 0, 0, 0),
            // Default: deny.
            insn(MOV32_K, R0, 0, 0, 0),
            insn(EXIT, 0, 0, 0, 0),
        ];
        assert_eq!(device_program(&state), expected);
    }

    #[test]
    fn device_rules_limit_what_members_open() {
        let Some(scratch) = Scratch::new("device rules") else {
            return;
        };
        let path = scratch.path("dev");
        let mut r = LinuxResources::default();
        r.set_devices(Some(null_and_read_only_zero()));
        let cg = Cgroup::create(&path, Some(&r)).expect("create");
        if let Some(d) = dir_with(&path, "devices.list") {
            assert_eq!(file(&d, "devices.list"), "c 1:3 rwm\nc 1:5 rm");
        }
        assert_eq!(opens_in(&cg), "null-r\nnull-w\nzero-r\n");
    }

    /// The v2 path on any host with a cgroup2 hierarchy (hybrid ones too:
    /// the kernel runs the program besides the v1 rules).
    #[test]
    fn device_program_loads_and_filters() {
        let Some(scratch) = Scratch::new("device program") else {
            return;
        };
        let cg = Cgroup::create(&scratch.path("bpf"), None).expect("create");
        let Some(v2) = cg.v2() else {
            eprintln!("skipping device program: no cgroup2 hierarchy");
            return;
        };
        let state = DeviceState::of(&rules(&null_and_read_only_zero())).expect("valid");
        attach_device_filter(&v2.dir, &state).expect("load and attach");
        assert_eq!(opens_in(&cg), "null-r\nnull-w\nzero-r\n");
        // A deny list: all but writes to /dev/null.
        let deny = DeviceState::of(&rules(&[
            rule(true, LinuxDeviceType::A, -1, -1, "rwm"),
            rule(false, LinuxDeviceType::C, 1, 3, "w"),
        ]))
        .expect("valid");
        let cg = Cgroup::create(&scratch.path("bpf-deny"), None).expect("create");
        let dir = cg.v2().map(|h| h.dir.clone()).expect("cgroup2 as above");
        attach_device_filter(&dir, &deny).expect("load and attach");
        assert_eq!(opens_in(&cg), "null-r\nzero-r\nzero-w\nfull-r\n");
    }
}
