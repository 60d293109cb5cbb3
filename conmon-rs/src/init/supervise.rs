//! The two ways skiff-init spends its life: as the init of a container
//! (start the command, pass signals on, reap every zombie, exit with the
//! command's status) and as a pod's pause process (reap, wait to be stopped).
//!
//! As PID 1 of a pid namespace the kernel drops any signal for which the
//! process has no handler, so both modes block every signal and take them
//! one at a time with sigtimedwait instead of installing handlers.

use crate::exec;
use crate::sys::{self, Errno, SigSet, EAGAIN, ECHILD, EINTR, SIGCHLD, SIGHUP, SIGINT, SIGTERM};

/// Exit code for failures of skiff-init itself, the engines' "container
/// runtime error" code.
pub const INTERNAL_ERROR: i32 = 125;

/// Runs `argv` as a child, supervises it and returns its exit code.
pub fn init(argv: &sys::CStrList, envp: &sys::CStrList) -> i32 {
    let original_mask = match sys::block_all_signals() {
        Ok(mask) => mask,
        Err(e) => return fail(b"block signals", e),
    };
    match sys::fork() {
        Ok(0) => child(argv, envp, &original_mask),
        Ok(pid) => supervise(pid),
        Err(e) => fail(b"fork", e),
    }
}

/// In the child: take over the terminal, restore the signal mask, exec.
fn child(argv: &sys::CStrList, envp: &sys::CStrList, original_mask: &SigSet) -> ! {
    // With a terminal on stdin, give the command a process group of its own
    // in the foreground, so that ^C, ^Z and job control reach it (and its
    // children) rather than us. Still blocked, SIGTTOU cannot stop us while
    // we are not yet in the foreground. Failures only cost job control.
    if sys::tcgetpgrp(0).is_ok() && sys::setpgid_self().is_ok() {
        let _ = sys::tcsetpgrp(0, sys::getpid());
    }
    if let Err(e) = sys::set_signal_mask(original_mask) {
        sys::exit(fail(b"restore the signal mask", e));
    }
    exec::execvp(argv, envp)
}

/// In the parent: pass signals on to `main`, reap children, and return the
/// exit code once `main` has exited.
fn supervise(main: i32) -> i32 {
    loop {
        let sig = match next_signal() {
            Ok(sig) => sig,
            Err(e) => return fail(b"wait for signals", e),
        };
        if sig == SIGCHLD {
            if let Some(code) = reap_all(Some(main)) {
                return code;
            }
        } else {
            // SIGKILL and SIGSTOP never get here; an error means `main` is
            // already gone, and its SIGCHLD is on its way.
            let _ = sys::kill(main, sig);
        }
    }
}

/// Pause mode: reaps whatever exits until SIGTERM, SIGINT or SIGHUP comes,
/// then returns 0.
pub fn pause() -> i32 {
    if let Err(e) = sys::block_all_signals() {
        return fail(b"block signals", e);
    }
    loop {
        match next_signal() {
            Ok(SIGCHLD) => {
                reap_all(None);
            }
            Ok(SIGTERM | SIGINT | SIGHUP) => return 0,
            Ok(_) => {}
            Err(e) => return fail(b"wait for signals", e),
        }
    }
}

/// Takes the next pending signal, waiting as long as it takes.
fn next_signal() -> Result<i32, Errno> {
    loop {
        match sys::wait_signal(&SigSet::ALL) {
            Err(EINTR | EAGAIN) => {}
            other => return other,
        }
    }
}

/// Reaps every child that has exited (one SIGCHLD may stand for several;
/// most are orphans reparented to us). Returns the exit code of `main` once
/// it is among them, or once there are no children left at all.
fn reap_all(main: Option<i32>) -> Option<i32> {
    let mut code = None;
    loop {
        match sys::reap_one() {
            Ok(Some((pid, status))) => {
                if Some(pid) == main {
                    code = Some(exit_code(status));
                }
            }
            Ok(None) => return code,
            // Nothing left to wait for: `main` must be gone, though someone
            // else took its status.
            Err(ECHILD) => return code.or(main.map(|_| INTERNAL_ERROR)),
            Err(_) => return code,
        }
    }
}

/// The shell's exit code for a wait status: the exit status, or 128 plus
/// the number of the signal that killed the process. (Stopped processes are
/// not reported: wait4 is not asked for them.)
fn exit_code(status: i32) -> i32 {
    match status & 0x7f {
        0 => (status >> 8) & 0xff,
        sig => 128 + sig,
    }
}

/// Reports a failed system call of our own; returns INTERNAL_ERROR.
fn fail(what: &[u8], Errno(n): Errno) -> i32 {
    let mut num = [0u8; 10];
    let parts: [&[u8]; 5] = [
        b"skiff-init: ",
        what,
        b": errno ",
        exec::decimal(n.unsigned_abs(), &mut num),
        b"\n",
    ];
    for part in parts {
        sys::write_all(2, part);
    }
    INTERNAL_ERROR
}
