//! TLS for `versioner serve --tls-cert FILE --tls-key FILE` (rustls, the aws-lc-rs provider,
//! the one the client uses too).
//!
//! The certificate file is PEM: the server's certificate first, then any intermediates. The
//! key file is a PEM private key (PKCS#8, PKCS#1 or SEC1). Both are read once, at start-up;
//! a problem with either stops the server with a message naming the file and the problem.
//! ALPN offers HTTP/2 and HTTP/1.1.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use versioner_core::{Error, Result};

/// A server's TLS configuration: its certificate chain and key. Cheap to clone.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads a PEM certificate chain and its private key.
    ///
    /// # Errors
    /// `INVALID_INPUT` on `tls_cert` or `tls_key` naming the file and what is wrong with it (missing,
    /// no certificate or key in it, or a key that does not match the certificate).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Tls> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .and_then(Iterator::collect)
            .map_err(|e| {
                Error::invalid(
                    "tls_cert",
                    format!("cannot read certificates from `{}`: {e}", cert.display()),
                )
            })?;
        if chain.is_empty() {
            return Err(Error::invalid(
                "tls_cert",
                format!(
                    "`{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    cert.display()
                ),
            ));
        }
        let private = PrivateKeyDer::from_pem_file(key).map_err(|e| {
            Error::invalid(
                "tls_key",
                format!("cannot read a private key from `{}`: {e}", key.display()),
            )
        })?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::internal(format!("TLS versions: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(|e| {
                Error::invalid(
                    "tls_key",
                    format!(
                        "`{}` does not go with the certificate in `{}`: {e}",
                        key.display(),
                        cert.display()
                    ),
                )
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }
}
