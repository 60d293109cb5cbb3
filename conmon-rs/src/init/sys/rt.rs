//! What libc and its start files would otherwise provide: the `_start`
//! entry point, the panic handler, the memory routines (`memcpy` and
//! friends) that the compiler emits calls to, and `strlen` for
//! `CStr::from_ptr`.
#![allow(unsafe_code)]

use core::arch::global_asm;
use core::ffi::c_char;

use super::{exit, write_all, CStrList};

// The entry point: the kernel jumps here with the stack pointer at argc,
// followed by argv[0..argc], NULL, envp..., NULL. Pass that address on,
// realign the stack for the C calling convention and never return.
#[cfg(target_arch = "x86_64")]
global_asm!(
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "xor ebp, ebp", // marks the outermost frame for debuggers
    "mov rdi, rsp",
    "and rsp, -16",
    "call {start}",
    "ud2",
    start = sym start,
);

#[cfg(target_arch = "aarch64")]
global_asm!(
    ".globl _start",
    ".type _start,%function",
    "_start:",
    "mov x29, xzr", // marks the outermost frame for debuggers
    "mov x30, xzr",
    "mov x0, sp", // the kernel leaves sp 16-byte aligned
    "bl {start}",
    "brk #0",
    start = sym start,
);

extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: the kernel's initial stack layout, described above _start.
    let (argv, envp) = unsafe {
        let argc = *sp;
        let argv = sp.add(1).cast::<*const c_char>();
        (argv, argv.add(argc + 1))
    };
    exit(crate::run(CStrList { ptr: argv }, CStrList { ptr: envp }))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    write_all(2, b"skiff-init: panic\n");
    exit(127)
}

/// Debug builds of core refer to the unwinding personality routine even
/// with `panic = "abort"`; nothing ever unwinds, so it is never called.
// SAFETY (of the attribute): nothing else defines this symbol.
#[no_mangle]
extern "C" fn rust_eh_personality() {}

// The memory routines. The compiler lowers copies, fills and slice
// comparisons to calls of these, core calls strlen, and on this target
// neither core nor compiler_builtins defines them (libc would). Volatile
// accesses keep the optimizer from recognizing the loops and compiling them
// into calls to the very functions they implement. The buffers involved
// are small.
//
// Safety, for all of them: the caller (compiler-generated code) passes
// pointers valid for `n` bytes, as C requires; only memmove's may overlap.
// strlen's caller passes a NUL-terminated string.

#[no_mangle]
unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: see above; the ranges do not overlap.
    unsafe {
        for i in 0..n {
            dest.add(i).write_volatile(src.add(i).read_volatile());
        }
    }
    dest
}

#[no_mangle]
unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: see above; copying away from the overlap (forwards when the
    // destination lies before the source) reads every byte before it is
    // overwritten.
    unsafe {
        if (dest as usize) < (src as usize) {
            for i in 0..n {
                dest.add(i).write_volatile(src.add(i).read_volatile());
            }
        } else {
            for i in (0..n).rev() {
                dest.add(i).write_volatile(src.add(i).read_volatile());
            }
        }
    }
    dest
}

#[no_mangle]
unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: see above.
    unsafe {
        for i in 0..n {
            dest.add(i).write_volatile(c as u8);
        }
    }
    dest
}

#[no_mangle]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: see above.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

#[no_mangle]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

#[no_mangle]
unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut len = 0;
    // SAFETY: see above: every byte up to the NUL is readable.
    unsafe {
        while s.add(len).read_volatile() != 0 {
            len += 1;
        }
    }
    len
}
