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

#[path = "../../core/tests/common/mod.rs"]
mod common;

fn send_cmd(args: &[&str], password: Option<&str>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_polymailer"));
    c.arg("send").args(args);
    if let Some(p) = password {
        c.env("PM_TEST_PASSWORD", p);
    }
    c.output().unwrap()
}

#[test]
fn send_one_message_with_starttls_auth_and_transcript() {
    let server = common::Server::capture(&["--starttls", "--user", "alice:s3cret-pw", "--require-auth"]);
    let certs = common::certs();
    let dir = std::env::temp_dir().join(format!("pm-cli-send-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.txt");
    std::fs::write(&file, "attached\n").unwrap();
    let url = format!("smtp://alice@localhost:{}", server.port);
    let ca = certs.join("ca.pem");
    let base = [
        "--server",
        &url,
        "--starttls",
        "--ca-file",
        ca.to_str().unwrap(),
        "--password-env",
        "PM_TEST_PASSWORD",
        "--from",
        "Ops <ops@example.com>",
        "--to",
        "a@example.com",
        "--to",
        "b@example.net",
    ];
    let mut args = base.to_vec();
    args.extend([
        "--subject",
        "swaks-like",
        "--attach",
        file.to_str().unwrap(),
        "--header",
        "X-Test: 1",
        "--show-transcript",
        "--json",
    ]);
    let out = send_cmd(&args, Some("s3cret-pw"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["code"], 250);
    assert_eq!(
        report["accepted"],
        serde_json::json!(["a@example.com", "b@example.net"])
    );
    // The transcript shows the conversation, never the password.
    assert!(stderr.contains("C: STARTTLS") && stderr.contains("C: AUTH"), "{stderr}");
    assert!(
        !stderr.contains("s3cret-pw") && !stderr.contains("czNjcmV0LXB3"),
        "{stderr}"
    );
    let got = server.wait_for(1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].meta["auth"], "alice");
    assert_eq!(got[0].meta["tls"], true);
    let text = got[0].text();
    assert!(
        text.contains("Subject: swaks-like") && text.contains("X-Test: 1") && text.contains("report.txt"),
        "{text}"
    );

    // Exit statuses by kind: wrong password 5; untrusted certificate 6; password in the URL 2.
    assert_eq!(send_cmd(&base, Some("wrong")).status.code(), Some(5));
    let untrusted = [
        "--server",
        &url,
        "--starttls",
        "--password-env",
        "PM_TEST_PASSWORD",
        "--from",
        "o@example.com",
        "--to",
        "a@example.com",
    ];
    assert_eq!(send_cmd(&untrusted, Some("s3cret-pw")).status.code(), Some(6));
    let in_url = format!("smtp://alice:s3cret-pw@localhost:{}", server.port);
    let leaked = ["--server", &in_url, "--from", "o@example.com", "--to", "a@example.com"];
    assert_eq!(send_cmd(&leaked, None).status.code(), Some(2));
    // No password and no terminal: refused before connecting.
    assert_eq!(send_cmd(&base[..6], None).status.code(), Some(2));
    assert_eq!(server.messages().len(), 1, "nothing else was delivered");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bulk_merge_reports_rows_and_resumes_without_resending() {
    let server = common::Server::capture(&["--pipelining", "--refuse", "refused@example.net"]);
    let dir = std::env::temp_dir().join(format!("pm-cli-bulk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("list.csv");
    std::fs::write(
        &list,
        "email,name\nann@example.com,Ann\n\"bo@example.com\",\"Bo, Jr.\"\nnot an address,X\nrefused@example.net,R\ncy@example.com,\"Cy\r\nBcc: evil@example.com\"\n",
    )
    .unwrap();
    let template = dir.join("message.eml");
    std::fs::write(&template, "From: News <news@example.com>\nTo: \"{{name}}\" <{{email}}>\nSubject: Hello {{name}}\n\nDear {{name}},\nnews.\n").unwrap();
    let results = dir.join("results.csv");
    let url = format!("smtp://127.0.0.1:{}", server.port);
    let args = [
        "--server",
        &url,
        "--no-tls",
        "--bulk",
        list.to_str().unwrap(),
        "--template",
        template.to_str().unwrap(),
        "--results",
        results.to_str().unwrap(),
        "--pool",
        "2",
        "--rate",
        "50",
        "--json",
    ];
    let out = send_cmd(&args, None);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            summary["sent"].as_u64(),
            summary["refused"].as_u64(),
            summary["invalid"].as_u64()
        ),
        (Some(2), Some(1), Some(2))
    );
    let got = server.wait_for(2);
    assert_eq!(got.len(), 2);
    let texts: Vec<String> = got.iter().map(|g| g.text()).collect();
    assert!(texts
        .iter()
        .any(|t| t.contains("Subject: Hello Ann") && t.contains("Dear Ann,")));
    assert!(texts
        .iter()
        .any(|t| t.contains("\"Bo, Jr.\" <bo@example.com>") || t.contains("Bo, Jr. <bo@example.com>")));
    assert!(texts.iter().all(|t| !t.contains("evil@example.com")));
    let rows = polymailer_cli_csv(&results);
    let status = |email: &str| {
        rows.iter()
            .filter(|r| r[0] == email)
            .map(|r| r[1].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(status("ann@example.com"), ["sent"]);
    assert_eq!(status("refused@example.net"), ["refused"]);
    assert_eq!(status("not an address"), ["invalid"]);
    // A re-run: the sent rows are skipped, the others tried again, nothing delivered twice.
    let again = send_cmd(&args, None);
    let summary: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (summary["sent"].as_u64(), summary["skipped"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(server.wait_for(0).len(), 2);
    assert_eq!(status("ann@example.com"), ["sent"]);
    assert_eq!(
        polymailer_cli_csv(&results)
            .iter()
            .filter(|r| r[0] == "refused@example.net")
            .count(),
        2
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn polymailer_cli_csv(path: &std::path::Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.splitn(5, ',').map(|s| s.trim_matches('"').to_string()).collect())
        .collect()
}
