//! `polymailer send`: swaks-style server testing (one message, the transcript on request) and
//! mail-merge runs (`--bulk list.csv --template message.eml`) over the pool and the rate limit,
//! with a results CSV a re-run resumes from: a row already `sent` is never sent again.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use polymailer::message::check_header;
use polymailer::{
    Attachment, Credentials, Direction, DkimConfig, Envelope, Error, ErrorKind, Mailbox, Mailer, Message, Prepared,
    RateLimit, RawMessage, Security, Stage, Timeouts, TransportConfig,
};

#[derive(Args)]
pub struct SendArgs {
    /// smtp://user@host:587 (STARTTLS when offered) or smtps://user@host:465. No password here.
    #[arg(long)]
    server: String,
    /// Require STARTTLS.
    #[arg(long, conflicts_with_all = ["tls", "no_tls"])]
    starttls: bool,
    /// TLS from the first byte (port 465 style).
    #[arg(long, conflicts_with = "no_tls")]
    tls: bool,
    /// No TLS (local test servers only).
    #[arg(long)]
    no_tls: bool,
    /// AUTH mechanism: plain, login or xoauth2 (default: the best the server offers).
    #[arg(long)]
    auth: Option<String>,
    /// The environment variable holding the password; without it, a prompt on the terminal.
    #[arg(long)]
    password_env: Option<String>,
    /// Trust this CA file (PEM) as well as the system's.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Seconds each step may take.
    #[arg(long)]
    timeout: Option<f64>,
    #[arg(long)]
    from: Option<String>,
    /// Recipient (repeatable).
    #[arg(long = "to")]
    to: Vec<String>,
    #[arg(long)]
    subject: Option<String>,
    /// The text body (default: a line saying who sent it when).
    #[arg(long)]
    body: Option<String>,
    /// A file to attach (repeatable).
    #[arg(long = "attach")]
    attach: Vec<PathBuf>,
    /// An extra header, `Name: value` (repeatable).
    #[arg(long = "header")]
    headers: Vec<String>,
    /// Sign with this DKIM private key (PEM); needs --dkim-domain and --dkim-selector.
    #[arg(long)]
    dkim_key: Option<PathBuf>,
    #[arg(long)]
    dkim_domain: Option<String>,
    #[arg(long)]
    dkim_selector: Option<String>,
    /// Print the SMTP conversation to standard error (AUTH secrets masked).
    #[arg(long)]
    show_transcript: bool,
    /// Mail merge: a CSV with a header row and an `email` column; each row is one message.
    #[arg(long, requires = "template")]
    bulk: Option<PathBuf>,
    /// The message for --bulk: an .eml whose `{{column}}` placeholders take each row's values.
    #[arg(long)]
    template: Option<PathBuf>,
    /// Per-row results (appended; a re-run skips rows already sent). Default: LIST.results.csv.
    #[arg(long)]
    results: Option<PathBuf>,
    /// Connections at once for --bulk.
    #[arg(long, default_value_t = 4)]
    pool: usize,
    /// At most this many messages a second.
    #[arg(long)]
    rate: Option<u32>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

fn io_error(what: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, Stage::Build, format!("{}: {e}", what.display()))
}

/// Reads a password from the terminal without echoing it.
fn prompt_password(user: &str) -> polymailer::Result<String> {
    let no_tty = || Error::invalid("no password: give --password-env VAR (passwords never go on the command line)");
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| no_tty())?;
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(
                tty.try_clone()
                    .map(std::process::Stdio::from)
                    .unwrap_or(std::process::Stdio::null()),
            )
            .status()
    };
    let mut out = tty.try_clone().map_err(|_| no_tty())?;
    let _ = write!(out, "Password for {user}: ");
    let _ = stty("-echo");
    let mut line = String::new();
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    let _ = stty("echo");
    let _ = writeln!(out);
    read.map_err(|_| no_tty())?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn config(args: &SendArgs) -> polymailer::Result<TransportConfig> {
    let url = polymailer::ConnectionUrl::parse(&args.server)?;
    if url.pass.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(Error::invalid(
            "--server: no password in the URL (it would sit in shell history and `ps`); use --password-env VAR or the prompt",
        ));
    }
    let mut c = TransportConfig::from_url(&args.server)?;
    c.security = match (args.starttls, args.tls, args.no_tls) {
        (true, _, _) => Security::StartTlsRequired,
        (_, true, _) => Security::ImplicitTls,
        (_, _, true) => Security::None,
        _ => c.security,
    };
    if let Some(user) = url.user {
        let password = match &args.password_env {
            Some(var) => std::env::var(var).map_err(|_| Error::invalid(format!("--password-env: {var} is not set")))?,
            None => prompt_password(&user)?,
        };
        c.credentials = Some(match &args.auth {
            Some(m) => Credentials::with_mechanism(user, password, m.parse()?),
            None => Credentials::password(user, password),
        });
    } else if args.auth.is_some() {
        return Err(Error::invalid("--auth needs a user in --server (smtp://user@host)"));
    }
    if let Some(ca) = &args.ca_file {
        c.tls.add_ca_file(ca)?;
    }
    if let Some(t) = args.timeout {
        if !(t > 0.0 && t <= 3600.0) {
            return Err(Error::invalid("--timeout: between 0 and 3600 seconds"));
        }
        c.timeouts = Timeouts::all(Duration::from_secs_f64(t));
    }
    match (&args.dkim_key, &args.dkim_domain, &args.dkim_selector) {
        (Some(key), Some(domain), Some(selector)) => {
            let pem = DkimConfig::read_key_file(key)?;
            c.dkim = Some(DkimConfig::new(domain, selector, &pem, None, None)?);
        }
        (None, None, None) => {}
        _ => {
            return Err(Error::invalid(
                "--dkim-key, --dkim-domain and --dkim-selector go together",
            ))
        }
    }
    if args.show_transcript {
        c.transcript = Some(Arc::new(|d, line| {
            let who = if d == Direction::Client { "C" } else { "S" };
            eprintln!("{who}: {line}");
        }));
    }
    if args.pool == 0 || args.pool > 64 {
        return Err(Error::invalid("--pool: 1 to 64 connections"));
    }
    c.pool.max_connections = args.pool;
    if let Some(rate) = args.rate.filter(|r| *r > 0) {
        c.rate_limit = Some(RateLimit {
            messages: rate,
            per: Duration::from_secs(1),
        });
    }
    Ok(c)
}

/// Runs `polymailer send`; the exit status by outcome (see [`crate::exit_code`]).
pub fn send(args: SendArgs) -> polymailer::Result<i32> {
    let config = config(&args)?;
    let mailer = Mailer::new(config)?;
    match &args.bulk {
        Some(list) => bulk(&args, &mailer, list),
        None => single(&args, &mailer),
    }
}

fn single(args: &SendArgs, mailer: &Mailer) -> polymailer::Result<i32> {
    let from = args
        .from
        .as_deref()
        .ok_or_else(|| Error::invalid("--from is required (or --bulk with a template)"))?;
    if args.to.is_empty() {
        return Err(Error::invalid("--to is required"));
    }
    let mut msg = Message {
        from: Some(Mailbox::parse(from)?),
        subject: Some(args.subject.clone().unwrap_or_else(|| "polymailer send test".into())),
        text: Some(args.body.clone().unwrap_or_else(|| {
            format!(
                "Sent by `polymailer send` {} to test this server.\n",
                env!("CARGO_PKG_VERSION")
            )
        })),
        ..Message::default()
    };
    for to in &args.to {
        msg.to.extend(polymailer::address::parse_list(to)?);
    }
    for path in &args.attach {
        let p = path
            .to_str()
            .ok_or_else(|| Error::invalid("--attach: path is not UTF-8"))?;
        polymailer::message::check_attachment_path(p)?;
        std::fs::metadata(path).map_err(|e| io_error(path, e))?;
        msg.attachments.push(Attachment::path(path));
    }
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| Error::invalid(format!("--header {h:?}: expected `Name: value`")))?;
        let (name, value) = (name.trim(), value.trim());
        check_header(name, value)?;
        msg.headers.push((name.to_string(), value.to_string()));
    }
    let report = mailer.send_blocking(&msg)?;
    mailer.close_blocking();
    let mut out = std::io::stdout().lock();
    if args.json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({
                "code": report.code(),
                "response": report.response.one_line(),
                "message_id": report.message_id,
                "accepted": report.accepted,
                "rejected": report.rejected.iter().map(|r| serde_json::json!({"address": r.address, "code": r.code, "text": r.text})).collect::<Vec<_>>(),
            })
        );
    } else {
        let _ = writeln!(out, "sent: {}", report.response.one_line());
        let _ = writeln!(out, "accepted: {}", report.accepted.join(", "));
        for r in &report.rejected {
            let _ = writeln!(out, "refused: {} ({} {})", r.address, r.code, r.text);
        }
        if let Some(id) = &report.message_id {
            let _ = writeln!(out, "message-id: {id}");
        }
    }
    Ok(if report.rejected.is_empty() { 0 } else { 1 })
}

/// RFC 4180 CSV: quoted fields with `""` escapes, CRLF or LF line ends.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                if !(row.len() == 1 && row[0].is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The template with `{{column}}` replaced by the row's values; a value with CR, LF or NUL is
/// refused (it would add header lines).
fn fill(template: &str, columns: &[String], row: &[String]) -> polymailer::Result<String> {
    let mut out = template.to_string();
    for (name, value) in columns.iter().zip(row) {
        polymailer::address::check_no_control(&format!("column {name}"), value)?;
        out = out.replace(&format!("{{{{{name}}}}}", name = name.trim()), value);
    }
    if let Some(start) = out.find("{{") {
        let name: String = out[start + 2..].chars().take_while(|c| *c != '}').take(40).collect();
        return Err(Error::invalid(format!(
            "template placeholder {{{{{name}}}}} has no column"
        )));
    }
    Ok(out)
}

#[derive(Default)]
struct Tally {
    sent: usize,
    refused: usize,
    failed: usize,
    invalid: usize,
    skipped: usize,
}

fn bulk(args: &SendArgs, mailer: &Mailer, list: &Path) -> polymailer::Result<i32> {
    let template_path = args.template.as_ref().expect("clap requires --template with --bulk");
    let template = std::fs::read_to_string(template_path).map_err(|e| io_error(template_path, e))?;
    let text = std::fs::read_to_string(list).map_err(|e| io_error(list, e))?;
    let mut rows = parse_csv(&text).into_iter();
    let columns: Vec<String> = rows
        .next()
        .ok_or_else(|| Error::invalid(format!("{}: empty CSV", list.display())))?
        .into_iter()
        .map(|c| c.trim().to_string())
        .collect();
    let email_col = columns
        .iter()
        .position(|c| c.eq_ignore_ascii_case("email") || c.eq_ignore_ascii_case("to"))
        .ok_or_else(|| Error::invalid(format!("{}: no `email` column", list.display())))?;
    let rows: Vec<Vec<String>> = rows.collect();
    let results_path = args
        .results
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.results.csv", list.display())));
    // Rows already sent (by a previous run) are skipped: nothing is sent twice.
    let mut done: HashSet<String> = HashSet::new();
    let existed = results_path.exists();
    if existed {
        let previous = std::fs::read_to_string(&results_path).map_err(|e| io_error(&results_path, e))?;
        for r in parse_csv(&previous).into_iter().skip(1) {
            if r.get(1).map(String::as_str) == Some("sent") {
                done.insert(r[0].trim().to_ascii_lowercase());
            }
        }
    }
    let mut results = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&results_path)
        .map_err(|e| io_error(&results_path, e))?;
    let mut write_row = |fields: &[&str]| -> polymailer::Result<()> {
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        writeln!(results, "{}", line.join(","))
            .and_then(|_| results.flush())
            .map_err(|e| io_error(&results_path, e))
    };
    if !existed {
        write_row(&["email", "status", "code", "detail", "message_id"])?;
    }
    let progress = std::io::stderr().is_terminal() && !args.json;
    let started = Instant::now();
    let mut tally = Tally::default();
    let chunk_size = (args.pool * 8).max(32);
    for chunk in rows.chunks(chunk_size) {
        let mut emails = Vec::new();
        let mut prepared: Vec<polymailer::Result<Prepared>> = Vec::new();
        for row in chunk {
            let email = row.get(email_col).map(|e| e.trim().to_string()).unwrap_or_default();
            if done.contains(&email.to_ascii_lowercase()) {
                tally.skipped += 1;
                continue;
            }
            let message = fill(&template, &columns, row).and_then(|filled| {
                let raw = RawMessage::new(filled.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes());
                raw.check_headers()?;
                let from = match &args.from {
                    Some(f) => Some(f.clone()),
                    None => raw.header_envelope()?.from,
                };
                raw.with_envelope(Envelope::new(from, vec![email.clone()])).prepare()
            });
            emails.push(email);
            prepared.push(message);
        }
        let outcomes = polymailer::runtime::block_on(mailer.send_many_prepared(prepared));
        for (email, outcome) in emails.into_iter().zip(outcomes) {
            let (status, code, detail, id) = match outcome {
                Ok(r) if r.accepted.is_empty() => {
                    let refusal = r.rejected.first();
                    (
                        "refused",
                        refusal.map_or(String::new(), |x| x.code.to_string()),
                        refusal.map_or(String::new(), |x| x.text.clone()),
                        None,
                    )
                }
                Ok(r) => ("sent", r.code().to_string(), r.response.one_line(), r.message_id),
                Err(e) => {
                    let status = match e.kind() {
                        ErrorKind::InvalidInput => "invalid",
                        _ if e.is_permanent() => "refused",
                        _ => "failed",
                    };
                    (
                        status,
                        e.code().map_or(String::new(), |c| c.to_string()),
                        e.message().to_string(),
                        None,
                    )
                }
            };
            match status {
                "sent" => {
                    tally.sent += 1;
                    done.insert(email.to_ascii_lowercase());
                }
                "refused" => tally.refused += 1,
                "invalid" => tally.invalid += 1,
                _ => tally.failed += 1,
            }
            write_row(&[&email, status, &code, &detail, id.as_deref().unwrap_or("")])?;
        }
        if progress {
            let handled = tally.sent + tally.refused + tally.failed + tally.invalid + tally.skipped;
            let width = 30;
            let filled = handled * width / rows.len().max(1);
            eprint!(
                "\r[{}{}] {handled}/{} sent {} refused {} failed {} invalid {} {:.1} msg/s ",
                "#".repeat(filled),
                ".".repeat(width - filled),
                rows.len(),
                tally.sent,
                tally.refused,
                tally.failed,
                tally.invalid,
                tally.sent as f64 / started.elapsed().as_secs_f64().max(1e-3)
            );
        }
    }
    mailer.close_blocking();
    if progress {
        eprintln!();
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = tally.sent as f64 / secs.max(1e-3);
    let mut out = std::io::stdout().lock();
    if args.json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({
                "rows": rows.len(), "sent": tally.sent, "refused": tally.refused, "failed": tally.failed,
                "invalid": tally.invalid, "skipped": tally.skipped, "seconds": secs, "msg_per_s": rate,
                "results": results_path.display().to_string(),
            })
        );
    } else {
        let _ = writeln!(
            out,
            "{} rows: sent {}, refused {}, failed {}, invalid {}, skipped {} (already sent) in {secs:.1} s ({rate:.1} msg/s); results in {}",
            rows.len(),
            tally.sent,
            tally.refused,
            tally.failed,
            tally.invalid,
            tally.skipped,
            results_path.display()
        );
    }
    Ok(if tally.refused + tally.failed + tally.invalid == 0 {
        0
    } else {
        1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_placeholders() {
        let rows = parse_csv("email,name\r\na@example.com,\"Doe, \"\"J\"\"\"\n\nb@example.com,Bo\n");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1], ["a@example.com", "Doe, \"J\""]);
        assert_eq!(csv_field("Doe, \"J\""), "\"Doe, \"\"J\"\"\"");
        let cols = vec!["email".to_string(), "name".to_string()];
        let t = "To: {{email}}\nSubject: Hi {{name}}\n\nHello {{name}}";
        assert_eq!(
            fill(t, &cols, &["a@x.example".into(), "Al".into()]).unwrap(),
            "To: a@x.example\nSubject: Hi Al\n\nHello Al"
        );
        assert!(fill(t, &cols, &["a@x.example".into(), "Al\r\nBcc: x@y".into()]).is_err());
        assert!(fill("{{missing}}", &cols, &["a".into(), "b".into()]).is_err());
    }
}
