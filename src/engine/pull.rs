//! `pull`: resolve a name, fetch its manifest, config and layers from a
//! registry, and commit the image to the store. Layers download in parallel;
//! each is unpacked while it arrives and checked against its digests.

use crate::engine::layer_fill::{self, LayerSource};
use crate::engine::remote::{with_retries, TlsVerify};
use crate::engine::{workers, Engine, EngineError};
use crate::image::auth::Credentials;
use crate::image::config::{ConfigError, ImageConfig};
use crate::image::digest::Digest;
use crate::image::manifest::{self, Manifest, ManifestError};
use crate::image::platform::Platform;
use crate::image::reference::{ImageName, Reference, ReferenceError};
use crate::image::registry::{RegistryClient, RegistryError};
use crate::storage::blobs::BlobError;
use crate::storage::images::ImageRecord;
use crate::storage::layers::LayerError;
use crate::storage::StoreError;

/// Typed options of a pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    pub platform: Platform,
    pub tls_verify: TlsVerify,
    /// `--creds`; otherwise the auth file is consulted.
    pub credentials: Option<Credentials>,
    /// Parallel layer downloads.
    pub jobs: usize,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self {
            platform: Platform::host(),
            tls_verify: TlsVerify::Default,
            credentials: None,
            jobs: 6,
        }
    }
}

/// Progress events of a pull, for a display to show.
pub trait PullObserver: Sync {
    fn trying(&self, _reference: &Reference) {}
    fn layer_start(&self, _blob: &Digest, _size: u64) {}
    fn layer_progress(&self, _blob: &Digest, _bytes: u64) {}
    /// `existed`: nothing had to be fetched.
    fn layer_done(&self, _blob: &Digest, _existed: bool) {}
    fn writing_manifest(&self) {}
}

/// A pull with nobody watching.
pub struct Silent;
impl PullObserver for Silent {}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Registries(#[from] crate::config::registries::RegistriesError),
    #[error("{reference}: {source}")]
    Manifest {
        reference: String,
        #[source]
        source: ManifestError,
    },
    #[error("{reference}: {source}")]
    Config {
        reference: String,
        #[source]
        source: ConfigError,
    },
    #[error("{reference}: layer {blob}: {source}")]
    Layer {
        reference: String,
        blob: Digest,
        #[source]
        source: LayerError,
    },
    #[error("{reference}: {source}")]
    Blob {
        reference: String,
        #[source]
        source: BlobError,
    },
    #[error("short name {name:?} did not resolve to an alias and no unqualified-search registries are defined in registries.conf; use a fully qualified name (e.g. docker.io/library/{name})")]
    NoSearchRegistries { name: String },
    #[error("{name}: image not known: tried {tried}: {last}")]
    NotFound {
        name: String,
        tried: String,
        last: String,
    },
}

/// Where one candidate name is fetched from.
struct Source {
    reference: Reference,
    client: RegistryClient,
}

impl Engine {
    /// The fully qualified references a user's name may mean, in order.
    pub fn pull_candidates(&self, name: &str) -> Result<Vec<Reference>, PullError> {
        let parsed = ImageName::parse(name)?;
        if !parsed.is_short() {
            let r = parsed.to_reference().ok_or(ReferenceError::NotQualified {
                input: name.to_string(),
            })?;
            return Ok(vec![r.with_default_tag()]);
        }
        let cands: Vec<Reference> = self
            .registries()?
            .resolve_short(&parsed)
            .into_iter()
            .map(Reference::with_default_tag)
            .collect();
        if cands.is_empty() {
            return Err(PullError::NoSearchRegistries {
                name: name.to_string(),
            });
        }
        Ok(cands)
    }

    fn sources(&self, reference: &Reference, opts: &PullOptions) -> Result<Vec<Source>, PullError> {
        let mut out = Vec::new();
        for remote in self.registries()?.pull_sources(reference)? {
            let client =
                self.registry_client(&remote, opts.tls_verify, opts.credentials.as_ref())?;
            out.push(Source {
                reference: remote.reference,
                client,
            });
        }
        Ok(out)
    }

    /// Pull `name` and return the stored image, named as the candidate
    /// that succeeded.
    pub fn pull(
        &self,
        name: &str,
        opts: &PullOptions,
        observer: &dyn PullObserver,
    ) -> Result<ImageRecord, PullError> {
        let candidates = self.pull_candidates(name)?;
        let mut tried = Vec::new();
        let mut last: Option<PullError> = None;
        for cand in &candidates {
            observer.trying(cand);
            for source in self.sources(cand, opts)? {
                match self.pull_from(cand, &source, opts, observer) {
                    Ok(rec) => return Ok(rec),
                    Err(e) => {
                        tracing::debug!("pulling {} from {}: {e}", cand, source.reference);
                        tried.push(source.reference.to_string());
                        let not_found = matches!(&e, PullError::Registry(r) if r.is_not_found());
                        let fatal = !not_found && candidates.len() == 1;
                        if fatal && !matches!(e, PullError::Registry(_)) {
                            return Err(e);
                        }
                        last = Some(e);
                    }
                }
            }
        }
        let not_found = |last: String| PullError::NotFound {
            name: name.to_string(),
            tried: tried.join(", "),
            last,
        };
        match last {
            Some(PullError::Registry(e)) if e.is_not_found() => Err(not_found(e.to_string())),
            Some(e) => Err(e),
            None => Err(not_found("no source".to_string())),
        }
    }

    fn pull_from(
        &self,
        name: &Reference,
        source: &Source,
        opts: &PullOptions,
        observer: &dyn PullObserver,
    ) -> Result<ImageRecord, PullError> {
        let ref_str = name.to_string();
        let client = &source.client;
        let tag_or_digest = match (&source.reference.digest, &source.reference.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        };
        let mf = |source| PullError::Manifest {
            reference: ref_str.clone(),
            source,
        };
        let fetched = client.get_manifest(&tag_or_digest)?;
        let mut digests = vec![];
        let mut extra_blobs = vec![];
        let (manifest, manifest_bytes, manifest_digest, media_type) =
            match Manifest::parse(&fetched.bytes, Some(&fetched.media_type)).map_err(mf)? {
                Manifest::Index(idx) => {
                    let chosen = idx.select(&opts.platform).map_err(mf)?.clone();
                    extra_blobs.push(fetched.bytes.clone());
                    digests.push(fetched.digest.clone());
                    let inner = client.get_manifest(&chosen.digest.to_string())?;
                    match Manifest::parse(&inner.bytes, Some(&inner.media_type)).map_err(mf)? {
                        Manifest::Image(m) => (*m, inner.bytes, inner.digest, inner.media_type),
                        Manifest::Index(_) => {
                            return Err(mf(ManifestError::Invalid(
                                "an index entry points at another index".into(),
                            )))
                        }
                    }
                }
                Manifest::Image(m) => (*m, fetched.bytes, fetched.digest, fetched.media_type),
            };
        digests.insert(0, manifest_digest.clone());
        if manifest.config.size > manifest::MAX_DOCUMENT_SIZE {
            return Err(mf(ManifestError::Invalid(format!(
                "config of {} bytes is too large",
                manifest.config.size
            ))));
        }
        let mut config_bytes = Vec::new();
        client.fetch_blob(
            &manifest.config.digest,
            Some(manifest.config.size),
            &mut config_bytes,
            &mut |_| {},
        )?;
        let config =
            ImageConfig::parse(&config_bytes, manifest.layers.len()).map_err(|source| {
                PullError::Config {
                    reference: ref_str.clone(),
                    source,
                }
            })?;

        let store = self.store();
        let _content = store.hold_content()?;
        let blob_err = |source| PullError::Blob {
            reference: ref_str.clone(),
            source,
        };
        store.blobs().put(&config_bytes).map_err(blob_err)?;
        store.blobs().put(&manifest_bytes).map_err(blob_err)?;
        for b in &extra_blobs {
            store.blobs().put(b).map_err(blob_err)?;
        }

        let plan = layer_fill::plan(&manifest.layers, &config.rootfs.diff_ids);
        self.fetch_layers(&ref_str, client, &plan, opts, observer)?;

        observer.writing_manifest();
        let layers = plan
            .iter()
            .map(layer_fill::PlannedLayer::image_layer)
            .collect();
        let record = self.commit_image(
            &manifest.config.digest,
            &manifest_digest,
            &media_type,
            digests,
            layers,
            &[name_for_record(name)],
        )?;
        Ok(record)
    }

    /// Download (and unpack) every layer the store lacks, several at once.
    fn fetch_layers(
        &self,
        ref_str: &str,
        client: &RegistryClient,
        plan: &[layer_fill::PlannedLayer],
        opts: &PullOptions,
        observer: &dyn PullObserver,
    ) -> Result<(), PullError> {
        workers::for_each(plan.len(), opts.jobs, |i| {
            self.fetch_layer(ref_str, client, plan, i, observer)
        })?;
        // vfs layers are built on their parents, so in order, once all blobs
        // are here.
        self.ensure_layers_from_blobs(plan)
            .map_err(|(layer, source)| PullError::Layer {
                reference: ref_str.to_string(),
                blob: layer.desc.digest.clone(),
                source,
            })
    }

    fn fetch_layer(
        &self,
        ref_str: &str,
        client: &RegistryClient,
        plan: &[layer_fill::PlannedLayer],
        i: usize,
        observer: &dyn PullObserver,
    ) -> Result<(), PullError> {
        let layer = &plan[i];
        let store = self.store();
        let blob = &layer.desc.digest;
        let layer_err = |source| PullError::Layer {
            reference: ref_str.to_string(),
            blob: blob.clone(),
            source,
        };
        let blob_err = |source| PullError::Blob {
            reference: ref_str.to_string(),
            source,
        };
        let _bl = store.lock_blob(blob)?;
        let have_blob = store.blobs().contains(blob);
        let have_layer = store.layers().contains(&layer.chain_id);
        if have_blob {
            observer.layer_done(blob, true);
            return Ok(());
        }
        observer.layer_start(blob, layer.desc.size);
        // Stream into the blob store and, for drivers whose layers are
        // independent, into the unpacker at the same time.
        let stream_unpack = !have_layer && layer_fill::independent_layers(store.driver());
        let retryable = |e: &PullError| matches!(e, PullError::Registry(r) if r.is_retryable());
        with_retries(retryable, || {
            let mut writer = store
                .blobs()
                .writer(blob, Some(layer.desc.size))
                .map_err(blob_err)?;
            let mut progress = |n: u64| observer.layer_progress(blob, n);
            if stream_unpack {
                let (mut pw, pr) = crate::engine::pipe::pipe();
                std::thread::scope(|s| {
                    let unpacker =
                        s.spawn(|| self.ensure_layer(plan, i, LayerSource::Stream(Box::new(pr))));
                    let fetched = client.fetch_blob(
                        blob,
                        Some(layer.desc.size),
                        &mut crate::engine::pipe::Tee {
                            a: &mut writer,
                            b: &mut pw,
                        },
                        &mut progress,
                    );
                    pw.close();
                    let unpacked = unpacker.join().unwrap_or_else(|_| {
                        Err(LayerError::Fill {
                            chain_id: layer.chain_id.clone(),
                            source: "the unpacking thread panicked".into(),
                        })
                    });
                    match (fetched, unpacked) {
                        (Ok(_), Ok(_)) => Ok(()),
                        // The unpacker stopped reading: its error is the cause.
                        (Err(RegistryError::Write { .. }), Err(e)) | (Ok(_), Err(e)) => {
                            Err(layer_err(e))
                        }
                        (Err(e), _) => Err(e.into()),
                    }
                })?;
            } else {
                client.fetch_blob(blob, Some(layer.desc.size), &mut writer, &mut progress)?;
            }
            writer.commit().map_err(blob_err)
        })?;
        observer.layer_done(blob, false);
        Ok(())
    }
}

/// The name a pulled image is recorded under: `repo:tag`, or `repo@digest`
/// for a pull by digest.
fn name_for_record(r: &Reference) -> String {
    match (&r.digest, &r.tag) {
        (Some(d), _) => format!("{}@{}", r.name(), d),
        (None, Some(t)) => format!("{}:{}", r.name(), t),
        (None, None) => format!("{}:latest", r.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names() {
        let r = Reference::parse("docker.io/library/alpine:3.20").expect("valid");
        assert_eq!(name_for_record(&r), "docker.io/library/alpine:3.20");
        let d = Digest::of(b"x");
        let r = Reference::parse(&format!("quay.io/a/b@{d}")).expect("valid");
        assert_eq!(name_for_record(&r), format!("quay.io/a/b@{d}"));
    }
}
