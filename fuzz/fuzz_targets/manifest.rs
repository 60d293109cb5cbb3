//! Manifests, indexes and image configs come from registries and image
//! archives: parsing them, and what is done with the parsed value right
//! after (platform selection, layer compression), never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use skiff::image::config::ImageConfig;
use skiff::image::manifest::{self, layer_compression, Manifest};
use skiff::image::platform::Platform;

/// Content types a registry may declare, picked by the first input byte.
const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some(""),
    Some("application/json"),
    Some("text/plain; charset=utf-8"),
    Some(manifest::OCI_INDEX),
    Some(manifest::OCI_MANIFEST),
    Some(manifest::DOCKER_LIST),
    Some(manifest::DOCKER_MANIFEST),
    Some(manifest::DOCKER_SCHEMA1_SIGNED),
    Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
    Some("application/octet-stream"),
];

const PLATFORMS: &[&str] = &[
    "linux/amd64",
    "linux/arm64/v8",
    "linux/arm/v7",
    "windows/amd64",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, doc)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];

    match Manifest::parse(doc, content_type) {
        Ok(Manifest::Index(index)) => {
            for platform in PLATFORMS {
                let platform: Platform = platform.parse().expect("fixed platform parses");
                let _ = index.select(&platform);
            }
        }
        Ok(Manifest::Image(image)) => {
            for layer in &image.layers {
                layer_compression(&layer.media_type)
                    .expect("a parsed manifest's layers have known media types");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }

    // The same bytes as an image config, for a manifest of 0..=7 layers.
    if let Ok(config) = ImageConfig::parse(doc, usize::from(selector >> 5)) {
        let _ = config.labels();
    }
});
