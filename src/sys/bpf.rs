//! bpf(2) for cgroup device programs: loading a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program and attaching it to a cgroup v2
//! directory (see bpf(2) and the kernel's Documentation/bpf/).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    /// dst_reg:4, src_reg:4 (bit fields, in the machine's order).
    regs: u8,
    /// The jump offset, in instructions, for jumps.
    pub off: i16,
    imm: i32,
}

impl Insn {
    pub fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        let regs = if cfg!(target_endian = "little") {
            (src << 4) | (dst & 0xf)
        } else {
            (dst << 4) | (src & 0xf)
        };
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }
}

/// A program the kernel refused to load.
#[derive(Debug)]
pub struct ProgLoadError {
    /// The error of the first attempt (without a log).
    pub source: io::Error,
    /// The verifier's last line of log, if it wrote one.
    pub verifier: Option<String>,
}

/// The start of `union bpf_attr` for BPF_PROG_LOAD (the kernel zeroes what
/// a shorter attr leaves out).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The start of `union bpf_attr` for BPF_PROG_ATTACH.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// BPF_PROG_LOAD. Private: `attr` holds raw pointers that must stay valid
/// for the call, which only this module's callers guarantee.
fn prog_load(attr: &ProgLoadAttr) -> io::Result<OwnedFd> {
    // SAFETY: `attr` is a valid, fully initialized prefix of `union
    // bpf_attr` for BPF_PROG_LOAD, its size is the one passed, and its
    // pointers (instructions, license, log buffer) are alive and sized as
    // it says for the duration of the call (see `load_device_program`).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            attr as *const ProgLoadAttr,
            std::mem::size_of::<ProgLoadAttr>(),
        )
    };
    let fd = i32::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a successful BPF_PROG_LOAD returns a new descriptor
    // (close-on-exec) that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Load a `BPF_PROG_TYPE_CGROUP_DEVICE` program. When the kernel refuses
/// it, it is loaded again with the verifier's log, to say why.
pub fn load_device_program(insns: &[Insn]) -> Result<OwnedFd, ProgLoadError> {
    let license = c"Apache";
    // `insns`, `license` and `log` below outlive every `prog_load` call.
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len()).unwrap_or(u32::MAX),
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..ProgLoadAttr::default()
    };
    attr.prog_name[..9].copy_from_slice(b"skiff_dev");
    let first = match prog_load(&attr) {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    let mut log = vec![0u8; 64 * 1024];
    attr.log_level = 1;
    attr.log_size = u32::try_from(log.len()).unwrap_or(u32::MAX);
    attr.log_buf = log.as_mut_ptr() as u64;
    if let Ok(fd) = prog_load(&attr) {
        return Ok(fd);
    }
    let text = String::from_utf8_lossy(&log);
    let verifier = text
        .trim_end_matches('\0')
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string());
    Err(ProgLoadError {
        source: first,
        verifier,
    })
}

/// Attach a device program to a cgroup (v2 directory), beside others
/// (`BPF_F_ALLOW_MULTI`: every attached program must allow).
pub fn attach_device_program(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    let fd = |f: BorrowedFd<'_>| u32::try_from(f.as_raw_fd()).unwrap_or(u32::MAX);
    let attr = ProgAttachAttr {
        target_fd: fd(cgroup),
        attach_bpf_fd: fd(prog),
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    // SAFETY: `attr` is a valid, fully initialized prefix of `union
    // bpf_attr` for BPF_PROG_ATTACH, of the size passed; the descriptors
    // are borrowed, so open, for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const ProgAttachAttr,
            std::mem::size_of::<ProgAttachAttr>(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
