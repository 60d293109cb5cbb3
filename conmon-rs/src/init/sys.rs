//! Thin wrappers around the raw Linux system calls skiff-init uses, and (in
//! `rt`) what libc would otherwise provide, the entry point first: the only
//! module of the init that needs `unsafe`. Arguments and results are the
//! kernel's own.
#![allow(unsafe_code)]

mod rt;

use core::arch::asm;
use core::ffi::{c_char, CStr};

/// A negative kernel return value, as a positive errno number.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

pub const ENOENT: Errno = Errno(2);
pub const EINTR: Errno = Errno(4);
pub const ENOEXEC: Errno = Errno(8);
pub const ECHILD: Errno = Errno(10);
pub const EAGAIN: Errno = Errno(11);
pub const EACCES: Errno = Errno(13);
pub const ENOTDIR: Errno = Errno(20);

// Signal numbers are the same on x86_64 and aarch64.
pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGTERM: i32 = 15;
pub const SIGCHLD: i32 = 17;

#[cfg(target_arch = "x86_64")]
mod nr {
    pub const WRITE: usize = 1;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const IOCTL: usize = 16;
    pub const GETPID: usize = 39;
    pub const FORK: usize = 57;
    pub const FCNTL: usize = 72;
    pub const EXECVE: usize = 59;
    pub const WAIT4: usize = 61;
    pub const KILL: usize = 62;
    pub const SETPGID: usize = 109;
    pub const RT_SIGTIMEDWAIT: usize = 128;
    pub const EXIT_GROUP: usize = 231;
}

#[cfg(target_arch = "aarch64")]
mod nr {
    pub const FCNTL: usize = 25;
    pub const IOCTL: usize = 29;
    pub const WRITE: usize = 64;
    pub const EXIT_GROUP: usize = 94;
    pub const KILL: usize = 129;
    pub const RT_SIGPROCMASK: usize = 135;
    pub const RT_SIGTIMEDWAIT: usize = 137;
    pub const SETPGID: usize = 154;
    pub const GETPID: usize = 172;
    pub const CLONE: usize = 220;
    pub const EXECVE: usize = 221;
    pub const WAIT4: usize = 260;
}

// ioctl requests from asm-generic, used by both architectures.
const TIOCGPGRP: usize = 0x540f;
const TIOCSPGRP: usize = 0x5410;

const SIG_BLOCK: usize = 0;
const SIG_SETMASK: usize = 2;
/// The kernel's sigset_t is 64 bits; the rt_* calls insist on that size.
const SET_SIZE: usize = 8;
/// wait4's pid for "any child" (-1).
const ANY_CHILD: usize = usize::MAX;
const WNOHANG: usize = 1;

/// Issues system call `nr` with up to six arguments (missing ones are 0).
///
/// # Safety
/// The arguments must be valid for that call: pointers must point to memory
/// of the size and mutability the kernel expects.
unsafe fn syscall<const N: usize>(nr: usize, args: [usize; N]) -> isize {
    const { assert!(N <= 6, "system calls take at most six arguments") };
    let a = |i: usize| args.get(i).copied().unwrap_or(0);
    let ret: isize;
    // SAFETY: the caller vouches for the arguments. x86_64's `syscall`
    // clobbers only rcx and r11 besides rax; aarch64's `svc 0` returns in x0
    // and preserves the rest. Neither touches the user stack.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a(0), in("rsi") a(1), in("rdx") a(2),
            in("r10") a(3), in("r8") a(4), in("r9") a(5),
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
        #[cfg(target_arch = "aarch64")]
        asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a(0) as isize => ret,
            in("x1") a(1), in("x2") a(2), in("x3") a(3), in("x4") a(4), in("x5") a(5),
            options(nostack),
        );
    }
    ret
}

/// A pointer as a system call argument.
fn ptr<T>(p: *const T) -> usize {
    p as usize
}

/// A pointer the kernel writes through, as a system call argument.
fn ptr_mut<T>(p: *mut T) -> usize {
    p as usize
}

/// Splits a raw return value into a result (-4095..-1 are errors).
fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// Writes all of `buf` to `fd`, retrying after interruptions; gives up
/// silently on errors, as there is nowhere left to report them.
pub fn write_all(fd: i32, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: `buf` is readable for `buf.len()` bytes.
        let ret = unsafe { syscall(nr::WRITE, [fd as usize, ptr(buf.as_ptr()), buf.len()]) };
        match check(ret) {
            Ok(0) => return,
            Ok(n) => buf = &buf[n.min(buf.len())..],
            Err(EINTR) => {}
            Err(_) => return,
        }
    }
}

/// Ends the process (all its threads) with `code`.
pub fn exit(code: i32) -> ! {
    // SAFETY: exit_group takes no pointers and never returns.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        asm!("syscall", in("rax") nr::EXIT_GROUP, in("rdi") code as isize, options(noreturn, nostack));
        #[cfg(target_arch = "aarch64")]
        asm!("svc 0", in("x8") nr::EXIT_GROUP, in("x0") code as isize, options(noreturn, nostack));
    }
}

/// A set of signals in the kernel's layout: bit `n - 1` is signal `n`.
#[derive(Clone, Copy)]
pub struct SigSet(#[expect(dead_code, reason = "only the kernel reads it")] u64);

impl SigSet {
    /// Every signal (the kernel quietly leaves out SIGKILL and SIGSTOP).
    pub const ALL: SigSet = SigSet(u64::MAX);
}

/// Blocks every signal; returns the previous mask.
pub fn block_all_signals() -> Result<SigSet, Errno> {
    let mut old = SigSet(0);
    let all = SigSet::ALL;
    // SAFETY: both pointers point to 8-byte sets, the size passed.
    let ret = unsafe {
        syscall(
            nr::RT_SIGPROCMASK,
            [SIG_BLOCK, ptr(&all), ptr_mut(&mut old), SET_SIZE],
        )
    };
    check(ret).map(|_| old)
}

/// Replaces the signal mask with `mask`.
pub fn set_signal_mask(mask: &SigSet) -> Result<(), Errno> {
    // SAFETY: `mask` points to an 8-byte set; no old mask is asked for.
    let ret = unsafe { syscall(nr::RT_SIGPROCMASK, [SIG_SETMASK, ptr(mask), 0, SET_SIZE]) };
    check(ret).map(|_| ())
}

/// Waits, without a time limit, for one of the (blocked) signals in `set`
/// and takes it; returns its number.
pub fn wait_signal(set: &SigSet) -> Result<i32, Errno> {
    // SAFETY: `set` points to an 8-byte set; the siginfo and timeout pointers
    // may be NULL (no details wanted, no timeout).
    let ret = unsafe { syscall(nr::RT_SIGTIMEDWAIT, [ptr(set), 0, 0, SET_SIZE]) };
    check(ret).map(|sig| sig as i32)
}

/// Forks: returns 0 in the child and the child's pid in the parent.
pub fn fork() -> Result<i32, Errno> {
    // SAFETY: a plain fork (aarch64 only has clone: with just the exit
    // signal, no new stack and no tid pointers, it is the same). The process
    // has a single thread and no locks, so the child may do anything.
    #[cfg(target_arch = "x86_64")]
    let ret = unsafe { syscall(nr::FORK, []) };
    #[cfg(target_arch = "aarch64")]
    let ret = unsafe { syscall(nr::CLONE, [SIGCHLD as usize]) };
    check(ret).map(|pid| pid as i32)
}

/// Reaps one exited child if there is one: `Ok(Some((pid, wait status)))`,
/// `Ok(None)` when children remain but none has exited yet.
pub fn reap_one() -> Result<Option<(i32, i32)>, Errno> {
    let mut status: i32 = 0;
    // SAFETY: `status` is a writable int; the rusage pointer may be NULL.
    let ret = unsafe { syscall(nr::WAIT4, [ANY_CHILD, ptr_mut(&mut status), WNOHANG]) };
    check(ret).map(|pid| (pid != 0).then_some((pid as i32, status)))
}

/// Marks descriptor `fd` close-on-exec.
pub fn set_cloexec(fd: i32) -> Result<(), Errno> {
    const F_SETFD: usize = 2;
    const FD_CLOEXEC: usize = 1;
    // SAFETY: no pointers involved.
    let ret = unsafe { syscall(nr::FCNTL, [fd as usize, F_SETFD, FD_CLOEXEC]) };
    check(ret).map(|_| ())
}

/// Sends `sig` to process `pid`.
pub fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
    // SAFETY: no pointers involved.
    let ret = unsafe { syscall(nr::KILL, [pid as usize, sig as usize]) };
    check(ret).map(|_| ())
}

pub fn getpid() -> i32 {
    // SAFETY: no arguments; getpid cannot fail.
    unsafe { syscall(nr::GETPID, []) as i32 }
}

/// Moves the calling process into a new process group of its own.
pub fn setpgid_self() -> Result<(), Errno> {
    // SAFETY: no pointers involved; (0, 0) means "this process, own group".
    let ret = unsafe { syscall(nr::SETPGID, [0, 0]) };
    check(ret).map(|_| ())
}

/// The foreground process group of terminal `fd`; fails if `fd` is not a
/// terminal.
pub fn tcgetpgrp(fd: i32) -> Result<i32, Errno> {
    let mut pgid: i32 = 0;
    // SAFETY: TIOCGPGRP writes one int (pid_t) to the given pointer.
    let ret = unsafe { syscall(nr::IOCTL, [fd as usize, TIOCGPGRP, ptr_mut(&mut pgid)]) };
    check(ret).map(|_| pgid)
}

/// Makes `pgid` the foreground process group of terminal `fd`.
pub fn tcsetpgrp(fd: i32, pgid: i32) -> Result<(), Errno> {
    // SAFETY: TIOCSPGRP reads one int (pid_t) from the given pointer.
    let ret = unsafe { syscall(nr::IOCTL, [fd as usize, TIOCSPGRP, ptr(&pgid)]) };
    check(ret).map(|_| ())
}

/// A NULL-terminated array of C strings that lives as long as the process:
/// the kernel's argv or envp (or a tail of one).
#[derive(Clone, Copy)]
pub struct CStrList {
    // Invariant: points to a NULL-terminated array of pointers to
    // NUL-terminated strings, all valid and unchanged for the whole process.
    ptr: *const *const c_char,
}

impl CStrList {
    pub fn iter(&self) -> CStrIter {
        CStrIter { next: self.ptr }
    }

    /// The list without its first `n` entries; `None` if it has fewer.
    pub fn skip(&self, n: usize) -> Option<CStrList> {
        let mut it = self.iter();
        for _ in 0..n {
            it.next()?;
        }
        Some(CStrList { ptr: it.next })
    }
}

pub struct CStrIter {
    next: *const *const c_char,
}

impl Iterator for CStrIter {
    type Item = &'static CStr;

    fn next(&mut self) -> Option<&'static CStr> {
        // SAFETY: by the CStrList invariant `next` is at or before the
        // terminating NULL, so it is readable, and so is the entry after a
        // non-NULL one.
        let entry = unsafe { *self.next };
        if entry.is_null() {
            return None;
        }
        // SAFETY: as above; the string is NUL-terminated and never freed.
        unsafe {
            self.next = self.next.add(1);
            Some(CStr::from_ptr(entry))
        }
    }
}

/// Replaces the process image; returns only on failure.
pub fn execve(path: &CStr, argv: &CStrList, envp: &CStrList) -> Errno {
    // SAFETY: `path` is NUL-terminated; `argv` and `envp` are NULL-terminated
    // arrays of NUL-terminated strings (the CStrList invariant).
    let ret = unsafe {
        syscall(
            nr::EXECVE,
            [ptr(path.as_ptr()), ptr(argv.ptr), ptr(envp.ptr)],
        )
    };
    match check(ret) {
        Err(e) => e,
        Ok(_) => ENOEXEC, // unreachable: a successful execve does not return
    }
}
