//! skiff: a daemonless, rootless pod manager with a podman-compatible command line.
//!
//! Layers, with dependencies pointing one way:
//! `cli -> engine -> {image, storage, config, format, network} -> sys`.

pub mod cli;
pub mod config;
pub mod engine;
pub mod format;
pub mod idmap;
pub mod image;
pub mod network;
pub mod runtime;
pub mod state;
pub mod storage;
pub mod sys;
