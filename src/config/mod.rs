//! Configuration: where the store lives, which driver and runtime to use, and
//! the shared container-tool configuration files skiff reads.

pub mod paths;
pub mod registries;
pub mod skiff_conf;
