//! skiff-init: the init process of `skiff run --init` (bind-mounted into the
//! container at /run/skiff-init) and a pod's pause process. It must run in
//! any image, including ones without a libc, so it is fully static and uses
//! no libc at all: raw system calls, its own entry point (`sys`).
//!
//! ```text
//! skiff-init [--] COMMAND [ARG...]   run COMMAND, forward signals, reap zombies
//! skiff-init --pause                 reap zombies until SIGTERM/SIGINT/SIGHUP
//! skiff-init --exec FD PATH ARGV0 [ARG...]
//!                                    execve PATH at once, closing FD (or
//!                                    none: -) on exec (skiff's runtime
//!                                    starts containers through a sealed
//!                                    copy of this program)
//! skiff-init --version
//! ```
//!
//! The build script sets `skiff_init_nolibc` on the targets `sys` supports
//! (Linux on x86_64 and aarch64) and links this binary without libc there.
//! Elsewhere only a stub is built, so the rest of the package still builds.

#![cfg_attr(skiff_init_nolibc, no_std, no_main)]

#[cfg(skiff_init_nolibc)]
mod exec;
#[cfg(skiff_init_nolibc)]
mod supervise;
#[cfg(skiff_init_nolibc)]
mod sys;

#[cfg(skiff_init_nolibc)]
const USAGE: &[u8] = b"Usage: skiff-init [--] COMMAND [ARG...]
       skiff-init --pause
       skiff-init --exec FD PATH ARGV0 [ARG...]
       skiff-init --version
";

/// Parses the command line and runs the chosen mode; returns the exit code.
/// Called by the entry point (`sys::rt`) with the process's argv and envp.
#[cfg(skiff_init_nolibc)]
fn run(argv: sys::CStrList, envp: sys::CStrList) -> i32 {
    let first = argv.iter().nth(1).map(|arg| arg.to_bytes());
    let command = match first {
        Some(b"--version") => {
            let parts: [&[u8]; 3] = [
                b"skiff-init version ",
                env!("CARGO_PKG_VERSION").as_bytes(),
                b"\n",
            ];
            for part in parts {
                sys::write_all(1, part);
            }
            return 0;
        }
        Some(b"-h" | b"--help") => {
            sys::write_all(1, USAGE);
            return 0;
        }
        Some(b"--pause") if argv.iter().nth(2).is_none() => return supervise::pause(),
        Some(b"--exec") => match (argv.iter().nth(2), argv.iter().nth(3), argv.skip(4)) {
            (Some(fd), Some(path), Some(rest)) if rest.iter().next().is_some() => {
                exec::exec_exactly(fd.to_bytes(), path, &rest, &envp)
            }
            _ => None,
        },
        Some(b"--") => argv.skip(2),
        // Anything else starting with '-' is a mistake rather than a command
        // (a command that really starts with '-' goes after "--").
        Some(arg) if !arg.starts_with(b"-") => argv.skip(1),
        _ => None,
    };
    match command {
        Some(command) if command.iter().next().is_some() => supervise::init(&command, &envp),
        _ => {
            sys::write_all(2, USAGE);
            supervise::INTERNAL_ERROR
        }
    }
}

/// The stub for targets without a port of `sys`.
#[cfg(not(skiff_init_nolibc))]
fn main() -> std::process::ExitCode {
    eprintln!("skiff-init: not available on this platform (only Linux on x86_64 and aarch64)");
    std::process::ExitCode::from(125)
}
