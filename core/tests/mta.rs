//! The engine against real MTAs started on 127.0.0.1 high ports by the harness: Postfix
//! (master, smtpd, Dovecot SASL, virtual delivery to a Maildir) and Exim (exim4-daemon-light,
//! messages kept in its spool). What landed is read back.

mod common;

use common::*;
use polymailer::*;

const SUBMISSION: &[&str] = &["--starttls", "--require-tls", "--user", "alice:s3cret"];

#[test]
fn submission_through_postfix_starttls_auth_pipelining_dsn_smtputf8() {
    submission(Server::postfix(SUBMISSION));
}

#[test]
fn submission_through_exim_starttls_auth_pipelining_dsn_smtputf8() {
    submission(Server::exim(SUBMISSION));
}

fn submission(server: Server) {
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = lines.clone();
    let config = TransportConfig::new("localhost", server.port)
        .security(Security::StartTlsRequired)
        .tls(test_ca())
        .credentials(Credentials::password("alice", "s3cret"))
        .transcript(std::sync::Arc::new(move |d, l| {
            if d == Direction::Client {
                log.lock().unwrap().push(l.to_string())
            }
        }));
    let mailer = Mailer::new(config).unwrap();

    let mut msg = simple_message("through postfix: ünïcode");
    msg.to = vec![
        Mailbox::new(None, "rcpt@example.com"),
        Mailbox::new(None, "jürgen@example.net"),
    ];
    msg.text = Some("8-bit body: grüße\n.a line starting with a dot\n".into());
    msg.envelope = Some(Envelope {
        from: Some("sender@example.com".into()),
        to: vec!["rcpt@example.com".into(), "jürgen@example.net".into()],
        dsn: Dsn::new(Some("HDRS"), Some("env-1"), &["FAILURE".into()], None).unwrap(),
        ..Default::default()
    });
    let report = mailer.send_blocking(&msg).unwrap();
    assert_eq!(report.code(), 250);
    assert_eq!(report.accepted, ["rcpt@example.com", "jürgen@example.net"]);
    // Pipelined batch of several messages over the same connection.
    let batch: Vec<Message> = (0..5).map(|i| simple_message(&format!("batch {i}"))).collect();
    assert!(mailer.send_many_blocking(batch).iter().all(|r| r.is_ok()));

    let got = server.wait_for(6);
    assert_eq!(got.len(), 6);
    let first = got
        .iter()
        .find(|g| g.text().contains("through postfix"))
        .expect("the first message landed");
    assert_eq!(first.meta["tls"], true);
    assert_eq!(first.meta["auth"], "alice");
    let mut rcpts = first.rcpt_tos();
    rcpts.sort();
    assert_eq!(rcpts, ["jürgen@example.net", "rcpt@example.com"]);
    let text = first.text();
    assert!(
        text.contains("To: rcpt@example.com, jürgen@example.net\r\n"),
        "SMTPUTF8 header as sent: {text}"
    );
    assert!(text.contains("gr=C3=BC=C3=9Fe"), "{text}");
    assert!(text.contains("\r\n.a line starting with a dot\r\n"), "{text}");
    assert_eq!(distinct_subjects(&got), 6);
    // Both MTAs offer CHUNKING and PIPELINING: every message went out with BDAT, none with DATA.
    let sent = lines.lock().unwrap().clone();
    assert_eq!(
        sent.iter()
            .filter(|l| l.starts_with("BDAT ") && l.ends_with(" LAST"))
            .count(),
        6,
        "{sent:?}"
    );
    assert!(!sent.iter().any(|l| l == "DATA"), "{sent:?}");
}

#[test]
fn postfix_refusals_reach_the_caller_with_their_codes() {
    refusals(Server::postfix(&["--refuse", "nobody@example.com"]), 554);
}

#[test]
fn exim_refusals_reach_the_caller_with_their_codes() {
    refusals(Server::exim(&["--refuse", "nobody@example.com"]), 550);
}

fn refusals(server: Server, foreign_code: u16) {
    let mailer = Mailer::new(server.config()).unwrap();
    let mut msg = simple_message("partly refused");
    msg.to.push(Mailbox::new(None, "nobody@example.com"));
    let report = mailer.send_blocking(&msg).unwrap();
    assert_eq!(report.accepted, ["rcpt@example.com"]);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(
        (report.rejected[0].address.as_str(), report.rejected[0].code),
        ("nobody@example.com", 550)
    );
    // A domain this Postfix does not serve: refused at RCPT (nothing leaves the machine).
    let mut outside = simple_message("outside");
    outside.to = vec![Mailbox::new(None, "someone@elsewhere.invalid")];
    let e = mailer.send_blocking(&outside).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RecipientsRefused);
    assert_eq!(e.code(), Some(foreign_code));
    assert_eq!(server.wait_for(1).len(), 1);
}
