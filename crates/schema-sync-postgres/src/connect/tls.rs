//! TLS for `sslmode`, with rustls.
//!
//! The modes mean what they mean to libpq: `disable` never encrypts; `prefer` encrypts
//! when the server offers it and `require` insists on encryption, both without checking
//! the server's certificate (libpq only checks it under `verify-ca`/`verify-full`);
//! `verify-ca` and `verify-full` encrypt and check the certificate chain and host name
//! against the Mozilla root certificates (webpki-roots).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Whether the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verification {
    /// Encrypt only (`prefer`, `require`).
    None,
    /// Check chain and host name (`verify-ca`, `verify-full`).
    Full,
}

/// Splits `sslmode=verify-ca|verify-full` off a URL, which tokio-postgres does not parse,
/// and replaces it with `require`. Returns the URL to hand to tokio-postgres and how to
/// verify.
pub(crate) fn split_verification(url: &str) -> (String, Verification) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), Verification::None);
    };
    let mut verification = Verification::None;
    let params: Vec<String> = query
        .split('&')
        .map(|param| match param.split_once('=') {
            Some(("sslmode", "verify-ca" | "verify-full")) => {
                verification = Verification::Full;
                "sslmode=require".to_string()
            }
            _ => param.to_string(),
        })
        .collect();
    (format!("{base}?{}", params.join("&")), verification)
}

/// A rustls connector for tokio-postgres.
///
/// # Errors
/// A message when the crypto provider supports no safe protocol version (never with ring).
pub(crate) fn connector(verification: Verification) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let config = match verification {
        Verification::Full => {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Verification::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly {
                algorithms: provider.signature_verification_algorithms,
            }))
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
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
    fn verify_modes_become_require() {
        assert_eq!(
            split_verification("postgres://h/db?sslmode=verify-full&application_name=x"),
            (
                "postgres://h/db?sslmode=require&application_name=x".to_string(),
                Verification::Full
            )
        );
        assert_eq!(
            split_verification("postgres://h/db?sslmode=require").1,
            Verification::None
        );
        assert_eq!(split_verification("postgres://h/db").1, Verification::None);
    }

    #[test]
    fn connectors_build() {
        assert!(connector(Verification::None).is_ok());
        assert!(connector(Verification::Full).is_ok());
    }
}
