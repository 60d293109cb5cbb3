//! The `skiff` command.

fn main() -> std::process::ExitCode {
    skiff::cli::main()
}
