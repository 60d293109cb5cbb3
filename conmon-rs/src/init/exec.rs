//! Running the command: execvp-style lookup along PATH over the raw execve,
//! and the error report (and exit code) when nothing could be run.

use core::ffi::CStr;

use crate::sys::{self, CStrList, Errno, EACCES, ENOENT, ENOEXEC, ENOTDIR};

/// Used when the environment has no PATH (the usual default of shells and
/// of the OCI runtime).
const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Room for one "DIR/NAME\0" candidate; longer ones are skipped, as the
/// kernel would refuse them anyway (PATH_MAX).
const PATH_BUF: usize = 4096;

/// Executes `path` with `argv` as is: no search, no supervision. skiff's
/// runtime ends a container's setup here, from a sealed in-memory copy of
/// this program, so that the container never sees skiff's own binary as
/// its /proc/self/exe (CVE-2019-5736). The runtime has resolved `path`
/// already; a failure is reported as by `execvp`. Descriptor `close` (a
/// number, or `-` for none) is closed by this exec: the runtime holds it
/// open until the command itself runs.
pub fn exec_exactly(close: &[u8], path: &CStr, argv: &CStrList, envp: &CStrList) -> ! {
    if let Some(fd) = number(close) {
        let _ = sys::set_cloexec(fd);
    }
    let err = sys::execve(path, argv, envp);
    fail(path, err)
}

/// A non-negative decimal number, if `text` is one.
fn number(text: &[u8]) -> Option<i32> {
    if text.is_empty() || text.len() > 9 {
        return None;
    }
    text.iter().try_fold(0i32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + i32::from(b - b'0'))
    })
}

/// Executes `argv` (`argv[0]` is the command) with environment `envp`; on
/// failure reports why and exits 127 (not found) or 126 (not runnable).
pub fn execvp(argv: &CStrList, envp: &CStrList) -> ! {
    let Some(name) = argv.iter().next() else {
        sys::write_all(2, b"skiff-init: no command\n");
        sys::exit(127);
    };
    let err = exec_search(name, argv, envp);
    fail(name, err)
}

/// Reports why `name` could not be executed and exits 127 (not found) or
/// 126 (not runnable).
fn fail(name: &CStr, err: Errno) -> ! {
    let mut num = [0u8; 10];
    let (reason, number): (&[u8], &[u8]) = match err {
        ENOENT => (b"No such file or directory", b""),
        ENOTDIR => (b"Not a directory", b""),
        EACCES => (b"Permission denied", b""),
        ENOEXEC => (b"Exec format error", b""),
        Errno(n) => (b"errno ", decimal(n.unsigned_abs(), &mut num)),
    };
    let parts: [&[u8]; 6] = [
        b"skiff-init: exec ",
        name.to_bytes(),
        b": ",
        reason,
        number,
        b"\n",
    ];
    for part in parts {
        sys::write_all(2, part);
    }
    // The shell's convention, which engines pass on: 127 for a command
    // that is not there, 126 for one that is there but cannot be run.
    let code = if matches!(err, ENOENT | ENOTDIR) {
        127
    } else {
        126
    };
    sys::exit(code)
}

/// Tries the candidates for `name`; returns the error that best explains
/// why none could be executed.
fn exec_search(name: &CStr, argv: &CStrList, envp: &CStrList) -> Errno {
    let bytes = name.to_bytes();
    if bytes.is_empty() {
        return ENOENT;
    }
    if bytes.contains(&b'/') {
        return sys::execve(name, argv, envp);
    }
    let path = getenv(envp, b"PATH").unwrap_or(DEFAULT_PATH);
    let mut buf = [0u8; PATH_BUF];
    // A file that exists but may not be executed explains more than the
    // ENOENT of the directories searched after it, as execvp(3) reports.
    let mut denied = false;
    for dir in path.split(|&b| b == b':') {
        let Some(candidate) = join(&mut buf, dir, bytes) else {
            continue;
        };
        match sys::execve(candidate, argv, envp) {
            ENOENT | ENOTDIR => {}
            EACCES => denied = true,
            other => return other,
        }
    }
    if denied {
        EACCES
    } else {
        ENOENT
    }
}

/// Builds "DIR/NAME\0" in `buf` ("NAME\0" for an empty DIR, which means the
/// current directory); `None` if it does not fit.
fn join<'a>(buf: &'a mut [u8], dir: &[u8], name: &[u8]) -> Option<&'a CStr> {
    let sep = usize::from(!dir.is_empty());
    let len = dir.len() + sep + name.len();
    if len + 1 > buf.len() {
        return None;
    }
    buf[..dir.len()].copy_from_slice(dir);
    if sep == 1 {
        buf[dir.len()] = b'/';
    }
    buf[dir.len() + sep..len].copy_from_slice(name);
    buf[len] = 0;
    // Neither part holds a NUL (both come from C strings), so this succeeds.
    CStr::from_bytes_with_nul(&buf[..=len]).ok()
}

/// The value of variable `key` in `envp`, if set.
fn getenv(envp: &CStrList, key: &[u8]) -> Option<&'static [u8]> {
    envp.iter().find_map(|entry| {
        let entry = entry.to_bytes();
        let rest = entry.strip_prefix(key)?;
        rest.strip_prefix(b"=")
    })
}

/// Formats `n` in decimal into `buf`, returning the digits.
pub fn decimal(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}
