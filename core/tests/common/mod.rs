//! Starts the shared real test servers (`tests/servers/`) and reads what they received.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use polymailer::{Mailbox, Message, TlsOptions, TransportConfig};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The test CA, server certificate and DKIM keys, generated once per checkout.
pub fn certs() -> PathBuf {
    static ONCE: Once = Once::new();
    let dir = root().join("tests/.state/certs");
    ONCE.call_once(|| {
        let status = Command::new(root().join("tests/servers/make-certs.sh"))
            .arg(&dir)
            .status()
            .expect("make-certs.sh");
        assert!(status.success(), "make-certs.sh failed");
    });
    dir
}

pub fn python() -> PathBuf {
    std::env::var_os("POLYMAILER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server started by `tests/servers/spawn.py`; dropping it closes the spawner's stdin, which
/// stops the server by PID and removes its directory.
pub struct Server {
    child: Child,
    pub port: u16,
    pub outdir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A message the capture server received.
#[derive(Debug)]
pub struct Captured {
    pub meta: serde_json::Value,
    pub data: Vec<u8>,
    pub eml: PathBuf,
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
    pub fn rcpt_tos(&self) -> Vec<String> {
        self.meta["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }
    pub fn mail_from(&self) -> String {
        self.meta["mail_from"].as_str().unwrap().to_string()
    }
}

impl Server {
    /// Postfix smtp-sink with the given fault flags.
    pub fn sink(args: &[&str]) -> Server {
        Server::spawn("sink", args)
    }

    /// The aiosmtpd capture server; `args` as `capture_server.py` takes them.
    pub fn capture(args: &[&str]) -> Server {
        Server::spawn("capture", args)
    }

    /// A real Postfix (submission with Dovecot SASL) delivering to a Maildir; `args` as
    /// `postfix_server.py` takes them. What landed reads like the capture server's.
    pub fn postfix(args: &[&str]) -> Server {
        Server::spawn("postfix", args)
    }

    /// A real Exim (Debian's exim4-daemon-light) keeping messages in its spool, read back.
    pub fn exim(args: &[&str]) -> Server {
        Server::spawn("exim", args)
    }

    /// dnsmasq serving `tests/dns/zone.conf`; `outdir` is where the zone's DKIM keys are.
    pub fn dns() -> Server {
        Server::spawn("dns", &[])
    }

    fn spawn(kind: &str, args: &[&str]) -> Server {
        let mut child = Command::new(python())
            .arg(root().join("tests/servers/spawn.py"))
            .arg(kind)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the venv python (make venv)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some("READY"), "{kind} server did not start: {line:?}");
        let port = words.next().unwrap().parse().unwrap();
        let outdir = PathBuf::from(words.next().unwrap());
        Server { child, port, outdir }
    }

    /// Messages received so far, in order.
    pub fn messages(&self) -> Vec<Captured> {
        let mut metas: Vec<PathBuf> = std::fs::read_dir(&self.outdir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect()
            })
            .unwrap_or_default();
        metas.sort();
        metas
            .into_iter()
            .map(|m| {
                let eml = m.with_extension("eml");
                Captured {
                    meta: serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap(),
                    data: std::fs::read(&eml).unwrap(),
                    eml,
                }
            })
            .collect()
    }

    /// Waits until `n` messages arrived (the capture server writes them after replying).
    /// `n = 0` ("nothing arrives") waits a settle time, so a late delivery is still seen.
    pub fn wait_for(&self, n: usize) -> Vec<Captured> {
        if n == 0 {
            std::thread::sleep(Duration::from_secs(1));
            return self.messages();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn config(&self) -> TransportConfig {
        TransportConfig::new("127.0.0.1", self.port).security(polymailer::Security::None)
    }
}

/// TLS options trusting only the test CA.
pub fn test_ca() -> TlsOptions {
    let mut tls = TlsOptions {
        native_roots: false,
        ..Default::default()
    };
    tls.add_ca_file(certs().join("ca.pem")).unwrap();
    tls
}

pub fn simple_message(subject: &str) -> Message {
    Message {
        from: Some(Mailbox::new(Some("Sender Name".into()), "sender@example.com")),
        to: vec![Mailbox::new(None, "rcpt@example.com")],
        subject: Some(subject.into()),
        text: Some(format!("Body of {subject}.\n")),
        ..Default::default()
    }
}

/// Runs the DKIM verifier (dkimpy) on a received message.
pub fn dkim_verify(eml: &Path, record: &Path) -> (bool, String) {
    let out = Command::new(python())
        .arg(root().join("tests/tools/dkim_verify.py"))
        .arg(eml)
        .arg(record)
        .output()
        .expect("run dkim_verify.py");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The distinct Subject lines among received messages (to check each arrived exactly once).
pub fn distinct_subjects(got: &[Captured]) -> usize {
    let mut subjects: Vec<String> = got
        .iter()
        .map(|g| {
            g.text()
                .lines()
                .find(|l| l.starts_with("Subject:"))
                .unwrap()
                .to_string()
        })
        .collect();
    subjects.sort();
    subjects.dedup();
    subjects.len()
}
