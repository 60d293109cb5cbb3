//! The test images of `tests/fixtures/build-images.sh`, built once per
//! machine (cached by the script's content) and described by the digests the
//! script records, so tests can assert exact digests and ids.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::command::Cmd;
use super::registry::{Auth, Registry};

/// The repository namespace of every fixture image ("skiff-test/busybox").
pub const NAMESPACE: &str = "skiff-test";

/// One fixture image.
#[derive(Debug, Clone)]
pub struct Image {
    /// Repository name without namespace, e.g. "busybox".
    pub name: String,
    pub tag: String,
    /// Digest of the top-level manifest (of the index, for multiarch).
    pub digest: String,
    pub media_type: String,
    /// Config digest, i.e. the image ID; `None` for an index.
    pub config: Option<String>,
    /// Compressed layer digests, base first (empty for an index).
    pub layers: Vec<String>,
    /// Uncompressed layer digests, base first (empty for an index).
    pub diff_ids: Vec<String>,
    /// GOARCH name of a single-platform image.
    pub arch: Option<String>,
    /// The entries of an index.
    pub platforms: Vec<Platform>,
    source: String,
}

/// One entry of a multi-platform index.
#[derive(Debug, Clone)]
pub struct Platform {
    /// "linux/arm/v7".
    pub platform: String,
    pub digest: String,
    pub config: String,
    pub layers: Vec<String>,
    pub diff_ids: Vec<String>,
}

impl Image {
    /// "busybox:latest".
    pub fn name_tag(&self) -> String {
        format!("{}:{}", self.name, self.tag)
    }

    /// "skiff-test/busybox:latest", which a test registries.conf resolves.
    pub fn short_name(&self) -> String {
        format!("{NAMESPACE}/{}", self.name_tag())
    }

    /// "127.0.0.1:PORT/skiff-test/busybox:latest".
    pub fn reference(&self, reg: &Registry) -> String {
        reg.reference(&self.name_tag())
    }

    /// The image ID (config digest without "sha256:").
    #[track_caller]
    pub fn id(&self) -> &str {
        let config = self.config.as_deref().expect("an index has no image id");
        config.trim_start_matches("sha256:")
    }

    /// Where skopeo reads the image from ("oci:DIR:busybox:latest").
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The index entry for "os/arch[/variant]".
    #[track_caller]
    pub fn platform(&self, platform: &str) -> &Platform {
        self.platforms
            .iter()
            .find(|p| p.platform == platform)
            .unwrap_or_else(|| panic!("{} has no platform {platform}", self.name))
    }
}

/// All fixture images, and where they are on disk.
#[derive(Debug)]
pub struct Fixtures {
    dir: PathBuf,
    vars: BTreeMap<String, String>,
    images: Vec<Image>,
}

/// The fixtures, built on first use in this process (or found in the cache,
/// or in `$SKIFF_TEST_FIXTURES`). Panics if they cannot be built; a test that
/// should skip instead checks [`fixture_tools_present`] first.
pub fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = match std::env::var_os("SKIFF_TEST_FIXTURES") {
            Some(d) => {
                let d = PathBuf::from(d);
                if !d.join("digests.env").exists() {
                    build(&d);
                }
                d
            }
            None => cached_build(),
        };
        Fixtures::load(&dir)
    })
}

/// Push every fixture to `reg`; shorthand for `fixtures().push_to(reg)`.
pub fn push_to(reg: &Registry) {
    fixtures().push_to(reg);
}

/// Whether the tools to build and push fixtures exist (skips otherwise).
pub fn fixture_tools_present() -> bool {
    super::tools::require_tools(&["bash", "tar", "gzip", "jq", "skopeo", "busybox"])
}

/// Whether an open registry with every fixture can be had (skips
/// otherwise): what [`shared_registry`] needs.
pub fn registry_tools_present() -> bool {
    super::tools::require_tools(&["docker-registry", "skopeo", "jq"]) && fixture_tools_present()
}

/// One open registry holding every fixture, started on first use and shared
/// by the tests of one test file.
pub fn shared_registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        let reg = Registry::start(Auth::None);
        fixtures().push_to(&reg);
        reg
    })
}

/// `sha256:<hex>` of `data`, as registries name blobs.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// skopeo with no signature policy and no host registries.conf.
pub fn skopeo() -> Cmd {
    Cmd::new("skopeo")
        .arg("--insecure-policy")
        .env("CONTAINERS_REGISTRIES_CONF", "/dev/null")
}

impl Fixtures {
    fn load(dir: &Path) -> Fixtures {
        let text = std::fs::read_to_string(dir.join("digests.env"))
            .unwrap_or_else(|e| panic!("read {}/digests.env: {e}", dir.display()));
        let vars: BTreeMap<String, String> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let var = |k: &str| vars.get(k).cloned();
        let list = |k: &str| -> Vec<String> {
            vars.get(k)
                .map(|v| {
                    v.split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut images = Vec::new();
        for name in list("IMAGES") {
            let p = var_prefix(&name);
            let get = |suffix: &str| {
                var(&format!("{p}_{suffix}"))
                    .unwrap_or_else(|| panic!("digests.env lacks {p}_{suffix}"))
            };
            let reference = get("REF");
            let (_, tag) = reference.split_once(':').expect("REF is NAME:TAG");
            let platforms = list(&format!("{p}_PLATFORMS"))
                .into_iter()
                .map(|platform| {
                    let pp = format!("{p}_{}", var_prefix(&platform));
                    let get = |suffix: &str| {
                        var(&format!("{pp}_{suffix}"))
                            .unwrap_or_else(|| panic!("digests.env lacks {pp}_{suffix}"))
                    };
                    Platform {
                        digest: get("DIGEST"),
                        config: get("CONFIG"),
                        layers: list(&format!("{pp}_LAYERS")),
                        diff_ids: list(&format!("{pp}_DIFF_IDS")),
                        platform,
                    }
                })
                .collect();
            let source = if name == "docker-schema2" {
                format!("dir:{}", dir.join("docker-schema2").display())
            } else {
                format!("oci:{}:{reference}", dir.join("oci").display())
            };
            images.push(Image {
                tag: tag.to_owned(),
                digest: get("DIGEST"),
                media_type: get("MEDIA_TYPE"),
                config: var(&format!("{p}_CONFIG")),
                layers: list(&format!("{p}_LAYERS")),
                diff_ids: list(&format!("{p}_DIFF_IDS")),
                arch: var(&format!("{p}_ARCH")),
                platforms,
                source,
                name,
            });
        }
        Fixtures {
            dir: dir.to_owned(),
            vars,
            images,
        }
    }

    /// The output directory of the build script.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The OCI image layout holding every image but docker-schema2.
    pub fn layout(&self) -> PathBuf {
        self.dir.join("oci")
    }

    pub fn images(&self) -> &[Image] {
        &self.images
    }

    /// The image `name` ("busybox"); panics if it was not built.
    #[track_caller]
    pub fn image(&self, name: &str) -> &Image {
        self.get(name).unwrap_or_else(|| {
            let built: Vec<&str> = self.images.iter().map(|i| i.name.as_str()).collect();
            panic!("no fixture image {name:?}; built: {built:?}")
        })
    }

    /// The image `name`, if it was built (zstd and big are optional).
    pub fn get(&self, name: &str) -> Option<&Image> {
        self.images.iter().find(|i| i.name == name)
    }

    /// A raw value of digests.env.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// The file holding blob `digest` in the OCI layout.
    pub fn blob(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.layout().join("blobs/sha256").join(hex)
    }

    /// Copy image `name` into `reg` as `skiff-test/NAME:TAG`, every platform,
    /// digests unchanged.
    #[track_caller]
    pub fn push(&self, reg: &Registry, name: &str) {
        let image = self.image(name);
        let mut cmd = skopeo().args([
            "copy",
            "--quiet",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
        ]);
        if let Some(c) = reg.creds() {
            cmd = cmd.args(["--dest-creds", &c]);
        }
        cmd.arg(image.source())
            .arg(format!("docker://{}", image.reference(reg)))
            .run()
            .ok();
    }

    /// Push every fixture image to `reg` (in parallel).
    #[track_caller]
    pub fn push_to(&self, reg: &Registry) {
        std::thread::scope(|s| {
            let pushes: Vec<_> = self
                .images
                .iter()
                .map(|i| s.spawn(move || self.push(reg, &i.name)))
                .collect();
            for p in pushes {
                if let Err(panic) = p.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        });
    }
}

/// "escape-layers" -> "ESCAPE_LAYERS", "linux/arm/v7" -> "LINUX_ARM_V7", as
/// the build script names its variables.
fn var_prefix(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '-' | '/' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// The build script: `$SKIFF_TEST_FIXTURES_SCRIPT`, else the one in this source tree.
pub fn build_script() -> PathBuf {
    std::env::var_os("SKIFF_TEST_FIXTURES_SCRIPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build-images.sh")
        })
}

fn big() -> bool {
    std::env::var_os("SKIFF_FIXTURES_BIG").is_some_and(|v| v == "1")
}

/// Run the build script into `out`.
#[track_caller]
fn build(out: &Path) {
    Cmd::new("bash")
        .arg(build_script())
        .arg(out)
        .env("SKIFF_FIXTURES_BIG", if big() { "1" } else { "0" })
        .timeout(Duration::from_secs(600))
        .run()
        .ok();
}

/// Build into a cache directory named after everything the output depends
/// on, unless an earlier run (any test process) already did.
fn cached_build() -> PathBuf {
    let script = build_script();
    let mut hash = Sha256::new();
    hash.update(
        std::fs::read(&script).unwrap_or_else(|e| panic!("read {}: {e}", script.display())),
    );
    let busybox = std::env::var_os("BUSYBOX").unwrap_or_else(|| "/bin/busybox".into());
    if let Ok(m) = std::fs::metadata(&busybox) {
        use std::os::unix::fs::MetadataExt;
        hash.update(format!("{} {} {}", m.len(), m.mtime(), big()));
    }
    let key = hex::encode(&hash.finalize()[..8]);
    let uid = nix::unistd::geteuid();
    let candidates = [
        std::env::var_os("SKIFF_TEST_CACHE").map(PathBuf::from),
        option_env!("CARGO_TARGET_TMPDIR").map(PathBuf::from),
        Some(std::env::temp_dir()),
    ];
    for base in candidates.into_iter().flatten() {
        let done = base.join(format!("skiff-fixtures-{uid}-{key}"));
        if done.join("digests.env").exists() {
            return done;
        }
        if std::fs::create_dir_all(&base).is_err() {
            continue;
        }
        let Ok(tmp) = tempfile::Builder::new()
            .prefix(".skiff-fixtures-")
            .tempdir_in(&base)
        else {
            continue;
        };
        build(tmp.path());
        let tmp = tmp.keep();
        // Another test process may have finished first: keep its copy.
        if std::fs::rename(&tmp, &done).is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        return done;
    }
    panic!("no writable directory for the fixtures cache");
}
