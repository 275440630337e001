//! TLS for the API client: the certificate verifier is built once per process and shared by
//! every client.
//!
//! A platform verifier reads and decodes the system's CA bundle on Linux (about 2.5 ms of a
//! client's construction, most of it), and a process that makes a client per tenant or per
//! worker would pay it each time. The `ClientConfig` around the verifier is made per client,
//! so each keeps its own TLS session cache.

use std::sync::{Arc, Mutex, Once};

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore};
use url::Url;

/// ring as rustls's process default, for the API client and the Redis store alike: it builds
/// everywhere we ship without a C toolchain (aws-lc needs cmake when cross-compiling). A
/// provider installed first by someone else in the process is kept.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Why a client for an `https` base URL cannot be made.
#[derive(Debug, thiserror::Error)]
#[error(
    "no CA certificates could be loaded from this system to verify it ({0}): install the ca-certificates package, or point SSL_CERT_FILE at a PEM bundle"
)]
pub struct NoRoots(String);

/// Every protocol version rustls has and the platform's verifier (the process's one). ALPN
/// (h2, then HTTP/1.1) is left to the connector, which refuses a config that already has it.
///
/// A plain `http` base URL never needs a certificate (redirects are refused, so nothing
/// leaves the base URL): on a system without CA certificates, such as a slim container talking
/// to the emulator, its client gets a config that trusts nothing instead of failing.
pub fn client_config(base_url: &Url) -> Result<ClientConfig, NoRoots> {
    install_crypto_provider();
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .expect("ring supports every version rustls has");
    let config = match verifier(&provider) {
        Ok(verifier) => builder
            .dangerous()
            .with_custom_certificate_verifier(verifier),
        Err(_) if base_url.scheme() == "http" => {
            builder.with_root_certificates(RootCertStore::empty())
        }
        Err(e) => return Err(NoRoots(e.to_string())),
    }
    .with_no_client_auth();
    Ok(config)
}

/// The process's verifier, made on first success. A failure is not kept: a later client tries
/// again, so certificates installed while the process runs are found.
fn verifier(provider: &Arc<CryptoProvider>) -> Result<Arc<dyn ServerCertVerifier>, rustls::Error> {
    static VERIFIER: Mutex<Option<Arc<dyn ServerCertVerifier>>> = Mutex::new(None);
    let mut shared = VERIFIER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(verifier) = shared.as_ref() {
        return Ok(verifier.clone());
    }
    let verifier: Arc<dyn ServerCertVerifier> =
        Arc::new(rustls_platform_verifier::Verifier::new(provider.clone())?);
    *shared = Some(verifier.clone());
    Ok(verifier)
}
