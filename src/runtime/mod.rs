//! OCI runtimes: the bundle spec skiff writes, and the runtimes that run it.

pub mod builtin;
pub mod external;
pub mod select;
pub mod spec;
