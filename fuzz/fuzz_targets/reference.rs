//! Image references typed by users or found in manifests, archives and
//! registries.conf: parsing never panics, and every accepted name prints
//! in a form that parses back to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use skiff::image::reference::{ImageName, Reference};

fuzz_target!(|input: &str| {
    if let Ok(name) = ImageName::parse(input) {
        let shown = name.to_string();
        let again = ImageName::parse(&shown)
            .unwrap_or_else(|e| panic!("{input:?} parsed, but its display {shown:?} did not: {e}"));
        assert_eq!(name, again, "{input:?} -> {shown:?} changed on reparse");
        assert_eq!(
            again.to_string(),
            shown,
            "display of {input:?} is not stable"
        );

        // A qualified name is a reference, and both print the same.
        if let Some(reference) = name.to_reference() {
            assert_eq!(reference.to_string(), shown, "{input:?}");
        }
    }

    if let Ok(reference) = Reference::parse(input) {
        let shown = reference.to_string();
        let again = Reference::parse(&shown)
            .unwrap_or_else(|e| panic!("{input:?} parsed, but its display {shown:?} did not: {e}"));
        assert_eq!(
            reference, again,
            "{input:?} -> {shown:?} changed on reparse"
        );
        assert_eq!(
            again.to_string(),
            shown,
            "display of {input:?} is not stable"
        );

        // Adding the default tag keeps it a valid reference.
        let tagged = reference.with_default_tag().to_string();
        if let Err(e) = Reference::parse(&tagged) {
            panic!("{input:?} with the default tag, {tagged:?}, does not parse: {e}");
        }
    }
});
