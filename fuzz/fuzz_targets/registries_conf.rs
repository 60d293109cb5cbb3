//! registries.conf is read from system and user files: parsing any text
//! never panics, and neither does resolving names against what parsed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use skiff::config::registries::Registries;
use skiff::image::reference::{ImageName, Reference};

/// Names users pull: short, aliased, qualified, with port, tag and digest.
const NAMES: &[&str] = &[
    "alpine",
    "fedora:39",
    "library/busybox",
    "user/app:v1",
    "docker.io/alpine",
    "quay.io/user/app:v2",
    "localhost:5000/app",
    "127.0.0.1:5000/ns/app:tag",
    "registry.example.com/a/b/c",
    "example.com/app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
];

fuzz_target!(|text: &str| {
    let Ok(config) = Registries::from_toml_str(text) else {
        return;
    };
    let _ = config.short_name_mode();

    // Besides the fixed names, names under each configured prefix and
    // each alias, so the prefix rewrites and mirrors are exercised.
    let mut names: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
    for entry in config.registries() {
        let prefix = entry.prefix.trim_start_matches("*.");
        names.push(prefix.to_string());
        names.push(format!("{prefix}/app:v1"));
        names.push(format!("sub.{prefix}/app"));
    }
    for search in config.unqualified_search_registries() {
        names.push(format!("{search}/app"));
    }

    for name in &names {
        let Ok(name) = ImageName::parse(name) else {
            continue;
        };
        let _ = config.alias(name.path());
        for reference in config.resolve_short(&name) {
            check(&config, &reference);
        }
    }
});

fn check(config: &Registries, reference: &Reference) {
    let _ = config.is_insecure(&reference.registry);
    if let Ok(sources) = config.pull_sources(reference) {
        assert!(!sources.is_empty(), "no pull source for {reference}");
        for source in &sources {
            // A single-label search registry ("myreg") is used as the host
            // the configuration names; printed, such a name reads as a
            // Docker Hub path, so it is not expected to parse back.
            let host = &source.reference.registry;
            if !host.contains(['.', ':']) && host != "localhost" {
                continue;
            }
            let shown = source.reference.to_string();
            assert!(
                Reference::parse(&shown).is_ok(),
                "pull source {shown:?} for {reference} does not parse"
            );
        }
    }
    let _ = config.endpoint_for_push(reference);
}
