//! Tests of the seccomp compiler, with a small BPF interpreter for the
//! programs (`behaviour_tests` loads them in forked children).
use super::*;
use crate::runtime::spec::defaults::CAPABILITIES;
use crate::runtime::spec::seccomp::default_profile;
use crate::runtime::spec::CapSet;
use oci_spec::runtime::{
    LinuxSeccompArg, LinuxSeccompArgBuilder, LinuxSeccompBuilder, LinuxSyscallBuilder,
};

use LinuxSeccompAction as A;
use LinuxSeccompOperator as O;

pub(super) const ENOSYS: u32 = libc::ENOSYS.unsigned_abs();
pub(super) const EPERM: u32 = libc::EPERM.unsigned_abs();
pub(super) const EXDEV: u32 = libc::EXDEV.unsigned_abs();
pub(super) const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;

#[cfg(target_arch = "x86_64")]
pub(super) const NATIVE_ARCH: u32 = AUDIT_ARCH_X86_64;
#[cfg(target_arch = "aarch64")]
pub(super) const NATIVE_ARCH: u32 = AUDIT_ARCH_AARCH64;
/// `AUDIT_ARCH_I386`: 32-bit x86 (and `int 0x80` from x86_64 code).
pub(super) const AUDIT_ARCH_I386: u32 = 0x4000_0003;

pub(super) fn errno(e: u32) -> u32 {
    libc::SECCOMP_RET_ERRNO | e
}

pub(super) fn nr(name: &str) -> u32 {
    syscall_number(name).expect("a native system call")
}

pub(super) fn arg(
    index: usize,
    op: LinuxSeccompOperator,
    value: u64,
    two: Option<u64>,
) -> LinuxSeccompArg {
    let b = LinuxSeccompArgBuilder::default()
        .index(index)
        .op(op)
        .value(value);
    match two {
        Some(two) => b.value_two(two),
        None => b,
    }
    .build()
    .expect("argument")
}

pub(super) fn call(
    names: &[&str],
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    args: Vec<LinuxSeccompArg>,
) -> LinuxSyscall {
    let mut c = LinuxSyscallBuilder::default()
        .names(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .action(action)
        .build()
        .expect("syscall");
    c.set_errno_ret(errno_ret);
    c.set_args((!args.is_empty()).then_some(args));
    c
}

pub(super) fn profile(
    default: LinuxSeccompAction,
    errno_ret: Option<u32>,
    calls: Vec<LinuxSyscall>,
) -> LinuxSeccomp {
    let mut s = LinuxSeccompBuilder::default()
        .default_action(default)
        .syscalls(calls)
        .build()
        .expect("profile");
    s.set_default_errno_ret(errno_ret);
    s
}

/// A classic BPF interpreter for the instructions the compiler writes:
/// what the kernel returns for a call, and how many instructions ran.
pub(super) fn run_counted(p: &Program, arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
    const LD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
    const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
    const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let insns = p.instructions();
    let (mut pc, mut acc, mut steps) = (0usize, 0u32, 0usize);
    loop {
        let i = insns[pc];
        steps += 1;
        let k = i.k as usize;
        let cond = |c: bool| pc + 1 + usize::from(if c { i.jt } else { i.jf });
        pc = match i.code {
            LD => {
                assert!(k % 4 == 0 && k < 64, "load at {k}");
                acc = u32::from_le_bytes(data[k..k + 4].try_into().expect("4 bytes"));
                pc + 1
            }
            AND => {
                acc &= i.k;
                pc + 1
            }
            JA => pc + 1 + k,
            JEQ => cond(acc == i.k),
            JGT => cond(acc > i.k),
            JGE => cond(acc >= i.k),
            RET => return (i.k, steps),
            code => panic!("unexpected opcode {code:#x} at {pc}"),
        };
        assert!(pc < insns.len(), "jump out of the program");
    }
}

pub(super) fn run(p: &Program, nr: u32, args: [u64; 6]) -> u32 {
    run_counted(p, NATIVE_ARCH, nr, args).0
}

pub(super) fn default_caps() -> CapSet {
    (0..64)
        .filter(|&n| CAPABILITIES.iter().any(|c| CapSet::from_iter([n]).has(c)))
        .collect()
}

pub(super) fn default_oci(caps: CapSet) -> LinuxSeccomp {
    default_profile()
        .to_oci(caps, (6, 18))
        .expect("default profile")
}

#[test]
fn name_tables() {
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(syscall_number("read"), Some(0));
        assert_eq!(syscall_number("getppid"), Some(110));
        assert_eq!(syscall_number("io_pgetevents"), Some(333));
        assert_eq!(syscall_number("arch_prctl"), Some(158));
        assert_eq!(syscall_number("arm_fadvise64_64"), None);
    }
    #[cfg(target_arch = "aarch64")]
    {
        assert_eq!(syscall_number("read"), Some(63));
        assert_eq!(syscall_number("renameat"), Some(38));
        assert_eq!(syscall_number("open"), None);
    }
    assert_eq!(syscall_number("cachestat"), Some(451));
    assert_eq!(syscall_number("fchmodat2"), Some(452));
    assert_eq!(syscall_number("futex_requeue"), Some(456));
    assert_eq!(syscall_number("SYS_read"), None);

    let native = Native::current().expect("native");
    let mut names: Vec<&str> = native
        .libc
        .iter()
        .map(|(s, _)| s.strip_prefix("SYS_").expect("SYS_ prefix"))
        .chain(native.extra.iter().map(|(n, _)| *n))
        .collect();
    let mut numbers: Vec<u32> = native
        .libc
        .iter()
        .chain(native.extra)
        .map(|e| e.1)
        .collect();
    assert!(names.len() > 300);
    for name in &names {
        assert!(is_linux_syscall(name), "{name} missing from LINUX_SYSCALLS");
    }
    names.sort_unstable();
    numbers.sort_unstable();
    let count = names.len();
    names.dedup();
    numbers.dedup();
    assert_eq!(names.len(), count, "a name twice");
    assert_eq!(numbers.len(), count, "a number twice");
    assert!(numbers.iter().all(|&n| n < X32_SYSCALL_BIT));
    assert!(LINUX_SYSCALLS.windows(2).all(|w| w[0] < w[1]), "sorted");
    for other in [
        "s390_runtime_instr",
        "sync_file_range2",
        "_llseek",
        "breakpoint",
        "set_tls",
    ] {
        assert!(is_linux_syscall(other), "{other}");
    }
    assert!(!is_linux_syscall("foo"));
}

#[test]
fn unknown_names_are_errors_and_other_arches_names_skipped() {
    let err = compile(&profile(
        A::ScmpActAllow,
        None,
        vec![call(&["getpid", "foo"], A::ScmpActErrno, None, vec![])],
    ))
    .expect_err("foo is no system call");
    assert_eq!(
        err.to_string(),
        "seccomp profile names unknown system call \"foo\""
    );
    let foreign = if cfg!(target_arch = "x86_64") {
        "arm_fadvise64_64"
    } else {
        "arch_prctl"
    };
    let p = compile(&profile(
        A::ScmpActAllow,
        None,
        vec![call(&[foreign, "getpid"], A::ScmpActErrno, None, vec![])],
    ))
    .expect("skips the other architecture's call");
    assert_eq!(run(&p, nr("getpid"), [0; 6]), errno(EPERM));
    assert_eq!(run(&p, nr("getppid"), [0; 6]), ALLOW);
}

#[test]
fn notify_and_bad_values_are_refused() {
    let err = compile(&profile(
        A::ScmpActAllow,
        None,
        vec![call(&["getpid"], A::ScmpActNotify, None, vec![])],
    ))
    .expect_err("notify");
    assert_eq!(
        err.to_string(),
        "seccomp action SCMP_ACT_NOTIFY is not supported by skiff's runtime"
    );
    assert!(matches!(
        compile(&profile(A::ScmpActNotify, None, vec![])),
        Err(SeccompCompileError::UnsupportedAction { .. })
    ));
    assert!(matches!(
        compile(&profile(A::ScmpActErrno, Some(70000), vec![])),
        Err(SeccompCompileError::ErrnoOutOfRange { errno: 70000 })
    ));
    let err = compile(&profile(
        A::ScmpActAllow,
        None,
        vec![call(
            &["getpid"],
            A::ScmpActErrno,
            None,
            vec![arg(6, O::ScmpCmpEq, 0, None)],
        )],
    ))
    .expect_err("argument 6");
    assert_eq!(
        err.to_string(),
        "seccomp rule for \"getpid\" compares argument 6, but system calls have arguments 0 to 5"
    );
}

#[test]
fn actions_and_errno_defaults() {
    let cases = [
        (A::ScmpActAllow, None, ALLOW),
        (A::ScmpActErrno, None, errno(EPERM)),
        (A::ScmpActErrno, Some(ENOSYS), errno(ENOSYS)),
        (A::ScmpActKill, None, libc::SECCOMP_RET_KILL_THREAD),
        (A::ScmpActKillThread, None, libc::SECCOMP_RET_KILL_THREAD),
        (A::ScmpActKillProcess, None, libc::SECCOMP_RET_KILL_PROCESS),
        (A::ScmpActTrap, None, libc::SECCOMP_RET_TRAP),
        (A::ScmpActTrace, None, libc::SECCOMP_RET_TRACE | EPERM),
        (A::ScmpActTrace, Some(7), libc::SECCOMP_RET_TRACE | 7),
        (A::ScmpActLog, None, libc::SECCOMP_RET_LOG),
    ];
    for (action, errno_ret, want) in cases {
        let p = compile(&profile(
            A::ScmpActErrno,
            Some(EXDEV),
            vec![call(&["getpid"], action, errno_ret, vec![])],
        ))
        .expect("compile");
        assert_eq!(run(&p, nr("getpid"), [0; 6]), want, "{action}");
        assert_eq!(run(&p, nr("getppid"), [0; 6]), errno(EXDEV), "{action}");
        let p = compile(&profile(action, errno_ret, vec![])).expect("compile");
        assert_eq!(run(&p, nr("getpid"), [0; 6]), want, "default {action}");
    }
}

#[test]
fn foreign_arches_and_x32_get_the_default_action() {
    let p = compile(&profile(
        A::ScmpActErrno,
        Some(EXDEV),
        vec![call(&["getpid", "read"], A::ScmpActAllow, None, vec![])],
    ))
    .expect("compile");
    let getpid = nr("getpid");
    assert_eq!(run(&p, getpid, [0; 6]), ALLOW);
    assert_eq!(
        run_counted(&p, AUDIT_ARCH_I386, getpid, [0; 6]).0,
        errno(EXDEV)
    );
    assert_eq!(run_counted(&p, 0x4000_0028, getpid, [0; 6]).0, errno(EXDEV));
    #[cfg(target_arch = "x86_64")]
    {
        // The search would send x32 numbers to the default action too;
        // the explicit test keeps that true whatever the tables hold.
        let x32 = p.instructions()[3];
        assert_eq!(
            (x32.code, x32.k),
            (
                (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16,
                X32_SYSCALL_BIT
            )
        );
        assert_eq!(run(&p, getpid | X32_SYSCALL_BIT, [0; 6]), errno(EXDEV));
        assert_eq!(run(&p, X32_SYSCALL_BIT, [0; 6]), errno(EXDEV));
    }
    assert_eq!(run(&p, u32::MAX, [0; 6]), errno(EXDEV));
}

/// Every operator against values around word boundaries, checked
/// against the same comparison on u64.
#[test]
fn argument_comparisons_are_64_bit() {
    let interesting = [
        0,
        1,
        0xffff_fffe,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0001,
        0x1_ffff_ffff,
        0x2_0000_0001,
        0x8000_0000_0000_0000,
        u64::MAX - 1,
        u64::MAX,
    ];
    let ops = [
        O::ScmpCmpNe,
        O::ScmpCmpLt,
        O::ScmpCmpLe,
        O::ScmpCmpEq,
        O::ScmpCmpGe,
        O::ScmpCmpGt,
        O::ScmpCmpMaskedEq,
    ];
    let hit = errno(EPERM);
    for op in ops {
        for &value in &interesting {
            let index = (value % 6) as usize;
            let two = 0x1_0000_0001 & value;
            let p = compile(&profile(
                A::ScmpActAllow,
                None,
                vec![call(
                    &["getppid"],
                    A::ScmpActErrno,
                    None,
                    vec![arg(index, op, value, Some(two))],
                )],
            ))
            .expect("compile");
            for &a in &interesting {
                let holds = match op {
                    O::ScmpCmpNe => a != value,
                    O::ScmpCmpLt => a < value,
                    O::ScmpCmpLe => a <= value,
                    O::ScmpCmpEq => a == value,
                    O::ScmpCmpGe => a >= value,
                    O::ScmpCmpGt => a > value,
                    O::ScmpCmpMaskedEq => a & value == two,
                };
                let mut args = [0x5555_5555_5555_5555; 6];
                args[index] = a;
                let want = if holds { hit } else { ALLOW };
                assert_eq!(
                    run(&p, nr("getppid"), args),
                    want,
                    "arg{index} = {a:#x} {op} {value:#x} (value two {two:#x})"
                );
            }
        }
    }
}

#[test]
fn comparison_code_for_eq() {
    let p = compile(&profile(
        A::ScmpActAllow,
        None,
        vec![call(
            &["getppid"],
            A::ScmpActErrno,
            Some(EXDEV),
            vec![arg(1, O::ScmpCmpEq, 0x1_0000_0002, None)],
        )],
    ))
    .expect("compile");
    // arg1's high word at 16 + 8 + 4, then its low word at 16 + 8.
    let code: Vec<(u16, u32)> = p.instructions().iter().map(|i| (i.code, i.k)).collect();
    let ld = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    let jeq = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    let at = code
        .windows(4)
        .position(|w| w == [(ld, 28), (jeq, 1), (ld, 24), (jeq, 2)])
        .expect("high word, then low word");
    assert_eq!(
        p.instructions()[at + 1].jt,
        0,
        "equal high word falls into the low word"
    );
}

#[test]
fn first_matching_rule_decides() {
    let p = compile(&profile(
        A::ScmpActErrno,
        Some(ENOSYS),
        vec![
            call(
                &["getppid"],
                A::ScmpActErrno,
                Some(1),
                vec![arg(0, O::ScmpCmpEq, 1, None)],
            ),
            call(
                &["getppid"],
                A::ScmpActErrno,
                Some(2),
                vec![arg(0, O::ScmpCmpGe, 1, None), arg(1, O::ScmpCmpEq, 5, None)],
            ),
            call(
                &["getppid"],
                A::ScmpActAllow,
                None,
                vec![arg(0, O::ScmpCmpLt, 10, None)],
            ),
            call(&["getpid", "getppid"], A::ScmpActErrno, Some(3), vec![]),
            call(&["getpid"], A::ScmpActAllow, None, vec![]),
        ],
    ))
    .expect("compile");
    let getppid = nr("getppid");
    assert_eq!(run(&p, getppid, [1, 5, 0, 0, 0, 0]), errno(1));
    assert_eq!(run(&p, getppid, [2, 5, 0, 0, 0, 0]), errno(2));
    assert_eq!(run(&p, getppid, [2, 4, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run(&p, getppid, [0, 5, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run(&p, getppid, [10, 4, 0, 0, 0, 0]), errno(3));
    // The unconditional rule for getpid comes first.
    assert_eq!(run(&p, nr("getpid"), [0; 6]), errno(3));
    assert_eq!(run(&p, nr("gettid"), [0; 6]), errno(ENOSYS));
}

#[test]
fn default_profile_compiles_for_every_capability_set() {
    for caps in [CapSet::EMPTY, default_caps(), CapSet::all()] {
        let p = compile(&default_oci(caps)).expect("the default profile compiles");
        assert!(p.len() < 1000, "{} instructions", p.len());
        assert_eq!(p.flags(), 0);
    }
    let p = compile(&default_oci(default_caps())).expect("compile");
    let allowed = [
        "read",
        "write",
        "getpid",
        "execve",
        "exit_group",
        "clone3",
        "fchmodat2",
    ];
    for name in allowed {
        assert_eq!(run(&p, nr(name), [0; 6]), ALLOW, "{name}");
    }
    for name in ["kexec_load", "bpf", "userfaultfd", "open_by_handle_at"] {
        assert_eq!(run(&p, nr(name), [0; 6]), errno(EPERM), "{name}");
    }
    assert_eq!(run(&p, nr("add_key"), [0; 6]), errno(ENOSYS));
    assert_eq!(
        run(&p, nr("personality"), [0xffff_ffff, 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(
        run(&p, nr("personality"), [0x1234, 0, 0, 0, 0, 0]),
        errno(ENOSYS)
    );
    // socket: AF_VSOCK refused, netlink audit EINVAL without CAP_AUDIT_WRITE.
    let socket = nr("socket");
    assert_eq!(run(&p, socket, [40, 1, 0, 0, 0, 0]), errno(EPERM));
    assert_eq!(run(&p, socket, [16, 3, 9, 0, 0, 0]), errno(22));
    assert_eq!(run(&p, socket, [16, 3, 0, 0, 0, 0]), ALLOW);
    assert_eq!(run(&p, socket, [1, 1, 0, 0, 0, 0]), ALLOW);
}

/// Every call the filter decides without looking at arguments takes a
/// handful of comparisons, not one per allowed call.
#[test]
fn lookup_is_a_binary_search() {
    let p = compile(&default_oci(default_caps())).expect("compile");
    let with_args = [nr("socket"), nr("personality")];
    let worst = (0..600)
        .filter(|n| !with_args.contains(n))
        .map(|n| run_counted(&p, NATIVE_ARCH, n, [0; 6]).1)
        .max()
        .expect("calls");
    // Prologue (4 instructions) plus about log2(ranges) jumps.
    assert!(worst <= 16, "{worst} instructions for the worst call");
}

/// A program longer than a conditional jump reaches, every rule in
/// reach through bridges.
#[test]
fn far_jumps_are_bridged() {
    let native = Native::current().expect("native");
    let names: Vec<&str> = native
        .libc
        .iter()
        .filter_map(|(s, _)| s.strip_prefix("SYS_"))
        .take(200)
        .collect();
    let calls = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            call(
                &[*name],
                A::ScmpActErrno,
                Some(i as u32 + 1),
                vec![arg(i % 6, O::ScmpCmpEq, i as u64, None)],
            )
        })
        .collect();
    let p = compile(&profile(A::ScmpActAllow, None, calls)).expect("compile");
    assert!(p.len() > 1000, "{} instructions", p.len());
    let ja = (libc::BPF_JMP | libc::BPF_JA) as u16;
    assert!(p.instructions().iter().any(|i| i.code == ja), "no bridge");
    for (i, name) in names.iter().enumerate() {
        let mut args = [0u64; 6];
        args[i % 6] = i as u64;
        assert_eq!(run(&p, nr(name), args), errno(i as u32 + 1), "{name}");
        args[i % 6] = i as u64 + 1;
        assert_eq!(run(&p, nr(name), args), ALLOW, "{name}");
    }
}

/// With jumps reaching a single instruction, nearly every target needs
/// a bridge; the program must still decide every call as before.
#[test]
fn short_reach_programs_decide_the_same() {
    for caps in [CapSet::EMPTY, default_caps()] {
        let s = default_oci(caps);
        let normal = compile(&s).expect("compile");
        let short = compile_with_reach(&s, 1).expect("compile");
        assert!(short.len() > normal.len());
        assert!(short.instructions().iter().all(|i| i.jt <= 1 && i.jf <= 1));
        let args = [
            [0; 6],
            [0xffff_ffff, 0, 0, 0, 0, 0],
            [8, 0, 0, 0, 0, 0],
            [40, 1, 0, 0, 0, 0],
            [16, 3, 9, 0, 0, 0],
            [16, 3, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0],
        ];
        for arch in [NATIVE_ARCH, AUDIT_ARCH_I386] {
            for n in (0..600).chain([X32_SYSCALL_BIT | 39, u32::MAX]) {
                for a in args {
                    assert_eq!(
                        run_counted(&short, arch, n, a).0,
                        run_counted(&normal, arch, n, a).0,
                        "call {n:#x} with {a:x?} on {arch:#x}"
                    );
                }
            }
        }
    }
}

#[test]
fn too_long_is_an_error() {
    let calls = (0..1500)
        .map(|i| {
            call(
                &["getppid"],
                A::ScmpActErrno,
                None,
                vec![arg(0, O::ScmpCmpEq, i, None)],
            )
        })
        .collect();
    let err = compile(&profile(A::ScmpActAllow, None, calls)).expect_err("too long");
    assert!(matches!(err, SeccompCompileError::TooLong { len } if len > MAX_INSTRUCTIONS));
}

#[test]
fn flags_are_kept() {
    let mut s = profile(A::ScmpActAllow, None, vec![]);
    s.set_flags(Some(vec![
        LinuxSeccompFilterFlag::SeccompFilterFlagLog,
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow,
    ]));
    let p = compile(&s).expect("compile");
    assert_eq!(
        p.flags(),
        libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
    );
}

#[test]
fn cache_hits_and_recompiles_corrupt_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("seccomp");
    let s = default_oci(default_caps());
    let (first, outcome) = compile_cached_outcome(&s, &cache).expect("compile");
    assert_eq!(outcome, CacheOutcome::Compiled);
    let (second, outcome) = compile_cached_outcome(&s, &cache).expect("cached");
    assert_eq!(outcome, CacheOutcome::Hit);
    let same = |a: &Program, b: &Program| {
        a.flags() == b.flags()
            && a.len() == b.len()
            && a.instructions()
                .iter()
                .zip(b.instructions())
                .all(|(x, y)| (x.code, x.jt, x.jf, x.k) == (y.code, y.jt, y.jf, y.k))
    };
    assert!(same(&first, &second));

    let files: Vec<_> = std::fs::read_dir(&cache)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one file, no temporary left: {files:?}");
    let file = &files[0];
    let good = std::fs::read(file).expect("read");

    let mut flipped = good.clone();
    flipped[CACHE_HEADER + 5] ^= 1;
    for bad in [flipped, good[..good.len() / 2].to_vec(), Vec::new()] {
        std::fs::write(file, &bad).expect("corrupt");
        let (p, outcome) = compile_cached_outcome(&s, &cache).expect("recompile");
        assert_eq!(outcome, CacheOutcome::Compiled);
        assert!(same(&p, &first));
        assert_eq!(std::fs::read(file).expect("read"), good, "rewritten");
    }

    let other = default_oci(CapSet::all());
    let (_, outcome) = compile_cached_outcome(&other, &cache).expect("compile");
    assert_eq!(
        outcome,
        CacheOutcome::Compiled,
        "another profile, another key"
    );
    let p = compile_cached(&other, &cache).expect("cached");
    assert!(!p.is_empty());
}

/// Compile and cache timings for the default profile, for the record:
/// `cargo test --lib runtime::builtin::seccomp -- --ignored --nocapture`.
#[test]
#[ignore = "prints timings"]
fn default_profile_timings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = default_oci(default_caps());
    let runs = 200u32;
    let start = std::time::Instant::now();
    for _ in 0..runs {
        compile(&s).expect("compile");
    }
    let compile_time = start.elapsed() / runs;
    let _ = compile_cached(&s, dir.path()).expect("fill");
    let start = std::time::Instant::now();
    for _ in 0..runs {
        let (_, outcome) = compile_cached_outcome(&s, dir.path()).expect("hit");
        assert_eq!(outcome, CacheOutcome::Hit);
    }
    let cached_time = start.elapsed() / runs;
    let p = compile(&s).expect("compile");
    eprintln!(
        "default profile: {} instructions; compile {compile_time:?}, cached load {cached_time:?}",
        p.len()
    );
}
