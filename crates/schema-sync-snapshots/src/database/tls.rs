//! TLS for the PostgreSQL store, following libpq's `sslmode`.
//!
//! - `disable`: plain TCP;
//! - `prefer` (the default) and `require`: encrypted, certificate not checked (as libpq);
//! - `verify-ca` and `verify-full`: the chain and host name are checked against the web's
//!   root certificates. tokio-postgres does not parse these two modes, so they are handed
//!   to it as `require` and the verification is done here.
//!
//! The ring provider is named explicitly, so a build that also links another rustls
//! provider (object_store's aws-lc-rs) never has to guess a process default.

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
    EncryptOnly,
    /// Check the chain and host name (`verify-ca`, `verify-full`).
    Full,
}

/// Replaces `sslmode=verify-ca|verify-full` in `url` with `require` and says whether to
/// verify.
pub(crate) fn split_verification(url: &str) -> (String, Verification) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), Verification::EncryptOnly);
    };
    let mut verification = Verification::EncryptOnly;
    let params: Vec<&str> = query
        .split('&')
        .map(|param| match param {
            "sslmode=verify-ca" | "sslmode=verify-full" => {
                verification = Verification::Full;
                "sslmode=require"
            }
            other => other,
        })
        .collect();
    (format!("{base}?{}", params.join("&")), verification)
}

/// A rustls connector for tokio-postgres.
///
/// # Errors
/// A message when the provider supports no safe protocol version (never with ring).
pub(crate) fn connector(verification: Verification) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let config = match verification {
        Verification::Full => builder
            .with_root_certificates(RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
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

/// Accepts any certificate but checks that the server holds its key, as libpq does under
/// `sslmode=require`.
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
            Verification::EncryptOnly
        );
        assert_eq!(
            split_verification("postgres://h/db").1,
            Verification::EncryptOnly
        );
        assert!(connector(Verification::Full).is_ok());
        assert!(connector(Verification::EncryptOnly).is_ok());
    }
}
