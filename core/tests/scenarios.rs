//! The shared scenario corpus (tests/scenarios/*.json) through the Rust API; delivered
//! messages are judged by tests/scenarios/check.py, as in every other language.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use polymailer::*;
use serde_json::Value;

fn mailboxes(v: &Value) -> Vec<Mailbox> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|m| Mailbox::new(m["name"].as_str().map(String::from), m["address"].as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

fn content(a: &Value) -> Vec<u8> {
    match a.get("pattern") {
        Some(p) => (0..p["count"].as_u64().unwrap()).map(|i| (i % 256) as u8).collect(),
        None => a["content"].as_str().unwrap().as_bytes().to_vec(),
    }
}

/// Bytes in memory, or (with "source": "file") a file given by path.
fn source(a: &Value) -> Content {
    if a["source"].as_str() != Some("file") {
        return Content::Bytes(content(a));
    }
    let dir = std::env::temp_dir().join(format!("pm-scn-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(a["filename"].as_str().unwrap());
    std::fs::write(&path, content(a)).unwrap();
    Content::Path(path)
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn message(m: &Value) -> Message {
    let s = |k: &str| m[k].as_str().map(String::from);
    Message {
        from: mailboxes(&Value::Array(vec![m["from"].clone()])).pop(),
        to: mailboxes(&m["to"]),
        cc: mailboxes(&m["cc"]),
        bcc: mailboxes(&m["bcc"]),
        reply_to: mailboxes(&m["reply_to"]),
        subject: s("subject"),
        text: s("text"),
        html: s("html"),
        headers: m["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        attachments: m["attachments"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|a| Attachment {
                        content: source(a),
                        filename: a["filename"].as_str().map(String::from),
                        content_type: a["content_type"].as_str().map(String::from),
                        content_id: a["cid"].as_str().map(String::from),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ..Default::default()
    }
}

fn config(t: &Value, port: u16) -> TransportConfig {
    let mut c = TransportConfig::new("localhost", port).security(match t["security"].as_str().unwrap() {
        "none" => Security::None,
        "opportunistic" => Security::StartTlsOpportunistic,
        "starttls" => Security::StartTlsRequired,
        "implicit" => Security::ImplicitTls,
        other => panic!("unknown security {other}"),
    });
    c.timeouts = Timeouts::all(Duration::from_secs(10));
    if t["ca"].as_bool() == Some(true) {
        c.tls = test_ca();
    }
    if let Some(a) = t.get("auth") {
        c.credentials = Some(Credentials::password(
            a["user"].as_str().unwrap(),
            a["pass"].as_str().unwrap(),
        ));
    }
    if let Some(d) = t.get("dkim") {
        let pem = std::fs::read_to_string(certs().join(d["key"].as_str().unwrap())).unwrap();
        c.dkim = Some(
            DkimConfig::new(
                d["domain"].as_str().unwrap(),
                d["selector"].as_str().unwrap(),
                &pem,
                None,
                None,
            )
            .unwrap(),
        );
    }
    c
}

fn run(path: &Path) -> Result<(), String> {
    let scn: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let args: Vec<&str> = scn["server"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let capture = scn["server"]["kind"] == "capture";
    let server = if capture {
        Server::capture(&args)
    } else {
        Server::sink(&args)
    };
    let expect = &scn["expect"];
    let msg = message(&scn["message"]);
    let result = Mailer::new(config(&scn["transport"], server.port)).and_then(|m| m.send_blocking(&msg));
    for a in &msg.attachments {
        if let Content::Path(p) = &a.content {
            let _ = std::fs::remove_dir_all(p.parent().unwrap());
        }
    }
    match (&result, expect["error"].as_str()) {
        (Err(e), Some(kind)) if e.kind().as_str() == kind => {}
        (Err(e), _) => return Err(format!("unexpected error {:?}: {e}", e.kind())),
        (Ok(_), Some(kind)) => return Err(format!("expected a {kind} error, it was sent")),
        (Ok(report), None) => {
            let rejected: Vec<&str> = report.rejected.iter().map(|r| r.address.as_str()).collect();
            let want: Vec<&str> = expect["rejected"]
                .as_array()
                .map_or(vec![], |a| a.iter().map(|v| v.as_str().unwrap()).collect());
            if rejected != want {
                return Err(format!("rejected {rejected:?}, expected {want:?}"));
            }
        }
    }
    if capture {
        server.wait_for(usize::from(expect["delivered"] == true));
        let out = Command::new(python())
            .arg(root().join("tests/scenarios/check.py"))
            .arg(path)
            .arg(&server.outdir)
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stdout).into_owned());
        }
    }
    Ok(())
}

#[test]
fn scenario_corpus() {
    let mut files: Vec<_> = std::fs::read_dir(root().join("tests/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut failed = Vec::new();
    for f in &files {
        if let Err(why) = run(f) {
            failed.push(format!("{}: {why}", f.file_stem().unwrap().to_string_lossy()));
        }
    }
    println!(
        "scenarios: {} passed, {} failed",
        files.len() - failed.len(),
        failed.len()
    );
    assert!(files.len() >= 25, "the corpus has {} scenarios", files.len());
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
