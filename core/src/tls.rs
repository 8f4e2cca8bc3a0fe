//! rustls client configuration: system roots plus extra CAs, and the explicit danger flags.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::{TlsOptions, TlsVersion};
use crate::der;
use crate::error::{Error, ErrorKind, Result, Stage};

/// The one crypto provider (ring), shared by every connection.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The operating system's roots, loaded once per process (honours `SSL_CERT_FILE`).
fn native_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// Builds a client config from the options.
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>> {
    let tls_err = |e: rustls::Error| Error::new(ErrorKind::Tls, Stage::Build, format!("tls configuration: {e}"));
    let versions: &[&rustls::SupportedProtocolVersion] = match options.min_version {
        Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .map_err(tls_err)?;
    let mut roots = RootCertStore::empty();
    if options.native_roots {
        roots.add_parsable_certificates(native_roots().iter().cloned());
    }
    for ca in &options.extra_ca {
        roots
            .add(ca.clone())
            .map_err(|e| Error::invalid(format!("tls ca: unusable certificate: {e}")))?;
    }
    let verify_certs = !options.accept_invalid_certs;
    if roots.is_empty() && verify_certs && !options.allow_self_signed {
        return Err(Error::new(
            ErrorKind::Tls,
            Stage::Build,
            "no trusted root certificates: add a CA or enable the system roots",
        ));
    }
    let webpki = match roots.is_empty() || !verify_certs {
        true => None,
        false => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| Error::new(ErrorKind::Tls, Stage::Build, format!("tls configuration: {e}")))?,
        ),
    };
    let verifier = Verifier {
        webpki,
        trusted: options.extra_ca.clone(),
        verify_certs,
        check_names: !options.accept_invalid_hostnames,
        allow_self_signed: options.allow_self_signed,
        fingerprints: options.fingerprints.clone(),
        provider: provider(),
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier));
    let config = match &options.client_identity {
        None => builder.with_no_client_auth(),
        Some(id) => builder.with_client_auth_cert(id.chain.clone(), id.key()).map_err(|e| {
            Error::new(
                ErrorKind::Tls,
                Stage::Build,
                format!("client certificate: {e} (does the key belong to the certificate?)"),
            )
        })?,
    };
    Ok(Arc::new(config))
}

/// The name the certificate must match: the override, or the host (an IP stays an IP).
pub fn server_name(options: &TlsOptions, host: &str) -> Result<ServerName<'static>> {
    let name = options.server_name.as_deref().unwrap_or(host);
    ServerName::try_from(name.to_string())
        .map_err(|_| Error::invalid(format!("tls server name {name:?} is not a valid DNS name or IP")))
}

/// Verification as OpenSSL clients get it, no weaker: the chain against the roots (webpki), and
/// a certificate the user explicitly trusted — or, with `allow_self_signed`, a self-signed one —
/// accepted when the server presents it as its own, within its validity period and for the host
/// name (rustls refuses a CA certificate as an end entity: `openssl req -x509` makes exactly
/// that). The handshake signature is verified with the certificate's key in every case.
#[derive(Debug)]
struct Verifier {
    /// `None` when nothing is verified, or when only self-signed certificates can be accepted.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    trusted: Vec<CertificateDer<'static>>,
    verify_certs: bool,
    check_names: bool,
    allow_self_signed: bool,
    fingerprints: Vec<Vec<u8>>,
    provider: Arc<CryptoProvider>,
}

impl Verifier {
    fn fingerprint_matches(&self, cert: &CertificateDer<'_>) -> bool {
        self.fingerprints.is_empty()
            || self.fingerprints.iter().any(|f| {
                let algorithm = if f.len() == 20 {
                    &ring::digest::SHA1_FOR_LEGACY_USE_ONLY
                } else {
                    &ring::digest::SHA256
                };
                ring::digest::digest(algorithm, cert.as_ref()).as_ref() == f.as_slice()
            })
    }

    /// With verification off, a certificate webpki will not read (an X.509 v1 certificate, as
    /// test servers ship) still proves the handshake: its public key, read from the DER, must
    /// verify the signature.
    fn raw_key_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
        tls13: bool,
    ) -> Option<HandshakeSignatureValid> {
        let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(der::spki(cert)?);
        let key = webpki::RawPublicKeyEntity::try_from(&spki).ok()?;
        let candidates = self
            .provider
            .signature_verification_algorithms
            .mapping
            .iter()
            .find(|(scheme, _)| *scheme == dss.scheme)?
            .1;
        let candidates = if tls13 {
            &candidates[..1.min(candidates.len())]
        } else {
            candidates
        };
        candidates
            .iter()
            .any(|alg| key.verify_signature(*alg, message, dss.signature()).is_ok())
            .then(HandshakeSignatureValid::assertion)
    }

    /// A certificate trusted by itself (not through a chain): within its validity, for the name.
    fn verify_direct(
        &self,
        cert: &CertificateDer<'_>,
        name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::CertificateError as E;
        let (not_before, not_after) = der::validity(cert).ok_or(rustls::Error::InvalidCertificate(E::BadEncoding))?;
        if now.as_secs() < not_before {
            return Err(rustls::Error::InvalidCertificate(E::NotValidYet));
        }
        if now.as_secs() > not_after {
            return Err(rustls::Error::InvalidCertificate(E::Expired));
        }
        if self.check_names {
            webpki::EndEntityCert::try_from(cert)
                .map_err(|_| rustls::Error::InvalidCertificate(E::BadEncoding))?
                .verify_is_valid_for_subject_name(name)
                .map_err(|_| rustls::Error::InvalidCertificate(E::NotValidForName))?;
        }
        Ok(ServerCertVerified::assertion())
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        use rustls::CertificateError as E;
        if !self.fingerprint_matches(end_entity) {
            return Err(rustls::Error::InvalidCertificate(E::ApplicationVerificationFailure));
        }
        if !self.verify_certs {
            return Ok(ServerCertVerified::assertion());
        }
        let error = match &self.webpki {
            Some(w) => match w.verify_server_cert(end_entity, intermediates, name, ocsp, now) {
                Ok(verified) => return Ok(verified),
                Err(e) => e,
            },
            None => rustls::Error::InvalidCertificate(E::UnknownIssuer),
        };
        match &error {
            rustls::Error::InvalidCertificate(E::NotValidForName | E::NotValidForNameContext { .. })
                if !self.check_names =>
            {
                Ok(ServerCertVerified::assertion())
            }
            e if no_chain(e)
                && (self.trusted.iter().any(|t| t.as_ref() == end_entity.as_ref())
                    || (self.allow_self_signed && der::self_issued(end_entity))) =>
            {
                self.verify_direct(end_entity, name, now)
            }
            _ => Err(error),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        match rustls::crypto::verify_tls12_signature(message, cert, dss, algs) {
            Err(e) if !self.verify_certs => self.raw_key_signature(message, cert, dss, false).ok_or(e),
            r => r,
        }
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        match rustls::crypto::verify_tls13_signature(message, cert, dss, algs) {
            Err(e) if !self.verify_certs => self.raw_key_signature(message, cert, dss, true).ok_or(e),
            r => r,
        }
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The chain could not be built: no known issuer, or the certificate is a CA's (webpki's
/// `CaUsedAsEndEntity`, which rustls passes on as an "other" error).
fn no_chain(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer) => true,
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
            matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::CaUsedAsEndEntity)
            )
        }
        _ => false,
    }
}
