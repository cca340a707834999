//! The TLS front end (`--listen-tls`): the certificates of the groups' bound domains, chosen by SNI
//! ([`SniResolver`]), the certificate for unknown SNI or none (the handshake is refused), the
//! minimum TLS version and the cipher suites (`gateway.tls`), all compiled from the config into
//! one rustls [`ServerConfig`] ([`TlsFront`]) that is swapped with the rest of the configuration on
//! reload. Also the certificate loading shared with the admin listener
//! ([`load_certified_key`]), the demo's self-signed certificate ([`self_signed`]) and its SHA-256
//! fingerprint.
//!
//! Every certificate and key is read and checked when the configuration is compiled (at start,
//! on reload, by `apig-gateway check`): a file that cannot be read, holds no PEM certificate or
//! key, or a key that does not match its certificate is a [`ConfigError`] naming the file and the
//! reason, and the running configuration stays.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ResolvesServerCertUsingSni};
use rustls::sign::CertifiedKey;
use sha2::{Digest as _, Sha256};
use tokio_rustls::TlsAcceptor;

use crate::config::{ConfigError, ConfigFile, TlsSettings, TlsVersion};

/// ALPN protocols of the API listener, in the server's order of preference.
pub const ALPN_API: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// How a request reached the gateway, given by its listener to each connection's requests:
/// over TLS or not, and the TLS listener's port (where `plain_http: redirect` sends the client).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transport {
    /// The request came over the TLS listener.
    pub tls: bool,
    /// The TLS listener's port, when there is one.
    pub https_port: Option<u16>,
}

/// A file's modification time and size, to notice it changed.
type Stamp = Option<(SystemTime, u64)>;

/// The compiled TLS front end of one configuration.
pub struct TlsFront {
    server_config: Arc<ServerConfig>,
    handshake_timeout: Duration,
    /// SNI names with a certificate.
    names: usize,
    has_default: bool,
    /// Every certificate and key file read, with its stamp when it was read.
    files: Vec<(PathBuf, Stamp)>,
}

impl std::fmt::Debug for TlsFront {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFront")
            .field("names", &self.names)
            .field("has_default", &self.has_default)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl TlsFront {
    /// The TLS front end of `source` (read from `file`): every group certificate and the default
    /// certificate loaded (paths relative to `file`'s folder) and checked.
    ///
    /// # Errors
    /// An unknown cipher suite, suites that no enabled version can use, a certificate or key file
    /// that cannot be read or does not match, a certificate not valid for a domain it is bound to,
    /// a domain with two certificates; the position is the object path.
    pub fn compile(source: &ConfigFile, file: &Path) -> Result<Self, ConfigError> {
        let err = |pos: String, reason: String| ConfigError::new(file, Some(pos), reason);
        let settings = source.gateway.tls.clone().unwrap_or_default();
        let provider = provider(&settings).map_err(|(pos, why)| err(pos, why))?;
        let base = file.parent().unwrap_or(Path::new(""));
        let mut files = Vec::new();
        let mut load = |cert: &Path, key: &Path| {
            let (cert, key) = (base.join(cert), base.join(key));
            let loaded = load_certified_key(&cert, &key, &provider);
            files.push((cert.clone(), stamp(&cert)));
            files.push((key.clone(), stamp(&key)));
            loaded
        };
        let default = match &settings.default_certificate {
            Some(c) => {
                Some(Arc::new(load(&c.cert, &c.key).map_err(|why| err("gateway.tls.default_certificate".into(), why))?))
            }
            None => None,
        };
        let mut by_name: HashMap<String, Arc<CertifiedKey>> = HashMap::new();
        let mut checker = ResolvesServerCertUsingSni::new();
        for (g, group) in source.groups.iter().enumerate() {
            for (c, certificate) in group.certificates.iter().enumerate() {
                let at = format!("groups[{g}].certificates[{c}]");
                let key = load(&certificate.cert, &certificate.key).map_err(|why| err(at.clone(), why))?;
                let key = Arc::new(key);
                let domains = certificate.domains.as_ref().unwrap_or(&group.domains);
                if domains.is_empty() {
                    return Err(err(at, "the group has no bound domain to present the certificate for".into()));
                }
                for domain in domains {
                    let name = sni_name(domain);
                    if !group.domains.iter().any(|d| sni_name(d) == name) {
                        return Err(err(
                            format!("{at}.domains"),
                            format!("{domain:?} is not one of the group's bound domains"),
                        ));
                    }
                    if name.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok() {
                        return Err(err(
                            format!("{at}.domains"),
                            format!(
                                "{domain:?} is an IP address, which clients never send as SNI: \
                                 use gateway.tls.default_certificate for it"
                            ),
                        ));
                    }
                    checker.add(&name, CertifiedKey::clone(&key)).map_err(|e| {
                        err(
                            at.clone(),
                            format!(
                                "the certificate {} is not usable for {name:?}: {e}",
                                base.join(&certificate.cert).display()
                            ),
                        )
                    })?;
                    if by_name.insert(name.clone(), Arc::clone(&key)).is_some() {
                        return Err(err(at.clone(), format!("domain {name:?} has two certificates")));
                    }
                }
            }
        }
        let names = by_name.len();
        let has_default = default.is_some();
        let resolver = SniResolver { by_name, default };
        let server_config = server_config(provider, &settings, Arc::new(resolver), &ALPN_API)
            .map_err(|why| err("gateway.tls".into(), why))?;
        Ok(Self {
            server_config,
            handshake_timeout: Duration::from_millis(settings.handshake_timeout_ms),
            names,
            has_default,
            files,
        })
    }

    /// As `self`, presenting `certificate` when the SNI names no certificate (the demo's
    /// self-signed one).
    ///
    /// # Errors
    /// As [`TlsFront::compile`] (the settings were checked already, so never in practice).
    pub fn with_default(source: &ConfigFile, certificate: CertifiedKey) -> Result<Self, String> {
        let settings = source.gateway.tls.clone().unwrap_or_default();
        let provider = provider(&settings).map_err(|(_, why)| why)?;
        let resolver = SniResolver { by_name: HashMap::new(), default: Some(Arc::new(certificate)) };
        let server_config = server_config(provider, &settings, Arc::new(resolver), &ALPN_API)?;
        Ok(Self {
            server_config,
            handshake_timeout: Duration::from_millis(settings.handshake_timeout_ms),
            names: 0,
            has_default: true,
            files: Vec::new(),
        })
    }

    /// Whether any certificate is configured (per domain or default).
    pub fn has_certificates(&self) -> bool {
        self.names > 0 || self.has_default
    }

    /// An acceptor for one connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.server_config))
    }

    /// The rustls configuration.
    pub fn server_config(&self) -> &Arc<ServerConfig> {
        &self.server_config
    }

    /// Time a client has to complete the handshake.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// The stamps (modification time, size) of the certificate and key files now.
    pub fn current_stamps(&self) -> Vec<Stamp> {
        self.files.iter().map(|(path, _)| stamp(path)).collect()
    }

    /// Whether a certificate or key file changed since it was read (a renewed certificate: the
    /// config is reloaded even when its own file did not change).
    pub fn files_changed(&self) -> bool {
        self.files.iter().any(|(path, was)| stamp(path) != *was)
    }
}

/// The name a domain is looked up by in the SNI: lower case, without a port.
fn sni_name(domain: &str) -> String {
    let d = domain.to_ascii_lowercase();
    match d.rsplit_once(':') {
        Some((host, port))
            if (!host.contains(':') || host.starts_with('[')) && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            host.to_owned()
        }
        _ => d,
    }
}

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The ring provider with the configured cipher suites (all of them by default).
fn provider(settings: &TlsSettings) -> Result<CryptoProvider, (String, String)> {
    let mut provider = rustls::crypto::ring::default_provider();
    if !settings.cipher_suites.is_empty() {
        let all = provider.cipher_suites.clone();
        let name = |s: &rustls::SupportedCipherSuite| format!("{:?}", s.suite());
        let mut chosen = Vec::new();
        for (i, wanted) in settings.cipher_suites.iter().enumerate() {
            let Some(suite) = all.iter().find(|s| name(s).eq_ignore_ascii_case(wanted)) else {
                let valid: Vec<String> = all.iter().map(name).collect();
                return Err((
                    format!("gateway.tls.cipher_suites[{i}]"),
                    format!("unknown cipher suite {wanted:?}; valid: {}", valid.join(", ")),
                ));
            };
            chosen.push(*suite);
        }
        provider.cipher_suites = chosen;
    }
    Ok(provider)
}

/// A rustls server configuration over `provider`, for the versions from `settings.min_version`.
fn server_config(
    provider: CryptoProvider,
    settings: &TlsSettings,
    resolver: Arc<dyn ResolvesServerCert>,
    alpn: &[&[u8]],
) -> Result<Arc<ServerConfig>, String> {
    let versions: &[&'static rustls::SupportedProtocolVersion] = match settings.min_version {
        TlsVersion::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::V1_3 => &[&rustls::version::TLS13],
    };
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .map_err(|e| format!("the cipher suites and the minimum version do not fit: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// A server configuration presenting one certificate to every client (the admin listener's),
/// HTTP/1.1 only, TLS 1.2 and 1.3 with rustls's default suites.
///
/// # Errors
/// As [`load_certified_key`].
pub fn single_certificate(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let provider = rustls::crypto::ring::default_provider();
    let certified = Arc::new(load_certified_key(cert, key, &provider)?);
    let resolver = SniResolver { by_name: HashMap::new(), default: Some(certified) };
    server_config(provider, &TlsSettings::default(), Arc::new(resolver), &[b"http/1.1"])
}

/// The certificate chain in the PEM file `cert` with the private key in the PEM file `key`.
///
/// # Errors
/// A message naming the file and the reason: it cannot be read, holds no PEM certificate or
/// private key (or a malformed one), the key type is not supported, or the key does not match the
/// certificate.
pub fn load_certified_key(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let cert_pem =
        std::fs::read(cert).map_err(|e| format!("cannot read the certificate file {}: {e}", cert.display()))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate file {} is not valid PEM: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("the certificate file {} holds no PEM certificate", cert.display()));
    }
    let key_pem = std::fs::read(key).map_err(|e| format!("cannot read the key file {}: {e}", key.display()))?;
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            format!("the key file {} holds no PEM private key", key.display())
        }
        e => format!("the key file {} is not valid PEM: {e}", key.display()),
    })?;
    CertifiedKey::from_der(chain, private, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            format!("the private key in {} does not match the certificate in {}", key.display(), cert.display())
        }
        e => format!("cannot use the key file {} with the certificate {}: {e}", key.display(), cert.display()),
    })
}

/// The certificate for a handshake: the one bound to the SNI name, else the default, else none
/// (rustls then refuses the handshake).
#[derive(Debug)]
struct SniResolver {
    by_name: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // rustls hands the SNI name in lower case, without a trailing dot
        hello.server_name().and_then(|name| self.by_name.get(name)).or(self.default.as_ref()).cloned()
    }
}

/// A self-signed certificate generated at start (the demo's).
pub struct SelfSigned {
    /// The certificate and its key.
    pub certified: CertifiedKey,
    /// The certificate, PEM (what a client trusts: `curl --cacert`).
    pub cert_pem: String,
    /// Its SHA-256 fingerprint (colon hex, as `openssl x509 -fingerprint -sha256`).
    pub fingerprint: String,
    /// The SHA-256 of its public key (SubjectPublicKeyInfo), base64: what `curl --pinnedpubkey
    /// sha256//…` checks.
    pub public_key_pin: String,
}

impl std::fmt::Debug for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfSigned").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

/// A new self-signed certificate (ECDSA P-256) for `names` (DNS names or IP addresses), valid for
/// a year from now.
///
/// # Errors
/// When rcgen cannot build it (a name that is neither a DNS name nor an IP address).
pub fn self_signed(names: &[&str]) -> Result<SelfSigned, String> {
    let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(names).map_err(|e| format!("cannot generate a certificate: {e}"))?;
    let der = cert.der().clone();
    let fingerprint = fingerprint(&der);
    let public_key_pin = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(rcgen::PublicKeyData::subject_public_key_info(&signing_key)))
    };
    let key = PrivateKeyDer::try_from(signing_key.serialize_der()).map_err(|e| e.to_owned())?;
    let certified = CertifiedKey::from_der(vec![der], key, &rustls::crypto::ring::default_provider())
        .map_err(|e| format!("cannot use the generated certificate: {e}"))?;
    Ok(SelfSigned { certified, cert_pem: cert.pem(), fingerprint, public_key_pin })
}

/// The SHA-256 fingerprint of a DER certificate, as upper-case colon hex (`AB:CD:…`), as
/// `openssl x509 -noout -fingerprint -sha256` prints it.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_names_drop_the_port_and_case() {
        assert_eq!(sni_name("API.Example.com:8443"), "api.example.com");
        assert_eq!(sni_name("api.example.com"), "api.example.com");
        assert_eq!(sni_name("[::1]:443"), "[::1]");
    }

    #[test]
    fn fingerprints_are_openssl_style() {
        let f = fingerprint(b"x");
        assert_eq!(f.len(), 32 * 3 - 1);
        assert!(f.split(':').all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit())), "{f}");
        assert_eq!(&f[..8], "2D:71:16");
    }
}
