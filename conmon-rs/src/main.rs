//! skiff-conmon: the per-container monitor. It is built out in the containers
//! milestone; until then the binary only identifies itself, and refuses to
//! pretend it monitors anything.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--version") | Some("-V") => {
            println!("skiff-conmon version {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("Error: skiff-conmon does not monitor containers yet: this build of skiff manages images only");
            ExitCode::from(125)
        }
    }
}
