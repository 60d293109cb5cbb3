//! Tests of compiled seccomp filters in action: a forked child loads the
//! filter and makes real calls.
use super::tests::*;
use super::*;
use crate::runtime::spec::CapSet;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};

use LinuxSeccompAction as A;
use LinuxSeccompOperator as O;

// Behaviour: a forked child loads the filter and makes real calls.

/// A raw system call with integer arguments: its result or errno.
fn sys(nr: libc::c_long, a: [u64; 6]) -> Result<i64, u32> {
    // SAFETY: the calls the tests make take integers, or pointers the
    // tests pass as null so the kernel fails with EFAULT rather than
    // touch memory; no call changes memory Rust owns.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r == -1 {
        Err(nix::errno::Errno::last_raw().unsigned_abs())
    } else {
        Ok(r)
    }
}

fn fails_with(nr: libc::c_long, a: [u64; 6], e: u32) -> bool {
    sys(nr, a) == Err(e)
}

fn works(nr: libc::c_long, a: [u64; 6]) -> bool {
    sys(nr, a).is_ok()
}

type Check = (&'static str, fn() -> bool);

/// Fork; in the child set no_new_privs, load `program` (if any) and run
/// `checks`. The child allocates nothing and leaves with _exit (which
/// also proves exit_group works): code 0 when every check held, 101 or
/// 102 when prctl or the load failed, else 1 + the failing check.
fn child_status(program: Option<&Program>, checks: &[Check]) -> WaitStatus {
    // SAFETY: the child only makes system calls (prctl, seccomp, the
    // checks' raw calls) and leaves with _exit: it takes no lock another
    // thread of the test process may hold and allocates nothing.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            let code = if nix::sys::prctl::set_no_new_privs().is_err() {
                101
            } else if program.is_some_and(|p| p.load().is_err()) {
                102
            } else {
                checks
                    .iter()
                    .position(|(_, check)| !check())
                    .map_or(0, |i| i as i32 + 1)
            };
            // SAFETY: ends the child at once, running no destructor or
            // atexit handler of the parent's copy.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => waitpid(child, None).expect("waitpid"),
    }
}

/// [`child_status`] with `program`, panicking with the failed check.
fn in_child(program: &Program, checks: &[Check]) {
    match child_status(Some(program), checks) {
        WaitStatus::Exited(_, 0) => {}
        WaitStatus::Exited(_, 101) => panic!("prctl(PR_SET_NO_NEW_PRIVS) failed"),
        WaitStatus::Exited(_, 102) => panic!("loading the filter failed"),
        WaitStatus::Exited(_, n) => {
            let name = usize::try_from(n - 1)
                .ok()
                .and_then(|i| checks.get(i))
                .map_or("?", |c| c.0);
            panic!("check failed in the child: {name}")
        }
        other => panic!("child ended with {other:?}"),
    }
}

#[test]
fn child_allow_list_with_enosys_default() {
    let allowed = [
        "getpid",
        "write",
        "exit_group",
        "exit",
        "rt_sigreturn",
        "rt_sigprocmask",
    ];
    let p = compile(&profile(
        A::ScmpActErrno,
        Some(ENOSYS),
        vec![call(&allowed, A::ScmpActAllow, None, vec![])],
    ))
    .expect("compile");
    in_child(
        &p,
        &[
            ("getpid works", || works(libc::SYS_getpid, [0; 6])),
            ("write reaches the kernel", || {
                fails_with(
                    libc::SYS_write,
                    [u64::MAX, 0, 0, 0, 0, 0],
                    libc::EBADF.unsigned_abs(),
                )
            }),
            ("getppid fails with ENOSYS", || {
                fails_with(libc::SYS_getppid, [0; 6], ENOSYS)
            }),
            ("gettid fails with ENOSYS", || {
                fails_with(libc::SYS_gettid, [0; 6], ENOSYS)
            }),
        ],
    );
}

#[test]
fn child_argument_rules() {
    let p = compile(&profile(
        A::ScmpActAllow,
        None,
        vec![
            // personality(0xffffffff) only queries the persona.
            call(
                &["personality"],
                A::ScmpActErrno,
                Some(EPERM),
                vec![arg(0, O::ScmpCmpEq, 0xffff_ffff, None)],
            ),
            call(
                &["getppid"],
                A::ScmpActErrno,
                Some(EXDEV),
                vec![arg(0, O::ScmpCmpEq, 0x1_0000_0001, None)],
            ),
            // Bit 33 set and bit 0 clear in arg 2.
            call(
                &["getppid"],
                A::ScmpActErrno,
                Some(EPERM),
                vec![arg(
                    2,
                    O::ScmpCmpMaskedEq,
                    0x2_0000_0001,
                    Some(0x2_0000_0000),
                )],
            ),
            call(
                &["gettid"],
                A::ScmpActErrno,
                Some(EPERM),
                vec![arg(1, O::ScmpCmpGt, 0x1_0000_0000, None)],
            ),
        ],
    ))
    .expect("compile");
    in_child(
        &p,
        &[
            ("personality(0xffffffff) refused", || {
                fails_with(libc::SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0], EPERM)
            }),
            ("getppid(0x1_0000_0001) refused", || {
                fails_with(libc::SYS_getppid, [0x1_0000_0001, 0, 0, 0, 0, 0], EXDEV)
            }),
            ("getppid(1): high word checked", || {
                works(libc::SYS_getppid, [1, 0, 0, 0, 0, 0])
            }),
            ("getppid(0x2_0000_0001)", || {
                works(libc::SYS_getppid, [0x2_0000_0001, 0, 0, 0, 0, 0])
            }),
            ("getppid masked match refused", || {
                fails_with(libc::SYS_getppid, [0, 0, 0x6_0000_0010, 0, 0, 0], EPERM)
            }),
            ("getppid masked mismatch (bit 0)", || {
                works(libc::SYS_getppid, [0, 0, 0x6_0000_0011, 0, 0, 0])
            }),
            ("getppid masked mismatch (bit 33)", || {
                works(libc::SYS_getppid, [0, 0, 0x0_0000_0010, 0, 0, 0])
            }),
            ("gettid(_, 0x1_0000_0001) refused", || {
                fails_with(libc::SYS_gettid, [0, 0x1_0000_0001, 0, 0, 0, 0], EPERM)
            }),
            ("gettid(_, 0xffffffff) works", || {
                works(libc::SYS_gettid, [0, 0xffff_ffff, 0, 0, 0, 0])
            }),
        ],
    );
}

#[test]
fn child_default_profile() {
    let p = compile(&default_oci(default_caps())).expect("compile");
    in_child(
        &p,
        &[
            ("getpid", || works(libc::SYS_getpid, [0; 6])),
            ("getppid", || works(libc::SYS_getppid, [0; 6])),
            ("write reaches the kernel", || {
                fails_with(
                    libc::SYS_write,
                    [u64::MAX, 0, 0, 0, 0, 0],
                    libc::EBADF.unsigned_abs(),
                )
            }),
            ("socketpair + close", || {
                let mut fds = [0 as libc::c_int; 2];
                // SAFETY: `fds` is a live array of two ints the kernel fills.
                let r = unsafe {
                    libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr())
                };
                r == 0
                    && works(libc::SYS_close, [fds[0] as u64, 0, 0, 0, 0, 0])
                    && works(libc::SYS_close, [fds[1] as u64, 0, 0, 0, 0, 0])
            }),
            ("personality query", || {
                works(libc::SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0])
            }),
            ("other personas ENOSYS", || {
                fails_with(libc::SYS_personality, [0x1234, 0, 0, 0, 0, 0], ENOSYS)
            }),
            // Flags the kernel rejects, should the filter let it through.
            ("kexec_load EPERM", || {
                fails_with(
                    libc::SYS_kexec_load,
                    [0, 0, 0, u64::from(u32::MAX), 0, 0],
                    EPERM,
                )
            }),
            ("userfaultfd EPERM", || {
                fails_with(
                    libc::SYS_userfaultfd,
                    [u64::from(u32::MAX), 0, 0, 0, 0, 0],
                    EPERM,
                )
            }),
            ("swapoff EPERM", || {
                fails_with(libc::SYS_swapoff, [0; 6], EPERM)
            }),
            ("bpf EPERM without CAP_SYS_ADMIN", || {
                fails_with(libc::SYS_bpf, [u64::from(u32::MAX), 0, 0, 0, 0, 0], EPERM)
            }),
            ("add_key unknown to the profile: ENOSYS", || {
                fails_with(libc::SYS_add_key, [0; 6], ENOSYS)
            }),
            ("socket(AF_VSOCK) EPERM", || {
                fails_with(libc::SYS_socket, [40, 1, 0, 0, 0, 0], EPERM)
            }),
            ("netlink audit EINVAL", || {
                fails_with(libc::SYS_socket, [16, 3, 9, 0, 0, 0], 22)
            }),
        ],
    );
}

#[test]
fn child_default_profile_without_capabilities() {
    let p = compile(&default_oci(CapSet::EMPTY)).expect("compile");
    in_child(
        &p,
        &[
            ("chroot EPERM without CAP_SYS_CHROOT", || {
                fails_with(libc::SYS_chroot, [0; 6], EPERM)
            }),
            ("getpid", || works(libc::SYS_getpid, [0; 6])),
        ],
    );
}

/// x32 numbers and i386 calls (`int 0x80`) get the default action
/// even when the native call of that number is allowed.
#[cfg(target_arch = "x86_64")]
#[test]
fn child_foreign_abis_get_the_default_action() {
    /// getpid through the i386 entry point.
    fn int80_getpid() -> i64 {
        let mut eax: u32 = 20;
        // SAFETY: i386 getpid (20) takes no arguments and touches no
        // memory; r8-r11 are declared clobbered for kernels that did not
        // preserve them across `int 0x80`.
        unsafe {
            std::arch::asm!(
                "int 0x80",
                inout("eax") eax,
                lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
                options(nostack)
            );
        }
        i64::from(eax as i32)
    }
    assert_eq!(nr("getpid"), 39);
    let p = compile(&profile(
        A::ScmpActErrno,
        Some(EXDEV),
        vec![call(
            &["getpid", "exit_group", "exit"],
            A::ScmpActAllow,
            None,
            vec![],
        )],
    ))
    .expect("compile");
    in_child(
        &p,
        &[
            ("native getpid", || works(libc::SYS_getpid, [0; 6])),
            ("x32 getpid gets EXDEV", || {
                fails_with(i64::from(X32_SYSCALL_BIT | 39), [0; 6], EXDEV)
            }),
        ],
    );
    // Without a filter, int 0x80 getpid returns the pid; a kernel
    // without IA32 emulation kills the caller instead.
    let probe: [Check; 1] = [("int 0x80 getpid", || int80_getpid() > 0)];
    if !matches!(child_status(None, &probe), WaitStatus::Exited(_, 0)) {
        eprintln!("skipping the i386 check: int 0x80 does not work on this kernel");
        return;
    }
    in_child(
        &p,
        &[("i386 getpid gets EXDEV", || {
            int80_getpid() == -i64::from(EXDEV)
        })],
    );
}
