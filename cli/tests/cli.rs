//! The cargo binary: exit statuses and what `dkim keygen` writes (the checks themselves are
//! tested against dnsmasq in core/tests/deliverability.rs and through the Python console script).

use std::process::Command;

fn polymailer(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_polymailer"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn exit_statuses_and_keygen() {
    assert_eq!(polymailer(&["check", "not a domain"]).status.code(), Some(2));
    assert_eq!(polymailer(&["check", "x.test", "--ip", "1.2.3"]).status.code(), Some(2));
    assert_eq!(polymailer(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(polymailer(&["--help"]).status.code(), Some(0));
    let dir = std::env::temp_dir().join(format!("pm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("k.pem");
    let keygen = |algorithm: &str| {
        let path = key.to_str().unwrap();
        polymailer(&[
            "dkim",
            "keygen",
            "-d",
            "example.test",
            "-s",
            "k1",
            "-a",
            algorithm,
            "-o",
            path,
        ])
    };
    let out = keygen("ed25519");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("k1._domainkey.example.test. IN TXT ( \"v=DKIM1; k=ed25519; p="),
        "{stdout}"
    );
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(
        !stdout.contains(pem.lines().nth(1).unwrap()),
        "the private key is not printed with -o"
    );
    polymailer::DkimConfig::new("example.test", "k1", &pem, None, None).unwrap();
    // An existing file is never overwritten.
    let again = keygen("rsa");
    assert_eq!(again.status.code(), Some(4));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), pem);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn parse_bounce_reads_files_and_verifies_verp() {
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bounces");
    let hard = samples.join("dsn-hard.eml");
    let out = Command::new(env!("CARGO_BIN_EXE_polymailer"))
        .args(["parse-bounce", "--json", "--verp-secret-env", "PM_TEST_VERP"])
        .arg(&hard)
        .arg(samples.join("dmarc-report.xml.gz"))
        .env("PM_TEST_VERP", "polymailer-test-verp-secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["events"][0]["recipient"], "nobody@example.net");
    assert_eq!(lines[0]["events"][0]["verp"]["verified"], true);
    assert_eq!(lines[1]["kind"], "dmarc");
    // Not a report: printed, exit 1. Missing file: exit 4. Unset secret variable: exit 2.
    let plain = polymailer(&["parse-bounce", samples.join("plain.eml").to_str().unwrap()]);
    assert_eq!(plain.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&plain.stdout).contains("kind: none"));
    assert_eq!(
        polymailer(&["parse-bounce", "/nonexistent/x.eml"]).status.code(),
        Some(4)
    );
    let unset = polymailer(&[
        "parse-bounce",
        "--verp-secret-env",
        "PM_UNSET_VAR_X",
        hard.to_str().unwrap(),
    ]);
    assert_eq!(unset.status.code(), Some(2));
}
