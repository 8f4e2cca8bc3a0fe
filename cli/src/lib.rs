//! The `polymailer` command. One implementation: the cargo binary calls [`run`], and so does the
//! Python package's console script (through the extension module).
//!
//! Exit status: 0 all good; 1 the check found problems (parse-bounce: a file is not a report;
//! send: a recipient or row was not sent); 2 bad usage or input; 3 the DNS
//! lookups failed (timeout, unreachable resolver); 4 a local I/O error.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use polymailer::check::{check_domain_blocking, CheckOptions, ResolverSettings};
use polymailer::dkim::{generate_key, KeyAlgorithm};
use polymailer::{DkimConfig, Error, ErrorKind};

mod send;

/// The blacklists `polymailer check --ip` asks when no `--dnsbl` is given (`--no-dnsbl` asks
/// none). Some refuse queries from public resolvers: that is reported as an error, not a listing.
pub const DEFAULT_DNSBL: &[&str] = &["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"];

#[derive(Parser)]
#[command(
    name = "polymailer",
    version,
    about = "Deliverability checks, DKIM keys and bounce parsing for the domains you send from"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a sending domain: MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, blacklists.
    Check(CheckArgs),
    /// Send a test message (swaks-style), or a mail merge with --bulk list.csv --template m.eml.
    Send(Box<send::SendArgs>),
    /// Parse bounces (DSN), complaints (ARF) and DMARC aggregate reports (.eml, .xml, .gz, .zip).
    ParseBounce(ParseBounceArgs),
    /// DKIM keys.
    Dkim {
        #[command(subcommand)]
        command: DkimCommand,
    },
}

#[derive(Subcommand)]
enum DkimCommand {
    /// Make a key pair and print the TXT record to publish.
    Keygen(KeygenArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// The domain in the From address.
    domain: String,
    /// DKIM selector to check (repeatable).
    #[arg(long = "selector", short = 's')]
    selectors: Vec<String>,
    /// The private key mail is signed with: the published key must match it.
    #[arg(long)]
    dkim_key: Option<PathBuf>,
    /// The IP address mail leaves from (SPF evaluation and blacklists).
    #[arg(long)]
    ip: Option<String>,
    /// The host mail is handed to (resolved; used when --ip is not given).
    #[arg(long)]
    host: Option<String>,
    /// The envelope sender's domain (Return-Path), if not the domain.
    #[arg(long)]
    envelope_domain: Option<String>,
    /// An IP blacklist zone (repeatable); default: the built-in list when --ip is given.
    #[arg(long = "dnsbl")]
    dnsbl: Vec<String>,
    /// Ask no IP blacklist.
    #[arg(long)]
    no_dnsbl: bool,
    /// A domain blacklist zone (repeatable).
    #[arg(long = "domain-dnsbl")]
    domain_dnsbl: Vec<String>,
    /// Nameserver to ask (IP or IP:port); default: the system resolver.
    #[arg(long)]
    nameserver: Option<String>,
    /// Seconds to wait for each answer.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    /// Ask the nameserver over TCP only.
    #[arg(long)]
    tcp: bool,
    /// Also connect to each MX host (port 25) and see whether it offers STARTTLS.
    #[arg(long)]
    probe_starttls: bool,
    /// The port --probe-starttls connects to.
    #[arg(long)]
    probe_port: Option<u16>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// No colours, even on a terminal.
    #[arg(long)]
    no_color: bool,
}

#[derive(Args)]
struct ParseBounceArgs {
    /// Files to parse; `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The environment variable holding the VERP secret (addresses are then verified).
    #[arg(long)]
    verp_secret_env: Option<String>,
    /// One JSON object per file, one per line.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct KeygenArgs {
    /// The signing domain (d=).
    #[arg(long, short = 'd')]
    domain: String,
    /// The selector (s=).
    #[arg(long, short = 's')]
    selector: String,
    /// rsa (2048 bits), rsa3072, rsa4096 or ed25519.
    #[arg(long, short = 'a', default_value = "rsa")]
    algorithm: String,
    /// Write the private key here (mode 0600) instead of printing it.
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Print the key and record as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the command line `args` (the program name first) and returns the exit status.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::ParseBounce(args) => parse_bounce(args),
        Command::Send(args) => send::send(*args),
        Command::Dkim {
            command: DkimCommand::Keygen(args),
        } => keygen(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("polymailer: {e}");
            exit_code(&e)
        }
    }
}

/// The exit status for an error, by its kind: 2 bad input, 3 connection or timeout (DNS
/// included), 4 local I/O, 5 authentication refused, 6 TLS, 7 refused by the server (sender,
/// recipients, content, size), 8 protocol error or a missing extension.
pub fn exit_code(e: &Error) -> i32 {
    match e.kind() {
        ErrorKind::InvalidInput => 2,
        ErrorKind::Timeout | ErrorKind::Connection => 3,
        ErrorKind::Io => 4,
        ErrorKind::Auth => 5,
        ErrorKind::Tls => 6,
        ErrorKind::SenderRefused
        | ErrorKind::RecipientsRefused
        | ErrorKind::DataRefused
        | ErrorKind::MessageTooLarge => 7,
        ErrorKind::Protocol | ErrorKind::NotSupported => 8,
    }
}

/// Exit 0 when every file is a report, 1 when one is not (it is still printed), 4 unreadable.
fn parse_bounce(args: ParseBounceArgs) -> polymailer::Result<i32> {
    let mut options = polymailer::bounce::ParseOptions::default();
    if let Some(var) = &args.verp_secret_env {
        let secret = std::env::var(var).map_err(|_| Error::invalid(format!("--verp-secret-env: {var} is not set")))?;
        options.verp_secret = Some(secret.into_bytes());
    }
    let mut status = 0;
    let mut out = std::io::stdout().lock();
    for path in &args.files {
        let raw = if path.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf).map(|_| buf)
        } else {
            std::fs::read(path)
        }
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                polymailer::Stage::Build,
                format!("{}: {e}", path.display()),
            )
        })?;
        let report = polymailer::bounce::parse_bounce(&raw, &options);
        if !report.is_report() {
            status = 1;
        }
        let _ = if args.json {
            writeln!(out, "{}", report.to_json())
        } else {
            writeln!(out, "== {}\n{}", path.display(), report.to_table())
        };
    }
    Ok(status)
}

fn check(args: CheckArgs) -> polymailer::Result<i32> {
    let mut options = CheckOptions {
        selectors: args.selectors,
        envelope_domain: args.envelope_domain,
        sending_host: args.host,
        domain_dnsbl: args.domain_dnsbl,
        probe_starttls: args.probe_starttls,
        probe_port: args.probe_port,
        ..CheckOptions::default()
    };
    if !(args.timeout > 0.0 && args.timeout <= 120.0) {
        return Err(Error::invalid("--timeout: between 0 and 120 seconds"));
    }
    options.resolver = ResolverSettings {
        nameserver: args
            .nameserver
            .as_deref()
            .map(ResolverSettings::parse_nameserver)
            .transpose()?,
        timeout: Duration::from_secs_f64(args.timeout),
        tcp_only: args.tcp,
    };
    if let Some(ip) = &args.ip {
        options.ip = Some(CheckOptions::parse_ip(ip)?);
    }
    if !args.no_dnsbl {
        options.dnsbl = if args.dnsbl.is_empty() && (options.ip.is_some() || options.sending_host.is_some()) {
            DEFAULT_DNSBL.iter().map(|z| z.to_string()).collect()
        } else {
            args.dnsbl
        };
    }
    if let Some(path) = &args.dkim_key {
        let pem = DkimConfig::read_key_file(path)?;
        let selector = options
            .selectors
            .first()
            .cloned()
            .ok_or_else(|| Error::invalid("--dkim-key needs the --selector it is published under"))?;
        options.dkim = Some(DkimConfig::new(&args.domain, &selector, &pem, None, None)?);
    }
    let report = check_domain_blocking(&args.domain, &options)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let _ = writeln!(out, "{}", report.to_json());
    } else {
        let color = !args.no_color && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let _ = out.write_all(report.to_table(color).as_bytes());
    }
    Ok(if report.ok() { 0 } else { 1 })
}

fn keygen(args: KeygenArgs) -> polymailer::Result<i32> {
    let algorithm: KeyAlgorithm = args.algorithm.parse()?;
    let key = generate_key(algorithm, &args.domain, &args.selector)?;
    let mut out = std::io::stdout().lock();
    if let Some(path) = &args.out {
        write_private(path, &key.private_key_pem)?;
    } else if !args.json {
        let _ = out.write_all(key.private_key_pem.as_bytes());
        let _ = writeln!(out);
    }
    if args.json {
        let strings: Vec<String> = key.record_strings.iter().map(|s| format!("\"{s}\"")).collect();
        let private = match &args.out {
            Some(path) => format!(
                "\"private_key_file\":\"{}\"",
                path.display().to_string().replace('\\', "\\\\").replace('"', "\\\"")
            ),
            None => format!("\"private_key_pem\":\"{}\"", key.private_key_pem.replace('\n', "\\n")),
        };
        let _ = writeln!(
            out,
            "{{\"algorithm\":\"{}\",\"bits\":{},{private},\"record_name\":\"{}\",\"record_value\":\"{}\",\"record_strings\":[{}]}}",
            key.algorithm,
            key.bits,
            key.record_name,
            key.record_value,
            strings.join(",")
        );
    } else {
        let _ = writeln!(
            out,
            "Publish this TXT record ({} {} bits):\n{}",
            key.algorithm,
            key.bits,
            key.zone_line()
        );
    }
    Ok(0)
}

fn write_private(path: &std::path::Path, pem: &str) -> polymailer::Result<()> {
    let io = |e: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            polymailer::Stage::Build,
            format!("{}: {e}", path.display()),
        )
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(pem.as_bytes()).map_err(io)
}
