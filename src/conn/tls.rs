//! libpq's `sslmode` on top of tokio-postgres (which knows only disable/prefer/require) and
//! rustls with the `ring` provider.
//!
//! | sslmode       | tokio-postgres | certificate check                                  |
//! |---------------|----------------|----------------------------------------------------|
//! | `disable`     | Disable        | —                                                  |
//! | `allow`       | Prefer         | none (libpq tries plain text first; we try TLS first) |
//! | `prefer`      | Prefer         | none                                               |
//! | `require`     | Require        | none, or chain only if a root certificate file exists (as libpq) |
//! | `verify-ca`   | Require        | chain against `sslrootcert`, not the host name     |
//! | `verify-full` | Require        | chain and host name                                |
//!
//! `sslrootcert` defaults to `~/.postgresql/root.crt`; `sslrootcert=system` uses the OS store.
//! `sslcert`/`sslkey` (default `~/.postgresql/postgresql.crt` and `.key`) are sent when both exist.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;

use super::ConnError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    Allow,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres is told.
    pub fn to_tokio(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as T;
        match self {
            SslMode::Disable => T::Disable,
            SslMode::Allow | SslMode::Prefer => T::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => T::Require,
        }
    }

    /// How the server certificate is checked.
    pub fn verification(self) -> Verification {
        match self {
            SslMode::Disable => Verification::NoTls,
            SslMode::Allow | SslMode::Prefer | SslMode::Require => Verification::None,
            SslMode::VerifyCa => Verification::Chain,
            SslMode::VerifyFull => Verification::ChainAndHostname,
        }
    }
}

impl std::str::FromStr for SslMode {
    type Err = ConnError;
    fn from_str(s: &str) -> Result<Self, ConnError> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(ConnError::Config(format!(
                    "invalid sslmode value: \"{s}\" (expected disable, allow, prefer, require, verify-ca or verify-full)"
                )))
            }
        })
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much of the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// No TLS at all.
    NoTls,
    /// Encrypt, accept any certificate (signatures of the handshake are still checked).
    None,
    /// The chain must lead to a trusted root; the host name is not checked.
    Chain,
    /// The chain and the host name.
    ChainAndHostname,
}

/// Where trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// `sslrootcert=system`: the operating system's store.
    System,
    /// A PEM file (explicit, or the default `~/.postgresql/root.crt`).
    File { path: PathBuf, explicit: bool },
    /// No file and no home directory to look in.
    Unset,
}

/// The TLS part of the connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The sslmode asked for.
    pub requested: SslMode,
    /// The sslmode in force (`require` becomes `verify-ca` when a root file exists, as in libpq).
    pub mode: SslMode,
    pub root_cert: RootCert,
    /// Client certificate and key, when both files exist.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

impl TlsSettings {
    /// Builds the TLS settings from libpq parameters. `sslmode` is `None` when not given anywhere.
    pub fn new(
        sslmode: Option<&str>,
        sslrootcert: Option<&str>,
        sslcert: Option<&str>,
        sslkey: Option<&str>,
        home: Option<&Path>,
    ) -> Result<Self, ConnError> {
        let pgdir = home.map(|h| h.join(".postgresql"));
        let root_cert = match sslrootcert {
            Some("system") => RootCert::System,
            Some(p) => RootCert::File {
                path: PathBuf::from(p),
                explicit: true,
            },
            None => match &pgdir {
                Some(d) => RootCert::File {
                    path: d.join("root.crt"),
                    explicit: false,
                },
                None => RootCert::Unset,
            },
        };
        let requested = match sslmode {
            Some(m) => m.parse()?,
            // libpq: sslrootcert=system makes verify-full the default.
            None if root_cert == RootCert::System => SslMode::VerifyFull,
            None => SslMode::Prefer,
        };
        if root_cert == RootCert::System && requested != SslMode::VerifyFull {
            return Err(ConnError::Config(format!(
                "weak sslmode \"{requested}\" may not be used with sslrootcert=system (use \"verify-full\")"
            )));
        }
        let mode = match (&root_cert, requested) {
            (RootCert::File { path, .. }, SslMode::Require) if path.is_file() => SslMode::VerifyCa,
            _ => requested,
        };
        let cert = sslcert
            .map(PathBuf::from)
            .or_else(|| pgdir.as_ref().map(|d| d.join("postgresql.crt")));
        let key = sslkey
            .map(PathBuf::from)
            .or_else(|| pgdir.as_ref().map(|d| d.join("postgresql.key")));
        let client_cert = match (cert, key) {
            (Some(c), Some(k)) if c.is_file() && k.is_file() => Some((c, k)),
            _ => None,
        };
        Ok(TlsSettings {
            requested,
            mode,
            root_cert,
            client_cert,
        })
    }

    /// The rustls configuration, or `None` for `sslmode=disable`.
    pub fn client_config(&self) -> Result<Option<ClientConfig>, ConnError> {
        install_provider();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ConnError::Tls(format!("TLS set-up failed: {e}")))?;
        let builder = match self.mode.verification() {
            Verification::NoTls => return Ok(None),
            Verification::None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerification(provider))),
            Verification::Chain => {
                let roots = Arc::new(self.roots()?);
                let inner = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| ConnError::Tls(format!("TLS set-up failed: {e}")))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
            }
            Verification::ChainAndHostname => builder.with_root_certificates(self.roots()?),
        };
        let config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let certs = read_certs(cert, "client certificate")?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    ConnError::Tls(format!(
                        "could not load private key file \"{}\": {e}",
                        key.display()
                    ))
                })?;
                builder.with_client_auth_cert(certs, key).map_err(|e| {
                    ConnError::Tls(format!("client certificate \"{}\": {e}", cert.display()))
                })?
            }
        };
        Ok(Some(config))
    }

    /// The trusted roots for `verify-ca` and `verify-full`.
    pub fn roots(&self) -> Result<RootCertStore, ConnError> {
        let mut store = RootCertStore::empty();
        match &self.root_cert {
            RootCert::System => {
                let native = rustls_native_certs::load_native_certs();
                let (added, _) = store.add_parsable_certificates(native.certs);
                if added == 0 {
                    return Err(ConnError::Tls(
                        "sslrootcert=system: no trusted certificates found in the system store".into(),
                    ));
                }
            }
            RootCert::File { path, .. } => {
                if !path.is_file() {
                    return Err(ConnError::Tls(format!(
                        "root certificate file \"{}\" does not exist; either provide the file, use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification",
                        path.display()
                    )));
                }
                for cert in read_certs(path, "root certificate")? {
                    store.add(cert).map_err(|e| {
                        ConnError::Tls(format!(
                            "root certificate file \"{}\": {e}",
                            path.display()
                        ))
                    })?;
                }
            }
            RootCert::Unset => {
                return Err(ConnError::Tls(
                    "could not get home directory to locate root certificate file; either provide the file (sslrootcert), use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification".into(),
                ))
            }
        }
        Ok(store)
    }
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, ConnError> {
    let err = |e: &dyn std::fmt::Display| {
        ConnError::Tls(format!(
            "could not read {what} file \"{}\": {e}",
            path.display()
        ))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(&e))?;
    if certs.is_empty() {
        return Err(err(&"no PEM certificate in it"));
    }
    Ok(certs)
}

/// Installs rustls' `ring` provider as the process default, once. Harmless if another provider
/// was installed first: we always build our configs with `ring` explicitly.
pub fn install_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `allow`/`prefer`/`require`: accept any certificate, but still check the handshake
/// signatures so the session key really belongs to the certificate presented.
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
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
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
        rustls::crypto::verify_tls13_signature(
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

/// `verify-ca`: the WebPKI chain check, with a host-name mismatch forgiven.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::config::SslMode as T;

    #[test]
    fn mapping_table() {
        let cases = [
            ("disable", SslMode::Disable, T::Disable, Verification::NoTls),
            ("allow", SslMode::Allow, T::Prefer, Verification::None),
            ("prefer", SslMode::Prefer, T::Prefer, Verification::None),
            ("require", SslMode::Require, T::Require, Verification::None),
            (
                "verify-ca",
                SslMode::VerifyCa,
                T::Require,
                Verification::Chain,
            ),
            (
                "verify-full",
                SslMode::VerifyFull,
                T::Require,
                Verification::ChainAndHostname,
            ),
        ];
        for (s, mode, tokio, ver) in cases {
            let m: SslMode = s.parse().unwrap();
            assert_eq!(m, mode, "{s}");
            assert_eq!(m.as_str(), s);
            assert_eq!(m.to_tokio(), tokio, "{s}");
            assert_eq!(m.verification(), ver, "{s}");
        }
        let err = "verify_full".parse::<SslMode>().unwrap_err().to_string();
        assert!(
            err.contains("invalid sslmode value: \"verify_full\""),
            "{err}"
        );
    }

    #[test]
    fn defaults_and_root_file_rule() {
        let home = tempfile::tempdir().unwrap();
        let h = Some(home.path());
        let s = TlsSettings::new(None, None, None, None, h).unwrap();
        assert_eq!(s.mode, SslMode::Prefer);
        assert_eq!(
            s.root_cert,
            RootCert::File {
                path: home.path().join(".postgresql/root.crt"),
                explicit: false
            }
        );
        assert_eq!(s.client_cert, None);
        // require without a root file: no verification.
        let s = TlsSettings::new(Some("require"), None, None, None, h).unwrap();
        assert_eq!(s.mode, SslMode::Require);
        // require with a root file: behaves as verify-ca, as libpq does.
        std::fs::create_dir(home.path().join(".postgresql")).unwrap();
        std::fs::write(home.path().join(".postgresql/root.crt"), "x").unwrap();
        let s = TlsSettings::new(Some("require"), None, None, None, h).unwrap();
        assert_eq!((s.requested, s.mode), (SslMode::Require, SslMode::VerifyCa));
        // client certificate used only when both files exist.
        std::fs::write(home.path().join(".postgresql/postgresql.crt"), "x").unwrap();
        let s = TlsSettings::new(None, None, None, None, h).unwrap();
        assert_eq!(s.client_cert, None);
        std::fs::write(home.path().join(".postgresql/postgresql.key"), "x").unwrap();
        let s = TlsSettings::new(None, None, None, None, h).unwrap();
        assert!(s.client_cert.is_some());
    }

    #[test]
    fn system_roots_rules() {
        let s = TlsSettings::new(None, Some("system"), None, None, None).unwrap();
        assert_eq!(
            (s.mode, s.root_cert),
            (SslMode::VerifyFull, RootCert::System)
        );
        for weak in ["disable", "allow", "prefer", "require", "verify-ca"] {
            let err = TlsSettings::new(Some(weak), Some("system"), None, None, None)
                .unwrap_err()
                .to_string();
            assert!(err.contains(&format!("weak sslmode \"{weak}\"")), "{err}");
        }
    }

    #[test]
    fn client_configs_build() {
        let dir = tempfile::tempdir().unwrap();
        for mode in ["allow", "prefer", "require"] {
            let s = TlsSettings::new(Some(mode), None, None, None, Some(dir.path())).unwrap();
            assert!(s.client_config().unwrap().is_some(), "{mode}");
        }
        let s = TlsSettings::new(Some("disable"), None, None, None, Some(dir.path())).unwrap();
        assert!(s.client_config().unwrap().is_none());
        // verify-* without a root file: a clear error naming the file.
        for mode in ["verify-ca", "verify-full"] {
            let s = TlsSettings::new(Some(mode), None, None, None, Some(dir.path())).unwrap();
            let err = s.client_config().unwrap_err().to_string();
            assert!(
                err.contains("root certificate file") && err.contains("root.crt"),
                "{err}"
            );
            assert!(err.contains("does not exist"), "{err}");
        }
        // a root file that is not PEM.
        let bad = dir.path().join("bad.crt");
        std::fs::write(&bad, "not a certificate\n").unwrap();
        let s = TlsSettings::new(Some("verify-ca"), bad.to_str(), None, None, None).unwrap();
        let err = s.client_config().unwrap_err().to_string();
        assert!(err.contains("bad.crt"), "{err}");
        // no home and no sslrootcert.
        let s = TlsSettings::new(Some("verify-full"), None, None, None, None).unwrap();
        assert!(s
            .client_config()
            .unwrap_err()
            .to_string()
            .contains("home directory"));
    }
}
