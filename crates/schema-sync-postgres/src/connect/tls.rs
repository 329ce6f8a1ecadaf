//! TLS for `sslmode` and `sslrootcert`, with rustls, as libpq means them.
//!
//! - `disable` never encrypts; `prefer` (the default) encrypts when the server offers it
//!   and `require` insists on encryption, both without checking the server's certificate
//!   (libpq only checks it under the two `verify-` modes). The server must still prove it
//!   holds the key of the certificate it shows.
//! - `verify-ca` checks that the certificate chains to a trusted root; `verify-full` also
//!   checks that it names the host of the URL (a DNS name or IP address in its subject
//!   alternative names).
//! - The trusted roots are the PEM certificates of the file `sslrootcert=PATH`, or the
//!   Mozilla roots (webpki-roots) without it or with `sslrootcert=system`.
//!
//! tokio-postgres parses neither the `verify-` modes nor `sslrootcert`, so
//! [`split_tls`] takes them off the URL (handing tokio-postgres `sslmode=require`) and
//! [`connector`] does the checking. The ring provider is named explicitly, so a build
//! that also links another rustls provider (object_store's aws-lc-rs in the snapshot
//! store) never has to guess a process default.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::verify_server_cert_signed_by_trust_anchor;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// How the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verification {
    /// Encrypt, check nothing but the key (`prefer`, `require`).
    EncryptOnly,
    /// Check the chain against the trusted roots (`verify-ca`).
    Chain,
    /// Check the chain and that the certificate names the host (`verify-full`).
    ChainAndHost,
}

/// The TLS settings tokio-postgres does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// From `sslmode`.
    pub verification: Verification,
    /// From `sslrootcert`: a PEM file of trusted roots, `None` for the Mozilla roots.
    pub root_cert: Option<PathBuf>,
}

/// Takes `sslmode=verify-ca|verify-full` (replaced with `require`) and `sslrootcert`
/// (removed) off `url`. Returns the URL to hand to tokio-postgres and the settings.
pub(crate) fn split_tls(url: &str) -> (String, TlsSettings) {
    let mut settings = TlsSettings {
        verification: Verification::EncryptOnly,
        root_cert: None,
    };
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), settings);
    };
    let mut params = Vec::new();
    for param in query.split('&') {
        match param.split_once('=') {
            Some(("sslmode", "verify-ca")) => {
                settings.verification = Verification::Chain;
                params.push("sslmode=require".to_string());
            }
            Some(("sslmode", "verify-full")) => {
                settings.verification = Verification::ChainAndHost;
                params.push("sslmode=require".to_string());
            }
            Some(("sslrootcert", path)) => {
                let path = percent_decode(path);
                settings.root_cert = (path != "system").then(|| PathBuf::from(path));
            }
            _ => params.push(param.to_string()),
        }
    }
    let url = if params.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", params.join("&"))
    };
    (url, settings)
}

/// Decodes `%XX` escapes of a URL parameter (a path with spaces or `&`); anything that is
/// not a valid escape is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A rustls connector for tokio-postgres that checks what `settings` ask for.
///
/// # Errors
/// A message naming the `sslrootcert` file when it cannot be read or holds no
/// certificate, or when the crypto provider supports no safe protocol version (never
/// with ring).
pub(crate) fn connector(settings: &TlsSettings) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let config = match settings.verification {
        Verification::ChainAndHost => builder
            .with_root_certificates(roots(settings)?)
            .with_no_client_auth(),
        Verification::Chain => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly {
                roots: roots(settings)?,
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
        Verification::EncryptOnly => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The trusted roots: the certificates of `sslrootcert`, or the Mozilla roots.
fn roots(settings: &TlsSettings) -> Result<RootCertStore, String> {
    let Some(path) = &settings.root_cert else {
        return Ok(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        });
    };
    let shown = path.display();
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|found| found.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "cannot read sslrootcert {shown}: {e}; name a readable PEM file of CA certificates"
            )
        })?;
    let mut store = RootCertStore::empty();
    let (_, rejected) = store.add_parsable_certificates(certificates);
    if store.is_empty() {
        return Err(format!(
            "sslrootcert {shown} holds no usable CA certificate ({rejected} rejected); name a PEM file with -----BEGIN CERTIFICATE----- blocks"
        ));
    }
    Ok(store)
}

/// `verify-ca`: the certificate must chain to a trusted root (and be in date and meant
/// for a server), whatever host it names.
#[derive(Debug)]
struct ChainOnly {
    roots: RootCertStore,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let certificate = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &certificate,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Accepts any certificate but still checks that the server holds its key, as libpq does
/// under `sslmode=require`.
#[derive(Debug)]
struct EncryptOnly {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for EncryptOnly {
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_modes_become_require_and_sslrootcert_is_taken_off() {
        let (url, settings) = split_tls(
            "postgres://h/db?sslmode=verify-full&application_name=x&sslrootcert=/tmp/my%20ca.pem",
        );
        assert_eq!(url, "postgres://h/db?sslmode=require&application_name=x");
        assert_eq!(settings.verification, Verification::ChainAndHost);
        assert_eq!(settings.root_cert, Some(PathBuf::from("/tmp/my ca.pem")));
        assert_eq!(
            split_tls("postgres://h/db?sslmode=verify-ca")
                .1
                .verification,
            Verification::Chain
        );
        let (url, settings) = split_tls("postgres://h/db?sslrootcert=system");
        assert_eq!(url, "postgres://h/db");
        assert_eq!(settings.root_cert, None);
        assert_eq!(
            split_tls("postgres://h/db?sslmode=require").1.verification,
            Verification::EncryptOnly
        );
        assert_eq!(
            split_tls("postgres://h/db").1.verification,
            Verification::EncryptOnly
        );
    }

    #[test]
    fn connectors_build_and_a_missing_root_file_is_named() {
        for verification in [
            Verification::EncryptOnly,
            Verification::Chain,
            Verification::ChainAndHost,
        ] {
            let settings = TlsSettings {
                verification,
                root_cert: None,
            };
            assert!(connector(&settings).is_ok(), "{verification:?}");
        }
        let missing = TlsSettings {
            verification: Verification::ChainAndHost,
            root_cert: Some(PathBuf::from("/nonexistent/ca.pem")),
        };
        let message = match connector(&missing) {
            Ok(_) => panic!("a missing sslrootcert must be refused"),
            Err(message) => message,
        };
        assert!(
            message.contains("sslrootcert /nonexistent/ca.pem"),
            "{message}"
        );
    }
}
