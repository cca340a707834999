//! The one HTTP client stack for everything the gateway calls: backends, upstream servers and
//! their health checks, the third-party authorizer. hyper-util's pooled client (keep-alive
//! connections per scheme and `host:port`, HTTP/1.1, and HTTP/2 when a TLS backend offers `h2` by
//! ALPN) over hyper-rustls (rustls on `ring`: no C build dependency).
//!
//! Every connection opened goes through [`Limited`]: the per-host connection limits of
//! [`crate::backend_limit`].
//!
//! TLS settings ([`BackendTls`]) are per backend or upstream: the system's root certificates by
//! default, or a CA bundle (PEM file); certificate verification can be turned off only explicitly
//! (`insecure_skip_verify`), and is then logged at load as a warning. The server name sent (SNI)
//! and verified is the backend URL's host. One client, with its own pool, is made per distinct
//! TLS settings and kept for the life of the process, so a reload keeps the connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hyper::body::{Body as HttpBody, Incoming};
use hyper::{Request, Response};
use hyper_rustls::{ConfigBuilderExt as _, HttpsConnector};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::ClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::backend_limit::Limited;
use crate::body::ForwardBody;
use crate::config::BackendTls;

/// How long an idle backend connection is kept for reuse.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle connections kept per backend `host:port`.
const POOL_MAX_IDLE_PER_HOST: usize = 512;
/// Time allowed to open a backend connection (the API's timeout applies too).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled client over plain TCP (`http://` only), under the per-host connection limits.
pub type PlainClient<B = ForwardBody> = Client<Limited<HttpConnector>, B>;
/// A pooled client for `https://` (and `http://`) with one TLS configuration, under the per-host
/// connection limits.
pub type TlsClient<B = ForwardBody> = Client<Limited<HttpsConnector<HttpConnector>>, B>;

/// The TCP connector every client uses: `TCP_NODELAY`, a connect timeout.
fn tcp(connect_timeout: Duration) -> HttpConnector {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    http.enforce_http(false);
    http
}

/// A pooled client over plain TCP (`http://` URLs).
pub fn plain<B>(connect_timeout: Duration) -> PlainClient<B>
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
{
    let mut http = tcp(connect_timeout);
    http.enforce_http(true);
    pool().build(Limited(http))
}

/// A pooled client for `https://` and `http://` URLs, verifying servers as `tls` says.
///
/// # Errors
/// When the CA bundle cannot be read or holds no certificate, or the system roots cannot be loaded.
pub fn tls<B>(tls: &BackendTls, connect_timeout: Duration) -> Result<TlsClient<B>, String>
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
{
    let config = client_config(tls)?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(tcp(connect_timeout));
    Ok(pool().build(Limited(https)))
}

/// The pool settings shared by every client.
fn pool() -> hyper_util::client::legacy::Builder {
    let mut builder = Client::builder(TokioExecutor::new());
    builder
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(POOL_MAX_IDLE_PER_HOST)
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new());
    builder
}

/// The crypto provider: rustls on `ring`.
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())))
}

/// The rustls client configuration of `tls` (ALPN is set by the connector: `h2`, `http/1.1`).
fn client_config(tls: &BackendTls) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    if tls.insecure_skip_verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth());
    }
    let builder = match &tls.ca_file {
        None => {
            builder.with_native_roots().map_err(|e| format!("TLS: cannot load the system's root certificates: {e}"))?
        }
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let shown = path.display();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("tls.ca_file {shown}: {e}"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("tls.ca_file {shown}: {e}"))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("tls.ca_file {shown}: no usable CA certificate in the file"));
            }
            builder.with_root_certificates(roots)
        }
    };
    Ok(builder.with_no_client_auth())
}

/// The clients made so far, one per distinct TLS settings: backends sharing settings share a
/// pool, and a reload keeps it.
fn cache() -> &'static Mutex<HashMap<BackendTls, Arc<TlsClient>>> {
    static CACHE: OnceLock<Mutex<HashMap<BackendTls, Arc<TlsClient>>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The backend client for `tls` (made once per distinct settings).
///
/// # Errors
/// As [`tls`].
pub fn for_backend(settings: &BackendTls) -> Result<Arc<TlsClient>, String> {
    if let Some(client) = cache().lock().ok().and_then(|c| c.get(settings).cloned()) {
        return Ok(client);
    }
    let client = Arc::new(tls(settings, CONNECT_TIMEOUT)?);
    if let Ok(mut cache) = cache().lock() {
        cache.insert(settings.clone(), Arc::clone(&client));
    }
    Ok(client)
}

/// The client a request is sent with: plain, or TLS with a backend's settings.
#[derive(Clone, Debug)]
pub enum Sender<'a> {
    /// `http://`.
    Plain(&'a PlainClient),
    /// `https://` (or `http://` through a TLS-capable client).
    Tls(&'a TlsClient),
}

impl Sender<'_> {
    /// Sends `request` (absolute URI) on a pooled or new connection.
    ///
    /// # Errors
    /// When no connection could be opened, or the exchange failed before a response head.
    pub async fn send(
        &self,
        request: Request<ForwardBody>,
    ) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
        match self {
            Self::Plain(client) => client.request(request).await,
            Self::Tls(client) => client.request(request).await,
        }
    }
}

/// `insecure_skip_verify`: any certificate is accepted (the handshake's signatures are still
/// checked, so the session is encrypted, but not to a verified peer).
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
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
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
