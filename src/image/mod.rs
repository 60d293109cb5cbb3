//! Images as the registries and archives describe them: references, digests,
//! manifests, platforms, credentials, and the distribution protocol client.

pub mod auth;
pub mod change;
pub mod config;
pub mod digest;
pub mod manifest;
pub mod platform;
pub mod reference;
pub mod registry;
