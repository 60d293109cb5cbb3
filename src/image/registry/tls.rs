//! TLS settings for one registry: the webpki roots plus the system bundle and
//! the host's `certs.d` directory, or no certificate checks at all for an
//! insecure registry.
//!
//! `certs.d` follows containers-certs.d(5): `<dir>/<host[:port]>/*.crt` are
//! extra CAs for that registry. Client certificates are not supported yet.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::Endpoint;

/// The Debian/Fedora-style system bundle, read when present.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
];

/// TLS client configuration for `endpoint`; an insecure one skips certificate
/// checks (signatures over the handshake are still verified).
pub(super) fn client_config(endpoint: &Endpoint) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions");
    let config = if endpoint.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCertificateCheck(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = system_roots().clone();
        for dir in certs_d_dirs(&endpoint.host) {
            add_pem_dir(&mut roots, &dir);
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Arc::new(config)
}

/// webpki roots plus the system bundle, parsed once per process.
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for bundle in SYSTEM_BUNDLES {
            add_pem_file(&mut roots, Path::new(bundle));
        }
        roots
    })
}

/// Per-registry CA directories, system-wide first, then the user's.
fn certs_d_dirs(host: &str) -> Vec<PathBuf> {
    let mut bases = vec![
        PathBuf::from("/etc/containers/certs.d"),
        PathBuf::from("/etc/docker/certs.d"),
    ];
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(config) = config_home {
        bases.push(config.join("containers/certs.d"));
    }
    // A host like `../x` must not walk out of the directory.
    if host.contains('/') || host.starts_with('.') {
        return Vec::new();
    }
    bases.into_iter().map(|b| b.join(host)).collect()
}

fn add_pem_dir(roots: &mut RootCertStore, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "crt") {
            add_pem_file(roots, &path);
        }
    }
}

/// Add every certificate in a PEM file; unreadable files and bad certificates
/// are skipped (logged), as a missing CA only fails the handshake later.
fn add_pem_file(roots: &mut RootCertStore, path: &Path) {
    let Ok(pem) = std::fs::read(path) else {
        return;
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(|c| c.ok())
        .collect();
    let (added, ignored) = roots.add_parsable_certificates(certs);
    tracing::debug!(path = %path.display(), added, ignored, "loaded CA certificates");
}

/// Accepts any server certificate: `--tls-verify=false`.
#[derive(Debug)]
struct NoCertificateCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certs_d_stays_inside_its_directory() {
        assert!(certs_d_dirs("../../etc").is_empty());
        assert!(certs_d_dirs("a/b").is_empty());
        let dirs = certs_d_dirs("registry.example:5000");
        assert!(dirs[0].ends_with("certs.d/registry.example:5000"));
    }

    #[test]
    fn builds_both_configs() {
        assert!(system_roots().len() >= webpki_roots::TLS_SERVER_ROOTS.len());
        for insecure in [false, true] {
            client_config(&Endpoint {
                host: "registry.example".into(),
                insecure,
            });
        }
    }
}
