//! PHPMailer's connection properties (the snapshot the PHP binding takes) read by its rules.

use polymailer::phpmailer::{Settings, Ssl};
use polymailer::{ErrorKind, Security};

fn settings(host: &str) -> Settings {
    Settings {
        host: host.into(),
        port: 25,
        timeout: 300,
        auto_tls: true,
        ..Default::default()
    }
}

#[test]
fn the_first_host_entry_with_its_scheme_and_port() {
    let c = settings(" tls://[::1]:2525 ; mx.example.com").first_config().unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.security),
        ("::1", 2525, Security::StartTlsRequired)
    );
    let c = settings("mx.example.com;other").first_config().unwrap();
    assert_eq!(
        (c.host.as_str(), c.port, c.security),
        ("mx.example.com", 25, Security::StartTlsOpportunistic)
    );
    let c = Settings {
        smtp_secure: "ssl".into(),
        ..settings("ssl.example.com:465")
    }
    .first_config()
    .unwrap();
    assert_eq!((c.port, c.security), (465, Security::ImplicitTls));
    assert_eq!(
        settings(" ; ").first_config().unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn ssl_words_and_auth() {
    let s = Settings {
        smtp_auth: true,
        username: "u".into(),
        password: "p".into(),
        auth_type: "LOGIN".into(),
        ssl: Ssl {
            verify_peer: Some(false),
            verify_peer_name: Some(false),
            peer_name: Some("mail.example.com".into()),
            ..Default::default()
        },
        ..settings("localhost")
    };
    let c = s.first_config().unwrap();
    assert!(c.tls.accept_invalid_certs && c.tls.accept_invalid_hostnames);
    assert_eq!(c.tls.server_name.as_deref(), Some("mail.example.com"));
    assert_eq!(c.credentials.unwrap().mechanism, polymailer::AuthMechanism::Login);
    let missing_ca = Settings {
        ssl: Ssl {
            cafile: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        },
        ..settings("localhost")
    };
    assert_eq!(missing_ca.first_config().unwrap_err().kind(), ErrorKind::InvalidInput);
    let bad_auth = Settings {
        smtp_auth: true,
        auth_type: "NTLM".into(),
        ..settings("localhost")
    };
    assert_eq!(bad_auth.first_config().unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[test]
fn the_cache_key_changes_with_the_password_and_debug_hides_it() {
    let a = Settings {
        password: "secret-one".into(),
        ..settings("localhost")
    };
    let b = Settings {
        password: "secret-two".into(),
        ..settings("localhost")
    };
    assert_ne!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.fingerprint(), a.clone().fingerprint());
    assert!(!format!("{a:?}").contains("secret"));
}
