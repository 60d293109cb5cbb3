//! Shared harness for skiff's integration tests: a real registry on 127.0.0.1
//! (open, htpasswd basic auth, or bearer tokens from a token server of our own),
//! the busybox test images of `tests/fixtures/`, and a runner for the `skiff`
//! binary in an isolated root. A test file uses it with `mod common;`.
//!
//! ```ignore
//! mod common;
//! use common::*;
//!
//! #[test]
//! fn pulls_busybox() {
//!     // Prints why and returns when a tool is missing (fails under CI=true).
//!     if !(Registry::can_start(&Auth::None) && fixture_tools_present()) {
//!         return;
//!     }
//!     let reg = Registry::start(Auth::None);
//!     fixtures().push_to(&reg);
//!     let skiff = Skiff::with_registry(&reg);
//!     skiff.run(["pull", "skiff-test/busybox"]).ok();
//! }
//! ```
//!
//! Environment knobs (all optional): `SKIFF_BIN` (binary under test, default:
//! the one cargo built), `SKIFF_TEST_FIXTURES` (a prebuilt or to-be-built
//! fixtures directory), `SKIFF_TEST_TMPDIR` (where scratch directories go),
//! `SKIFF_TEST_TIMEOUT` (seconds per command, default 120), `SKIFF_TEST_KEEP=1`
//! (keep scratch directories), `SKIFF_TEST_SKIP_LOG` (file collecting skip
//! reasons), `CI=true` (a missing tool fails instead of skipping).

// Every test file compiles this module but uses only part of it.
#![allow(dead_code, unused_imports)]

mod command;
mod containers;
mod fixtures;
mod http;
mod pty;
mod registry;
mod skiff;
mod token;
mod tools;

pub use command::{Cmd, Output, RunError};
pub use containers::{
    busybox_registry, busybox_skiff, cgroups_usable, containers_ready, fetch_local,
    inspect_container, kill_monitor, mounts_of, processes_of, run_web, simulate_reboot,
    static_c_program, user_net_ready, wait_for, NO_CGROUP,
};
pub use fixtures::{
    build_script, fixture_tools_present, fixtures, push_to, registry_tools_present, sha256_digest,
    shared_registry, skopeo, Fixtures, Image, Platform, NAMESPACE,
};
pub use http::{http_request, HttpResponse};
pub use pty::{PtyChild, IN_NEW_SESSION};
pub use registry::{Auth, Registry};
pub use skiff::Skiff;
pub use token::{TokenRequest, TokenServer};
pub use tools::{
    count_entries, find_tool, in_ci, is_root, process_alive, require_root, require_rootless,
    require_tool, require_tools, scratch_dir, skip,
};
