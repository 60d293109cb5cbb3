//! Build script: links the `skiff-init` binary without libc or C start files,
//! on the targets its raw-syscall code supports.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    // Tells `src/init/main.rs` to build the real, libc-free init; elsewhere it
    // builds a stub that only reports the missing port, so that the monitor
    // (the same package) still builds on every target.
    println!("cargo::rustc-check-cfg=cfg(skiff_init_nolibc)");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if os == "linux" && matches!(arch.as_str(), "x86_64" | "aarch64") {
        println!("cargo::rustc-cfg=skiff_init_nolibc");
        // rustc passes `-pie`; `-no-pie` makes sure the result is a plain
        // static executable, not a static PIE, which would need a start
        // routine that relocates itself (ours does not).
        for arg in ["-nostartfiles", "-nostdlib", "-static", "-no-pie"] {
            println!("cargo::rustc-link-arg-bin=skiff-init={arg}");
        }
    }
}
