//! The TLS trust matrix against a real server (aiosmtpd, STARTTLS) presenting each certificate
//! shape users meet: which are accepted must match what OpenSSL clients (smtplib, Nodemailer,
//! PHPMailer) accept, except where polymailer is deliberately stricter (none so far).

mod common;

use common::*;
use polymailer::*;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// Trusting only the given certificate files (no system roots).
fn trusting(files: &[&str]) -> TlsOptions {
    let mut tls = TlsOptions {
        native_roots: false,
        ..Default::default()
    };
    for f in files {
        tls.add_ca_file(certs().join(f)).unwrap();
    }
    tls
}

/// Sends one message over STARTTLS; the error's kind and stage when refused.
fn send(server: &Server, host: &str, tls: TlsOptions) -> std::result::Result<(), (ErrorKind, Stage)> {
    let config = TransportConfig::new(host, server.port)
        .security(Security::StartTlsRequired)
        .tls(tls);
    Mailer::new(config)
        .map_err(|e| (e.kind(), e.stage()))?
        .send_blocking(&simple_message("trust"))
        .map(|_| ())
        .map_err(|e| (e.kind(), e.stage()))
}

fn fingerprint(file: &str) -> String {
    let der = CertificateDer::from_pem_file(certs().join(file)).unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn trust_matrix_as_openssl_clients_have_it() {
    let refused = Err((ErrorKind::Tls, Stage::StartTls));
    let server = |cert: &str| Server::capture(&["--starttls", "--cert", cert]);

    let leaf = server("server");
    assert_eq!(
        send(&leaf, "localhost", trusting(&["ca.pem"])),
        Ok(()),
        "CA-signed leaf"
    );
    assert_eq!(send(&leaf, "127.0.0.1", trusting(&["ca.pem"])), Ok(()), "IP in SAN");
    assert_eq!(
        send(&leaf, "localhost", trusting(&["untrusted-ca.pem"])),
        refused,
        "other CA"
    );
    let mut pinned = trusting(&["ca.pem"]);
    pinned.add_fingerprint(&fingerprint("server.pem")).unwrap();
    assert_eq!(send(&leaf, "localhost", pinned), Ok(()), "pinned fingerprint");
    let mut wrong_pin = trusting(&["ca.pem"]);
    wrong_pin.add_fingerprint(&fingerprint("snakeoil.pem")).unwrap();
    assert_eq!(send(&leaf, "localhost", wrong_pin), refused, "other fingerprint");

    // `openssl req -x509` (CA:TRUE) given to the client as its CA: OpenSSL accepts it.
    let self_ca = server("selfsigned-ca");
    assert_eq!(
        send(&self_ca, "localhost", trusting(&["selfsigned-ca.pem"])),
        Ok(()),
        "self-signed CA:TRUE"
    );
    let mut other_name = trusting(&["selfsigned-ca.pem"]);
    other_name.server_name = Some("other.example".into());
    assert_eq!(send(&self_ca, "localhost", other_name), refused, "trusted, wrong name");
    assert_eq!(
        send(&self_ca, "localhost", trusting(&["ca.pem"])),
        refused,
        "not trusted"
    );
    let mut self_signed_ok = trusting(&["ca.pem"]);
    self_signed_ok.allow_self_signed = true;
    assert_eq!(send(&self_ca, "localhost", self_signed_ok), Ok(()), "allow_self_signed");

    // Debian's snakeoil shape: self-signed, CA:FALSE.
    let snakeoil = server("snakeoil");
    assert_eq!(
        send(&snakeoil, "localhost", trusting(&["snakeoil.pem"])),
        Ok(()),
        "snakeoil trusted"
    );
    assert_eq!(
        send(&snakeoil, "localhost", trusting(&["ca.pem"])),
        refused,
        "snakeoil untrusted"
    );

    let expired = server("expired");
    assert_eq!(
        send(&expired, "localhost", trusting(&["ca.pem"])),
        refused,
        "expired leaf"
    );
    let mut anything = trusting(&["ca.pem"]);
    anything.accept_invalid_certs = true;
    assert_eq!(send(&expired, "localhost", anything), Ok(()), "verification off");

    let expired_self = server("expired-selfsigned");
    assert_eq!(
        send(&expired_self, "localhost", trusting(&["expired-selfsigned.pem"])),
        refused,
        "expired, trusted"
    );
    let mut expired_allowed = trusting(&["ca.pem"]);
    expired_allowed.allow_self_signed = true;
    assert_eq!(
        send(&expired_self, "localhost", expired_allowed),
        refused,
        "expired, self-signed allowed"
    );

    let wrong_host = server("wronghost");
    assert_eq!(
        send(&wrong_host, "localhost", trusting(&["ca.pem"])),
        refused,
        "issued for other.example"
    );
    let mut any_name = trusting(&["ca.pem"]);
    any_name.accept_invalid_hostnames = true;
    assert_eq!(send(&wrong_host, "localhost", any_name), Ok(()), "names not checked");

    let untrusted = server("untrusted");
    let mut untrusted_allowed = trusting(&["ca.pem"]);
    untrusted_allowed.allow_self_signed = true;
    assert_eq!(
        send(&untrusted, "localhost", untrusted_allowed),
        refused,
        "unknown CA is not self-signed"
    );

    let delivered = [
        (&leaf, 3),
        (&self_ca, 2),
        (&snakeoil, 1),
        (&expired, 1),
        (&wrong_host, 1),
        (&untrusted, 0),
    ];
    for (server, accepted) in delivered {
        assert_eq!(
            server.wait_for(accepted).len(),
            accepted,
            "accepted connections deliver, refused ones do not"
        );
    }
}

#[test]
fn fingerprint_words_are_checked() {
    let mut tls = TlsOptions::default();
    for bad in ["", "zz", "AB:CD", &"A".repeat(63)] {
        assert_eq!(
            tls.add_fingerprint(bad).unwrap_err().kind(),
            ErrorKind::InvalidInput,
            "{bad:?}"
        );
    }
    tls.add_fingerprint(&"ab".repeat(20)).unwrap();
    tls.add_fingerprint(&fingerprint("server.pem")).unwrap();
    assert_eq!(tls.fingerprints.iter().map(Vec::len).collect::<Vec<_>>(), [20, 32]);
}

#[test]
fn client_certificates_for_servers_that_require_them() {
    let ca = certs().join("ca.pem");
    let server = Server::capture(&["--starttls", "--client-ca", ca.to_str().unwrap()]);
    // Without a certificate the server ends the handshake: an error, nothing delivered.
    let without = send(&server, "localhost", trusting(&["ca.pem"]));
    assert!(without.is_err(), "{without:?}");

    let mut tls = trusting(&["ca.pem"]);
    tls.client_identity =
        Some(ClientIdentity::from_files(certs().join("client.pem"), Some(&certs().join("client.key")), None).unwrap());
    assert_eq!(send(&server, "localhost", tls), Ok(()));
    let mut combined = trusting(&["ca.pem"]);
    combined.client_identity =
        Some(ClientIdentity::from_files(certs().join("client-combined.pem"), None, None).unwrap());
    assert_eq!(send(&server, "localhost", combined), Ok(()));
    let got = server.wait_for(2);
    assert_eq!(got.len(), 2);
    assert!(
        got.iter().all(|g| g.meta["client_cert"] == "polymailer client"),
        "{:?}",
        got[0].meta
    );

    // A key that is not the certificate's, an unreadable file, an encrypted key: refused
    // before connecting, naming what failed.
    let mut mismatched = trusting(&["ca.pem"]);
    mismatched.client_identity =
        Some(ClientIdentity::from_files(certs().join("client.pem"), Some(&certs().join("other.key")), None).unwrap());
    let e = Mailer::new(TransportConfig::new("localhost", server.port).tls(mismatched)).unwrap_err();
    assert_eq!((e.kind(), e.stage()), (ErrorKind::Tls, Stage::Build), "{e}");
    let e = ClientIdentity::from_files(certs().join("missing.pem"), None, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls);
    assert!(e.message().contains("missing.pem"), "{e}");
    // An encrypted PKCS#8 key: used with its passphrase; without it, or with a wrong one, refused.
    let (cert, key) = (certs().join("client.pem"), certs().join("client-encrypted.key"));
    let mut encrypted = trusting(&["ca.pem"]);
    encrypted.client_identity = Some(ClientIdentity::from_files(&cert, Some(&key), Some("key secret")).unwrap());
    assert_eq!(send(&server, "localhost", encrypted), Ok(()));
    for passphrase in [None, Some("wrong")] {
        let e = ClientIdentity::from_files(&cert, Some(&key), passphrase).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    }
    let e = ClientIdentity::from_pem(b"", b"-----BEGIN ENCRYPTED PRIVATE KEY-----", None, "x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls);
    assert!(format!(
        "{:?}",
        ClientIdentity::from_files(certs().join("client-combined.pem"), None, None).unwrap()
    )
    .contains("****"));
    assert_eq!(server.wait_for(3).len(), 3, "nothing more delivered");
}
