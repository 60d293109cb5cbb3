//! Tests of `reference`.
use super::*;

const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

#[test]
fn tagged_names_qualify_short_names_and_refuse_digests() {
    let tagged = |s: &str, r: &str| Reference::parse_tagged(s, r).map(|r| r.to_string());
    assert_eq!(
        tagged("foo", "localhost"),
        Ok("localhost/foo:latest".into())
    );
    assert_eq!(
        tagged("busybox:1", DOCKER_HUB),
        Ok("docker.io/library/busybox:1".into())
    );
    assert_eq!(
        tagged("quay.io/a/b", DOCKER_HUB),
        Ok("quay.io/a/b:latest".into())
    );
    assert_eq!(
        tagged(&format!("quay.io/a/b@sha256:{HEX}"), DOCKER_HUB),
        Err(ReferenceError::DigestNotAllowed {
            input: format!("quay.io/a/b@sha256:{HEX}")
        })
    );
    assert!(tagged("UPPER", "localhost").is_err());
}

fn name(s: &str) -> ImageName {
    ImageName::parse(s).expect("valid name in test")
}

fn reference(s: &str) -> Reference {
    Reference::parse(s).expect("valid reference in test")
}

#[test]
fn short_names() {
    for s in [
        "alpine",
        "alpine:3.19",
        "library/alpine",
        "foo/bar/baz:v1",
        "localhost",
    ] {
        assert!(name(s).is_short(), "{s}");
    }
    let n = name("alpine:3.19");
    assert_eq!(n.domain(), None);
    assert_eq!(n.path(), "alpine");
    assert_eq!(n.tag(), Some("3.19"));
    assert_eq!(n.to_string(), "alpine:3.19");
    assert_eq!(n.to_reference(), None);
    // A digest does not make a name qualified.
    assert!(name(&format!("alpine@sha256:{HEX}")).is_short());
}

#[test]
fn qualified_names() {
    for s in [
        "localhost/foo",
        "quay.io/podman/hello",
        "127.0.0.1:5000/x",
        "registry:5000/a/b",
        "[::1]:5000/a",
        "[fe80::1]/a",
        "Quay.io/x/y",
    ] {
        assert!(!name(s).is_short(), "{s}");
    }
    let n = name("localhost:5000/ns/img:tag");
    assert_eq!(n.domain(), Some("localhost:5000"));
    assert_eq!(n.path(), "ns/img");
    assert_eq!(n.tag(), Some("tag"));
    assert_eq!(n.digest(), None);
}

#[test]
fn docker_hub_normalisation() {
    assert_eq!(
        reference("docker.io/alpine").with_default_tag().to_string(),
        "docker.io/library/alpine:latest"
    );
    let r = reference("index.docker.io/alpine:3");
    assert_eq!(r.registry, "docker.io");
    assert_eq!(r.repository, "library/alpine");
    assert_eq!(r.tag.as_deref(), Some("3"));
    assert_eq!(reference("docker.io/user/app").repository, "user/app");
    assert_eq!(reference("quay.io/alpine").repository, "alpine");
    assert_eq!(name("docker.io/alpine").path(), "library/alpine");
}

#[test]
fn qualify_short_names() {
    let r = name("alpine:3").qualify("docker.io");
    assert_eq!(r.to_string(), "docker.io/library/alpine:3");
    assert_eq!(
        name("alpine").qualify("index.docker.io").to_string(),
        "docker.io/library/alpine"
    );
    assert_eq!(
        name("user/app").qualify("docker.io").to_string(),
        "docker.io/user/app"
    );
    assert_eq!(
        name("alpine").qualify("quay.io").to_string(),
        "quay.io/alpine"
    );
    // An explicit registry wins over the argument.
    assert_eq!(
        name("quay.io/a/b").qualify("docker.io").to_string(),
        "quay.io/a/b"
    );
}

#[test]
fn tags_and_digests() {
    let d: Digest = format!("sha256:{HEX}").parse().expect("valid digest");
    let r = reference(&format!("quay.io/a/b:v1@sha256:{HEX}"));
    assert_eq!(r.tag.as_deref(), Some("v1"));
    assert_eq!(r.digest.as_ref(), Some(&d));
    assert!(r.is_digested());
    assert_eq!(r.to_string(), format!("quay.io/a/b:v1@sha256:{HEX}"));
    let r = reference(&format!("quay.io/a/b@sha256:{HEX}"));
    assert_eq!(r.tag, None);
    assert_eq!(r.tag_or_latest(), "latest");
    // A digest reference gets no default tag.
    assert_eq!(r.clone().with_default_tag(), r);
    assert_eq!(
        reference("quay.io/a:v2").with_default_tag().tag.as_deref(),
        Some("v2")
    );
    assert_eq!(reference("quay.io/a").tag_or_latest(), "latest");
    // The port is not mistaken for a tag.
    let r = reference("localhost:5000/a");
    assert_eq!((r.registry.as_str(), r.tag), ("localhost:5000", None));
    assert_eq!(
        reference("localhost:5000/a:5000").tag.as_deref(),
        Some("5000")
    );
    let tag = "a".repeat(128);
    assert_eq!(
        reference(&format!("quay.io/a:{tag}")).tag.as_deref(),
        Some(tag.as_str())
    );
    assert_eq!(reference("quay.io/a:V_1.2-rc").name(), "quay.io/a");
}

#[test]
fn path_separators() {
    for s in [
        "a.b",
        "a_b",
        "a__b",
        "a-b",
        "a---b",
        "a-b.c_d__e",
        "0",
        "a/b/c/d",
    ] {
        assert!(ImageName::parse(s).is_ok(), "{s}");
    }
    for (s, component) in [
        ("a..b", "a..b"),
        ("a___b", "a___b"),
        ("-a", "-a"),
        ("a-", "a-"),
        ("a._b", "a._b"),
        ("_a", "_a"),
        ("a//b", ""),
        ("a/", ""),
        ("quay.io/", ""),
        ("a b", "a b"),
        ("a+b", "a+b"),
    ] {
        assert_eq!(
            ImageName::parse(s),
            Err(ReferenceError::Path {
                input: s.to_string(),
                component: component.to_string()
            }),
            "{s}"
        );
    }
}

#[test]
fn rejects_uppercase_repository() {
    assert_eq!(
        ImageName::parse("Quay.io/x/Y"),
        Err(ReferenceError::Uppercase {
            input: "Quay.io/x/Y".to_string(),
            repository: "x/Y".to_string()
        })
    );
    assert!(matches!(
        ImageName::parse("Alpine"),
        Err(ReferenceError::Uppercase { .. })
    ));
    assert!(matches!(
        ImageName::parse("Foo/bar"),
        Err(ReferenceError::Uppercase { .. })
    ));
}

#[test]
fn rejects_bad_input() {
    assert_eq!(ImageName::parse(""), Err(ReferenceError::Empty));
    assert_eq!(ImageName::parse(":tag"), Err(ReferenceError::Empty));
    let long = "a".repeat(256);
    assert_eq!(
        ImageName::parse(&long),
        Err(ReferenceError::TooLong {
            input: long.clone(),
            len: 256
        })
    );
    assert!(ImageName::parse(&"a".repeat(255)).is_ok());
    // 255 characters as typed, 263 once Docker Hub's `library/` is
    // added: the printed name would not parse back.
    let hub = format!("docker.io/{}", "a".repeat(245));
    assert_eq!(
        ImageName::parse(&hub),
        Err(ReferenceError::TooLong {
            input: hub.clone(),
            len: 263
        })
    );
    assert!(ImageName::parse(&format!("docker.io/{}", "a".repeat(237))).is_ok());
    for tag in ["", ".x", "-x", "a!"] {
        let s = format!("quay.io/a:{tag}");
        assert!(
            matches!(ImageName::parse(&s), Err(ReferenceError::Tag { .. })),
            "{s}"
        );
    }
    let s = format!("quay.io/a:{}", "a".repeat(129));
    assert!(matches!(
        ImageName::parse(&s),
        Err(ReferenceError::Tag { .. })
    ));
    for s in [
        "quay.io/a@sha256:abc",
        "quay.io/a@",
        "a@md5:00",
        "a@sha256:x@y",
    ] {
        assert!(
            matches!(ImageName::parse(s), Err(ReferenceError::Digest { .. })),
            "{s}"
        );
    }
    for s in [
        "-bad.io/a",
        "bad-.io/a",
        "a..b.io/x",
        "host:/a",
        "host:x1/a",
        "[::1/a",
        "[]:5/a",
        "[::1]x/a",
    ] {
        assert!(
            matches!(ImageName::parse(s), Err(ReferenceError::Domain { .. })),
            "{s}"
        );
    }
    assert_eq!(
        ImageName::parse(HEX),
        Err(ReferenceError::Identifier {
            input: HEX.to_string()
        })
    );
}

#[test]
fn reference_parse_is_strict() {
    assert_eq!(
        Reference::parse("alpine"),
        Err(ReferenceError::NotQualified {
            input: "alpine".to_string()
        })
    );
    assert!(matches!(
        "library/alpine".parse::<Reference>(),
        Err(ReferenceError::NotQualified { .. })
    ));
    let r: Reference = "localhost/foo:1".parse().expect("qualified");
    assert_eq!(r.name(), "localhost/foo");
    assert_eq!(r.tag.as_deref(), Some("1"));
}

#[test]
fn display_round_trips() {
    for s in [
        "docker.io/library/alpine:latest",
        "quay.io/a/b",
        "127.0.0.1:5000/libpod/testimage:x",
        "[::1]:5000/a:b",
    ] {
        assert_eq!(reference(s).to_string(), s);
        assert_eq!(reference(&reference(s).to_string()), reference(s));
    }
}

#[test]
fn image_id_prefixes() {
    assert!(looks_like_image_id("abc"));
    assert!(looks_like_image_id("abc123"));
    assert!(looks_like_image_id(HEX));
    assert!(looks_like_image_id(&format!("sha256:{HEX}")));
    assert!(!looks_like_image_id("ab"));
    assert!(!looks_like_image_id("abcg"));
    assert!(!looks_like_image_id("ABC123"));
    assert!(!looks_like_image_id(&format!("{HEX}0")));
    assert!(!looks_like_image_id("sha256:"));
}

#[test]
fn domains() {
    for d in [
        "docker.io",
        "localhost",
        "a-b.c:5000",
        "127.0.0.1",
        "[::1]",
        "[::1]:443",
        "A.io",
    ] {
        assert!(is_valid_domain(d), "{d}");
    }
    for d in [
        "", "a.", ".a", "a..b", "-a.io", "a:", "a:b", "[::1", "[g::1]", "a/b", "*.a.io",
    ] {
        assert!(!is_valid_domain(d), "{d}");
    }
}
