//! Deliverability checks of a sending domain: MX, SPF (record, lookup count, the sending IP),
//! DKIM (published key, size, match with the signing key), DMARC (policy, reports, alignment),
//! MTA-STS, TLS-RPT and DNS blacklists. Every lookup is asked concurrently, in as few rounds as
//! the records allow; each answer is bounded by the resolver timeout, the whole check by three.

pub mod dns;
pub mod spf;

use std::fmt::Write as _;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::dmarc::{Alignment, Dmarc, Policy};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::spf::Qualifier;
use mail_auth::SpfResult;

pub use dns::ResolverSettings;
use dns::{Answer, Dns};

use crate::config::TransportConfig;
use crate::dkim::{DkimConfig, DkimPublicKey};
use crate::error::{Error, ErrorKind, Result, Stage};
use crate::options::OptionValue;

/// How one item of the report came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Pass,
    /// Works, but weaker than it should be (`~all`, `p=none`, a 1024-bit key).
    Warn,
    /// Not published.
    Missing,
    /// Published and wrong, or the check itself says mail will fail.
    Fail,
    /// The lookup failed (timeout, SERVFAIL, a blacklist's "query refused" answer): unknown.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Missing => "missing",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `mx`, `spf`, `spf_lookups`, `spf_ip`, `dkim`, `dkim_key_match`, `dmarc`, `dmarc_rua`,
    /// `dmarc_alignment`, `mta_sts`, `tls_rpt`, `dnsbl`.
    pub check: &'static str,
    /// What the item is about: the name looked up, or the blacklist zone.
    pub subject: String,
    pub status: Status,
    /// The record(s) found, as published.
    pub record: Option<String>,
    /// What was found, in one line.
    pub detail: String,
    /// What to change, in plain words; `None` when nothing needs changing.
    pub fix: Option<String>,
}

impl Finding {
    fn new(check: &'static str, subject: impl Into<String>, status: Status, detail: impl Into<String>) -> Self {
        Finding {
            check,
            subject: subject.into(),
            status,
            record: None,
            detail: detail.into(),
            fix: None,
        }
    }
    fn record(mut self, record: impl Into<String>) -> Self {
        self.record = Some(record.into());
        self
    }
    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
    fn lookup_error(check: &'static str, subject: impl Into<String>, error: String) -> Self {
        Finding::new(check, subject, Status::Error, format!("lookup failed: {error}"))
            .fix("check the resolver and retry; the receiving servers may see the same failure")
    }

    /// Whether this item makes the report fail: any `fail` or `error`, and a `missing` MX,
    /// SPF, DMARC or (when a selector was given) DKIM record.
    pub fn is_problem(&self) -> bool {
        match self.status {
            Status::Fail | Status::Error => true,
            Status::Missing => matches!(self.check, "mx" | "spf" | "dkim" | "dmarc"),
            Status::Pass | Status::Warn => false,
        }
    }
}

/// The outcome of [`check_domain`].
#[derive(Debug, Clone)]
pub struct DomainReport {
    pub domain: String,
    pub findings: Vec<Finding>,
    pub elapsed: Duration,
}

impl DomainReport {
    /// No [`Finding::is_problem`] item.
    pub fn ok(&self) -> bool {
        !self.findings.iter().any(Finding::is_problem)
    }

    pub fn find(&self, check: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.check == check)
    }

    /// The report as a table (what `polymailer check` prints and `str()` of a report shows): status, check, subject, what was found; the fix under each problem.
    pub fn to_table(&self, color: bool) -> String {
        let report = self;
        let paint = |status: Status| -> (&str, &str) {
            if !color {
                return ("", "");
            }
            let code = match status {
                Status::Pass => "\x1b[32m",
                Status::Warn | Status::Missing => "\x1b[33m",
                Status::Fail | Status::Error => "\x1b[31m",
            };
            (code, "\x1b[0m")
        };
        let width = |f: &dyn Fn(&Finding) -> usize| report.findings.iter().map(f).max().unwrap_or(0);
        let check_w = width(&|f| f.check.len()).max(5);
        let subject_w = width(&|f| f.subject.len()).min(40);
        let mut s = format!("{}  ({} ms)\n", report.domain, report.elapsed.as_millis());
        for f in &report.findings {
            let (on, off) = paint(f.status);
            s.push_str(&format!(
                "  {on}{:<7}{off} {:<check_w$}  {:<subject_w$}  {}\n",
                f.status.as_str(),
                f.check,
                f.subject,
                f.detail
            ));
            if let (Some(record), true) = (&f.record, f.status != Status::Pass) {
                s.push_str(&format!("          {:check_w$}  found: {record}\n", ""));
            }
            if let (Some(fix), true) = (&f.fix, f.status != Status::Pass) {
                s.push_str(&format!("          {:check_w$}  fix: {fix}\n", ""));
            }
        }
        let problems = report.findings.iter().filter(|f| f.is_problem()).count();
        s.push_str(&if problems == 0 {
            "no problems found\n".to_string()
        } else {
            format!("{problems} problem(s) found\n")
        });
        s
    }

    /// The report as one JSON object (`domain`, `ok`, `elapsed_ms`, `findings`: `check`,
    /// `subject`, `status`, `record`, `detail`, `fix`), the shape every binding returns.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{{\"domain\":{},\"ok\":{},\"elapsed_ms\":{},\"findings\":[",
            json_str(&self.domain),
            self.ok(),
            self.elapsed.as_millis()
        );
        for (i, f) in self.findings.iter().enumerate() {
            let opt = |v: &Option<String>| v.as_deref().map_or("null".to_string(), json_str);
            let _ = write!(
                out,
                "{}{{\"check\":{},\"subject\":{},\"status\":\"{}\",\"record\":{},\"detail\":{},\"fix\":{}}}",
                if i == 0 { "" } else { "," },
                json_str(f.check),
                json_str(&f.subject),
                f.status.as_str(),
                opt(&f.record),
                json_str(&f.detail),
                opt(&f.fix)
            );
        }
        out.push_str("]}");
        out
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What to check besides the domain's own records.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// DKIM selectors to look up (`selector._domainkey.domain`); the DKIM config's selector is
    /// added when one is given.
    pub selectors: Vec<String>,
    /// The signing key: its published half must match, and its domain is the DKIM domain for
    /// DMARC alignment.
    pub dkim: Option<DkimConfig>,
    /// The address mail is sent from: SPF is evaluated for it.
    pub ip: Option<IpAddr>,
    /// The host mail is sent from (the SMTP server the mailer hands mail to); resolved, and each
    /// address evaluated as `ip` is, when `ip` is not given.
    pub sending_host: Option<String>,
    /// The envelope sender's domain (Return-Path, what SPF checks); defaults to the domain.
    pub envelope_domain: Option<String>,
    /// IP blacklist zones (`zen.spamhaus.org`); none is contacted unless listed here.
    pub dnsbl: Vec<String>,
    /// Domain blacklist zones (`dbl.spamhaus.org`), asked about the domain.
    pub domain_dnsbl: Vec<String>,
    pub resolver: ResolverSettings,
    /// Connect to each MX host (at most 5) and see whether it offers STARTTLS. Off by default:
    /// it is the only check that leaves DNS.
    pub probe_starttls: bool,
    /// The port probed (25 unless told otherwise).
    pub probe_port: Option<u16>,
}

/// The option words every binding accepts (a binding passes each list item separately).
pub const OPTION_WORDS: &[&str] = &[
    "selector",
    "ip",
    "host",
    "envelope_domain",
    "dnsbl",
    "domain_dnsbl",
    "nameserver",
    "timeout",
    "tcp",
    "probe_starttls",
    "probe_port",
];

impl CheckOptions {
    /// Sets one option by name, as the bindings receive them: `selector(s)`, `ip`, `host` /
    /// `sending_host`, `envelope_domain`, `dnsbl`, `domain_dnsbl` (the list options append),
    /// `nameserver` (`"ip[:port]"`), `timeout` (seconds), `tcp`. camelCase spellings are the same
    /// words. The DKIM key comes from the binding's own DKIM option, parsed as for sending.
    pub fn set_option(&mut self, key: &str, value: OptionValue) -> Result<()> {
        let word: String = key
            .chars()
            .flat_map(|c| {
                if c.is_ascii_uppercase() {
                    vec!['_', c.to_ascii_lowercase()]
                } else {
                    vec![c]
                }
            })
            .collect();
        let text = || value.text();
        match word.as_str() {
            "selector" | "selectors" => self.selectors.push(text()),
            "ip" => self.ip = Some(CheckOptions::parse_ip(&text())?),
            "host" | "sending_host" => self.sending_host = Some(text()),
            "envelope_domain" => self.envelope_domain = Some(text()),
            "dnsbl" => self.dnsbl.push(text()),
            "domain_dnsbl" => self.domain_dnsbl.push(text()),
            "nameserver" => self.resolver.nameserver = Some(ResolverSettings::parse_nameserver(&text())?),
            "timeout" => match value {
                OptionValue::Number(n) if n > 0.0 && n <= 120.0 => self.resolver.timeout = Duration::from_secs_f64(n),
                _ => {
                    return Err(Error::invalid(format!(
                        "option {key}: seconds, more than 0 and at most 120"
                    )))
                }
            },
            "probe_starttls" => {
                self.probe_starttls = match value {
                    OptionValue::Flag(b) => b,
                    _ => return Err(Error::invalid(format!("option {key}: true or false"))),
                }
            }
            "probe_port" => match value {
                OptionValue::Number(n) if (1.0..=65535.0).contains(&n) && n.fract() == 0.0 => {
                    self.probe_port = Some(n as u16)
                }
                _ => return Err(Error::invalid(format!("option {key}: a port number"))),
            },
            "tcp" => {
                self.resolver.tcp_only = match value {
                    OptionValue::Flag(b) => b,
                    _ => return Err(Error::invalid(format!("option {key}: true or false"))),
                }
            }
            _ => {
                return Err(Error::invalid(format!(
                    "unknown check option {key:?} (known: {}, and dkim)",
                    OPTION_WORDS.join(", ")
                )))
            }
        }
        Ok(())
    }

    /// Parses the sending IP as every binding receives it.
    pub fn parse_ip(text: &str) -> Result<IpAddr> {
        text.trim()
            .parse()
            .map_err(|_| Error::invalid(format!("{text:?} is not an IPv4 or IPv6 address")))
    }
}

/// A domain name as DNS sees it (IDN to punycode), or an `invalid_input` error naming it.
pub fn dns_name(what: &str, name: &str) -> Result<String> {
    let bad = |why: &str| Error::invalid(format!("{what} {name:?} is not a valid domain name: {why}"));
    let trimmed = name.trim().trim_end_matches('.');
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    if trimmed
        .bytes()
        .any(|b| b.is_ascii_control() || b == b' ' || b == b'@' || b == b'/')
    {
        return Err(bad("it holds a space, control character, '@' or '/'"));
    }
    let ascii = idna::domain_to_ascii(trimmed).map_err(|_| bad("not a valid IDN"))?;
    if ascii.len() > 253 {
        return Err(bad("longer than 253 bytes"));
    }
    for label in ascii.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("each label must be 1 to 63 bytes"));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad("letters, digits, '-' and '_' only"));
        }
    }
    Ok(ascii.to_ascii_lowercase())
}

/// The organizational domain used for relaxed alignment: the last two labels, or three under a
/// two-letter country code's generic second level (`example.co.uk`). This approximates the
/// Public Suffix List, which is not bundled.
pub fn organizational_domain(domain: &str) -> String {
    let labels: Vec<&str> = domain.trim_end_matches('.').split('.').collect();
    let n = labels.len();
    let generic = ["co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go"];
    let keep = if n >= 3 && labels[n - 1].len() == 2 && generic.contains(&labels[n - 2]) {
        3
    } else {
        2
    };
    labels[n.saturating_sub(keep)..].join(".").to_ascii_lowercase()
}

fn aligned(a: &str, b: &str, mode: Alignment) -> bool {
    match mode {
        Alignment::Strict => a.eq_ignore_ascii_case(b),
        Alignment::Relaxed => organizational_domain(a) == organizational_domain(b),
    }
}

type Task<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Checks `domain` as a sending domain. Invalid input is an `invalid_input` error; a resolver
/// that answers none of the first round's queries is a `timeout` or `connection` error at stage
/// `dns`; anything else is reported item by item.
pub async fn check_domain(domain: &str, options: &CheckOptions) -> Result<DomainReport> {
    let domain = dns_name("domain", domain)?;
    let envelope = options
        .envelope_domain
        .as_deref()
        .map(|d| dns_name("envelope domain", d))
        .transpose()?
        .unwrap_or_else(|| domain.clone());
    let mut selectors = Vec::new();
    for s in options.selectors.iter().chain(options.dkim.iter().map(|d| &d.selector)) {
        let s = dns_name("DKIM selector", s)?;
        if !selectors.contains(&s) {
            selectors.push(s);
        }
    }
    let zones = |list: &[String]| {
        list.iter()
            .map(|z| dns_name("blacklist zone", z))
            .collect::<Result<Vec<_>>>()
    };
    let ip_zones = zones(&options.dnsbl)?;
    let domain_zones = zones(&options.domain_dnsbl)?;
    let sending_host = options
        .sending_host
        .as_deref()
        .map(|h| dns_name("sending host", h))
        .transpose()?;

    let dns = Arc::new(Dns::new(&options.resolver)?);
    let started = Instant::now();
    let bound = options.resolver.timeout * 3;
    let run = run_checks(
        dns.clone(),
        domain.clone(),
        envelope,
        selectors,
        ip_zones,
        domain_zones,
        sending_host,
        options.clone(),
    );
    let findings = match tokio::time::timeout(bound, run).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(Error::new(
                ErrorKind::Timeout,
                Stage::Dns,
                format!(
                    "the checks of {domain} did not finish within {bound:?} ({})",
                    dns.settings.describe()
                ),
            ))
        }
    };
    Ok(DomainReport {
        domain,
        findings,
        elapsed: started.elapsed(),
    })
}

/// The check a mailer runs for itself: its DKIM key (unless `options` has one), the host it
/// hands mail to as the sending host (an IP address as the sending IP), and the From domain
/// given, or else the DKIM domain.
pub async fn preflight(
    config: &TransportConfig,
    domain: Option<&str>,
    mut options: CheckOptions,
) -> Result<DomainReport> {
    if options.dkim.is_none() {
        options.dkim = config.dkim.clone();
    }
    let domain = match domain
        .map(str::to_string)
        .or_else(|| options.dkim.as_ref().map(|d| d.domain.clone()))
    {
        Some(d) => d,
        None => {
            return Err(Error::invalid(
                "preflight needs the From domain (or a DKIM key, whose domain is used)",
            ))
        }
    };
    if options.ip.is_none() && options.sending_host.is_none() {
        match config.host.parse::<IpAddr>() {
            Ok(ip) if !ip.is_loopback() => options.ip = Some(ip),
            Ok(_) => {}
            Err(_) if config.host.eq_ignore_ascii_case("localhost") => {}
            Err(_) => options.sending_host = Some(config.host.clone()),
        }
    }
    check_domain(&domain, &options).await
}

/// [`preflight`] from synchronous code.
pub fn preflight_blocking(
    config: &TransportConfig,
    domain: Option<&str>,
    options: CheckOptions,
) -> Result<DomainReport> {
    crate::runtime::block_on(preflight(config, domain, options))
}

/// [`check_domain`] from synchronous code, on the process's runtime.
pub fn check_domain_blocking(domain: &str, options: &CheckOptions) -> Result<DomainReport> {
    crate::runtime::block_on(check_domain(domain, options))
}

#[allow(clippy::too_many_arguments)]
async fn run_checks(
    dns: Arc<Dns>,
    domain: String,
    envelope: String,
    selectors: Vec<String>,
    ip_zones: Vec<String>,
    domain_zones: Vec<String>,
    sending_host: Option<String>,
    options: CheckOptions,
) -> Result<Vec<Finding>> {
    // Everything that does not depend on another answer starts now.
    let org = organizational_domain(&domain);
    let spawn = |f: Task<Vec<Finding>>| tokio::spawn(f);
    let probe = options.probe_starttls.then(|| options.probe_port.unwrap_or(25));
    let probe_timeout = options.resolver.timeout;
    let mx = spawn(Box::pin(check_mx(dns.clone(), domain.clone(), probe, probe_timeout)));
    let spf = spawn(Box::pin(check_spf(dns.clone(), envelope.clone())));
    let spf_ip = spawn(Box::pin(check_spf_ip(
        dns.clone(),
        envelope.clone(),
        options.ip,
        sending_host.clone(),
    )));
    let dkim = spawn(Box::pin(check_dkim(
        dns.clone(),
        domain.clone(),
        selectors.clone(),
        options.dkim.clone(),
    )));
    let dmarc = spawn(Box::pin(check_dmarc(
        dns.clone(),
        domain.clone(),
        org,
        envelope,
        options
            .dkim
            .as_ref()
            .map(|d| d.domain.clone())
            .or_else(|| (!selectors.is_empty()).then(|| domain.clone())),
    )));
    let sts = spawn(Box::pin(check_policy_record(
        dns.clone(),
        "mta_sts",
        format!("_mta-sts.{domain}"),
    )));
    let rpt = spawn(Box::pin(check_policy_record(
        dns.clone(),
        "tls_rpt",
        format!("_smtp._tls.{domain}"),
    )));
    let mut lists = Vec::new();
    if let Some(ip) = options.ip {
        for zone in &ip_zones {
            lists.push(spawn(Box::pin(check_dnsbl(
                dns.clone(),
                zone.clone(),
                ip.to_string(),
                reverse_ip(ip),
            ))));
        }
    } else if let (Some(host), false) = (&sending_host, ip_zones.is_empty()) {
        let (dns, host, zones) = (dns.clone(), host.clone(), ip_zones.clone());
        lists.push(spawn(Box::pin(async move {
            match dns.ips(&host).await {
                Answer::Found(ips) => {
                    let checks = ips.iter().flat_map(|ip| {
                        zones
                            .iter()
                            .map(|z| check_dnsbl(dns.clone(), z.clone(), ip.to_string(), reverse_ip(*ip)))
                    });
                    let mut out = Vec::new();
                    for f in checks.collect::<Vec<_>>() {
                        out.extend(f.await);
                    }
                    out
                }
                Answer::None => vec![Finding::new(
                    "dnsbl",
                    host,
                    Status::Error,
                    "the sending host has no address",
                )],
                Answer::Failed(e) => vec![Finding::lookup_error("dnsbl", host, e)],
            }
        })));
    }
    for zone in &domain_zones {
        lists.push(spawn(Box::pin(check_dnsbl(
            dns.clone(),
            zone.clone(),
            domain.clone(),
            domain.clone(),
        ))));
    }
    let mut findings = Vec::new();
    for task in [mx, spf, spf_ip, dkim, dmarc, sts, rpt].into_iter().chain(lists) {
        findings.extend(
            task.await
                .map_err(|e| Error::new(ErrorKind::Io, Stage::Dns, format!("check task failed: {e}")))?,
        );
    }
    // A resolver that answered nothing at all is the error, not a report of ten lookup errors.
    let round_one = ["mx", "spf", "dmarc"];
    if findings
        .iter()
        .filter(|f| round_one.contains(&f.check))
        .all(|f| f.status == Status::Error)
    {
        let why = findings
            .iter()
            .find(|f| f.status == Status::Error)
            .map(|f| f.detail.clone())
            .unwrap_or_default();
        let kind = if why.contains("no answer") {
            ErrorKind::Timeout
        } else {
            ErrorKind::Connection
        };
        return Err(Error::new(
            kind,
            Stage::Dns,
            format!(
                "{} answered none of the lookups for {domain}: {why}",
                dns.settings.describe()
            ),
        ));
    }
    Ok(findings)
}

async fn check_mx(dns: Arc<Dns>, domain: String, probe: Option<u16>, probe_timeout: Duration) -> Vec<Finding> {
    let records = match dns.mx(&domain).await {
        Answer::Found(r) => r,
        Answer::None => {
            return vec![Finding::new(
                "mx",
                &domain,
                Status::Missing,
                "no MX record: replies and bounces go to the domain's A record, if any",
            )
            .fix(format!(
                "publish an MX record for {domain} naming the host that receives its mail"
            ))]
        }
        Answer::Failed(e) => return vec![Finding::lookup_error("mx", &domain, e)],
    };
    let record = records
        .iter()
        .map(|(p, h)| format!("{p} {h}"))
        .collect::<Vec<_>>()
        .join(", ");
    if records.len() == 1 && (records[0].1.is_empty() || records[0].1 == ".") {
        return vec![Finding::new(
            "mx",
            &domain,
            Status::Warn,
            "null MX (RFC 7505): the domain receives no mail, so no bounce reaches it",
        )
        .record(record)
        .fix("publish a real MX if bounces and replies to this domain matter")];
    }
    let lookups: Vec<_> = records
        .iter()
        .map(|(_, host)| {
            let dns = dns.clone();
            let host = host.clone();
            tokio::spawn(async move { (dns.ips(&host).await, host) })
        })
        .collect();
    let mut unresolved = Vec::new();
    let mut resolved = 0;
    let mut probes = Vec::new();
    for l in lookups {
        if let Ok((answer, host)) = l.await {
            match answer {
                Answer::Found(ips) => {
                    resolved += 1;
                    if let (Some(port), true) = (probe, probes.len() < 5) {
                        let ip = ips[0];
                        probes.push(tokio::spawn(probe_starttls(host, ip, port, probe_timeout)));
                    }
                }
                _ => unresolved.push(host),
            }
        }
    }
    let finding = if unresolved.is_empty() {
        Finding::new(
            "mx",
            &domain,
            Status::Pass,
            format!("{} MX host(s), all resolve", records.len()),
        )
    } else if resolved > 0 {
        Finding::new(
            "mx",
            &domain,
            Status::Warn,
            format!("MX host(s) without an address: {}", unresolved.join(", ")),
        )
        .fix("give each MX host an A or AAAA record, or remove it")
    } else {
        Finding::new(
            "mx",
            &domain,
            Status::Fail,
            format!("no MX host resolves: {}", unresolved.join(", ")),
        )
        .fix("give the MX hosts A or AAAA records: mail to this domain cannot be delivered")
    };
    let mut out = vec![finding.record(record)];
    for p in probes {
        if let Ok(f) = p.await {
            out.push(f);
        }
    }
    out
}

async fn read_reply(
    stream: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> std::result::Result<crate::Reply, String> {
    use tokio::io::AsyncReadExt;
    loop {
        match crate::reply::parse(buf) {
            crate::reply::Parsed::Complete(reply, used) => {
                buf.drain(..used);
                return Ok(reply);
            }
            crate::reply::Parsed::Invalid(line) => return Err(format!("not SMTP: {line}")),
            crate::reply::Parsed::TooLong => return Err("not SMTP: reply line too long".into()),
            crate::reply::Parsed::Incomplete => {}
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Connects to an MX host, reads the greeting, says EHLO and looks for STARTTLS, then QUITs;
/// all within `timeout`.
async fn probe_starttls(host: String, ip: IpAddr, port: u16, timeout: Duration) -> Finding {
    use tokio::io::AsyncWriteExt;
    let subject = format!("{host}:{port}");
    let run = async {
        let mut stream = tokio::net::TcpStream::connect((ip, port))
            .await
            .map_err(|e| format!("connect {ip}: {e}"))?;
        let mut buf = Vec::new();
        let greeting = read_reply(&mut stream, &mut buf).await?;
        if greeting.code != 220 {
            return Err(format!("greeting {}", greeting.one_line()));
        }
        stream
            .write_all(b"EHLO polymailer-check.invalid\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let ehlo = read_reply(&mut stream, &mut buf).await?;
        let _ = stream.write_all(b"QUIT\r\n").await;
        if ehlo.code != 250 {
            return Err(format!("EHLO refused: {}", ehlo.one_line()));
        }
        Ok(crate::Extensions::from_ehlo(&ehlo).starttls())
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(true)) => Finding::new("mx_starttls", subject, Status::Pass, "offers STARTTLS"),
        Ok(Ok(false)) => Finding::new(
            "mx_starttls",
            subject,
            Status::Fail,
            "does not offer STARTTLS: mail to it travels in clear text",
        )
        .fix("enable STARTTLS on the MX host (and publish MTA-STS)"),
        Ok(Err(e)) => Finding::new("mx_starttls", subject, Status::Error, format!("probe failed: {e}")),
        Err(_) => Finding::new(
            "mx_starttls",
            subject,
            Status::Error,
            format!("no answer within {timeout:?}"),
        ),
    }
}

async fn check_spf(dns: Arc<Dns>, domain: String) -> Vec<Finding> {
    let txt = match dns.txt(&domain).await {
        Answer::Found(txt) => txt,
        Answer::None => Vec::new(),
        Answer::Failed(e) => return vec![Finding::lookup_error("spf", &domain, e)],
    };
    let records = spf::spf_records(&txt);
    let record = match records.as_slice() {
        [] => {
            return vec![
                Finding::new("spf", &domain, Status::Missing, "no SPF record").fix(format!(
                    "publish one TXT record on {domain}: \"v=spf1 <your senders> -all\""
                )),
            ]
        }
        [one] => one.to_string(),
        many => {
            return vec![Finding::new(
                "spf",
                &domain,
                Status::Fail,
                format!("{} SPF records: receivers treat this as a permanent error", many.len()),
            )
            .record(many.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" | "))
            .fix("merge them into a single v=spf1 record")]
        }
    };
    let Some(parsed) = spf::parse(&record) else {
        return vec![Finding::new("spf", &domain, Status::Fail, "SPF syntax error")
            .record(record)
            .fix("correct the record's syntax (RFC 7208)")];
    };
    let mut out = Vec::new();
    let main = match (spf::all_qualifier(&parsed), parsed.redirect.is_some()) {
        (Some(Qualifier::Fail), _) => Finding::new("spf", &domain, Status::Pass, "one record, ends with -all"),
        (Some(Qualifier::SoftFail), _) => Finding::new(
            "spf",
            &domain,
            Status::Warn,
            "ends with ~all (softfail): unlisted senders are only marked",
        )
        .fix("end the record with -all once every sender is listed"),
        (Some(Qualifier::Neutral), _) => Finding::new(
            "spf",
            &domain,
            Status::Warn,
            "ends with ?all (neutral): SPF protects nothing",
        )
        .fix("end the record with -all (or ~all while testing)"),
        (Some(Qualifier::Pass), _) => Finding::new(
            "spf",
            &domain,
            Status::Fail,
            "ends with +all: any host on the internet may send as this domain",
        )
        .fix("replace +all with -all"),
        (None, true) => Finding::new("spf", &domain, Status::Pass, "one record, redirects to another"),
        (None, false) => Finding::new(
            "spf",
            &domain,
            Status::Warn,
            "no all mechanism: unlisted senders get neutral",
        )
        .fix("end the record with -all"),
    };
    out.push(main.record(record));
    let walk = spf::walk(dns, domain.clone(), parsed, 0).await;
    let count = format!("{} of {} DNS lookups", walk.lookups, spf::LOOKUP_LIMIT);
    let lookups = if walk.lookups > spf::LOOKUP_LIMIT {
        Finding::new(
            "spf_lookups",
            &domain,
            Status::Fail,
            format!("{count}: over the limit, receivers return permerror"),
        )
        .fix("flatten includes into ip4:/ip6: ranges or drop senders you no longer use")
    } else if !walk.problems.is_empty() {
        Finding::new(
            "spf_lookups",
            &domain,
            Status::Fail,
            format!("{count}; {}", walk.problems.join("; ")),
        )
        .fix("fix or remove the includes that do not resolve to one SPF record")
    } else {
        Finding::new("spf_lookups", &domain, Status::Pass, count)
    };
    out.push(lookups);
    out
}

async fn check_spf_ip(dns: Arc<Dns>, envelope: String, ip: Option<IpAddr>, host: Option<String>) -> Vec<Finding> {
    let (ips, subject) = match (ip, host) {
        (Some(ip), _) => (vec![ip], ip.to_string()),
        (None, Some(host)) => match dns.ips(&host).await {
            Answer::Found(ips) => (ips, host),
            Answer::None => {
                return vec![Finding::new(
                    "spf_ip",
                    host,
                    Status::Error,
                    "the sending host has no address",
                )]
            }
            Answer::Failed(e) => return vec![Finding::lookup_error("spf_ip", host, e)],
        },
        (None, None) => return Vec::new(),
    };
    let sender = format!("postmaster@{envelope}");
    let mut out = Vec::new();
    for ip in ips {
        let result = dns
            .authenticator()
            .verify_spf(SpfParameters::verify_mail_from(ip, &envelope, &envelope, &sender))
            .await
            .result();
        let label = if subject == ip.to_string() {
            subject.clone()
        } else {
            format!("{subject} ({ip})")
        };
        let f = match result {
            SpfResult::Pass => Finding::new(
                "spf_ip",
                label,
                Status::Pass,
                format!("{ip} is authorised by {envelope}'s SPF"),
            ),
            SpfResult::Fail => Finding::new(
                "spf_ip",
                label,
                Status::Fail,
                format!("{ip} is not authorised: SPF fail"),
            )
            .fix(format!(
                "add ip{}:{ip} (or the include of your provider) to {envelope}'s SPF record",
                if ip.is_ipv4() { 4 } else { 6 }
            )),
            SpfResult::SoftFail | SpfResult::Neutral => Finding::new(
                "spf_ip",
                label,
                Status::Warn,
                format!("{ip} is not listed: SPF {result}"),
            )
            .fix(format!("add {ip} to {envelope}'s SPF record")),
            SpfResult::None => Finding::new("spf_ip", label, Status::Missing, "no SPF record to evaluate")
                .fix(format!("publish an SPF record on {envelope} that lists {ip}")),
            SpfResult::TempError | SpfResult::PermError => {
                Finding::new("spf_ip", label, Status::Error, format!("SPF evaluation: {result}"))
                    .fix("fix the SPF record's errors reported above")
            }
        };
        out.push(f);
    }
    out
}

/// The tags of a `tag=value; ...` record (DKIM, DMARC, MTA-STS, TLS-RPT), names lowercased.
fn tags(record: &str) -> Vec<(String, String)> {
    record
        .split(';')
        .filter_map(|part| {
            let (k, v) = part.split_once('=')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

async fn check_dkim(
    dns: Arc<Dns>,
    domain: String,
    selectors: Vec<String>,
    signing: Option<DkimConfig>,
) -> Vec<Finding> {
    if selectors.is_empty() {
        return vec![Finding::new(
            "dkim",
            format!("*._domainkey.{domain}"),
            Status::Warn,
            "not checked: no selector given (DNS cannot list selectors)",
        )
        .fix("give the selector your mail is signed with")];
    }
    let lookups: Vec<_> = selectors
        .iter()
        .map(|s| {
            let dns = dns.clone();
            let name = format!("{s}._domainkey.{domain}");
            tokio::spawn(async move { (dns.txt(&name).await, name) })
        })
        .collect();
    let mut out = Vec::new();
    for (selector, lookup) in selectors.iter().zip(lookups) {
        let Ok((answer, name)) = lookup.await else { continue };
        let txt = match answer {
            Answer::Found(txt) => txt,
            Answer::None => Vec::new(),
            Answer::Failed(e) => {
                out.push(Finding::lookup_error("dkim", name, e));
                continue;
            }
        };
        let records: Vec<&String> = txt.iter().filter(|t| t.contains("p=")).collect();
        let Some(record) = records.first().map(|r| r.to_string()) else {
            out.push(
                Finding::new(
                    "dkim",
                    &name,
                    Status::Missing,
                    format!("no DKIM key for selector {selector}"),
                )
                .fix(format!(
                    "publish the public key as a TXT record on {name} (polymailer dkim keygen prints it)"
                )),
            );
            continue;
        };
        let t = tags(&record);
        let get = |k: &str| t.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let k = get("k").unwrap_or("rsa");
        let p: String = get("p").unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
        let finding = if get("v").is_some_and(|v| v != "DKIM1") {
            Finding::new("dkim", &name, Status::Fail, "v= is not DKIM1").fix("start the record with v=DKIM1")
        } else if p.is_empty() {
            Finding::new("dkim", &name, Status::Fail, "the key is revoked (empty p=)")
                .fix("publish a key, or stop signing with this selector")
        } else {
            match base64::engine::general_purpose::STANDARD
                .decode(&p)
                .ok()
                .and_then(|der| DkimPublicKey::from_record(k, &der))
            {
                None => Finding::new("dkim", &name, Status::Fail, format!("p= is not a valid {k} public key"))
                    .fix("republish the base64 public key exactly as generated"),
                Some(key) => {
                    let bits = key.bits();
                    let base = if key.algorithm() == "rsa" && bits < 1024 {
                        Finding::new(
                            "dkim",
                            &name,
                            Status::Fail,
                            format!("RSA {bits} bits: receivers ignore keys under 1024 bits"),
                        )
                        .fix("generate a 2048-bit key (polymailer dkim keygen)")
                    } else if key.algorithm() == "rsa" && bits < 2048 {
                        Finding::new(
                            "dkim",
                            &name,
                            Status::Warn,
                            format!("RSA {bits} bits: weaker than the recommended 2048"),
                        )
                        .fix("rotate to a 2048-bit key (polymailer dkim keygen)")
                    } else {
                        Finding::new(
                            "dkim",
                            &name,
                            Status::Pass,
                            format!("{} {bits}-bit key published", key.algorithm()),
                        )
                    };
                    out.push(base.record(record.clone()));
                    if let Some(signing) = signing.as_ref().filter(|s| s.selector.eq_ignore_ascii_case(selector)) {
                        out.push(if signing.public_key() == &key {
                            Finding::new("dkim_key_match", &name, Status::Pass, "the published key matches the signing key")
                        } else {
                            Finding::new("dkim_key_match", &name, Status::Fail, "the published key is not the signing key's: signatures will fail")
                                .fix(format!("publish the signing key's public half on {name}, or sign with the matching private key"))
                        });
                    }
                    continue;
                }
            }
        };
        out.push(finding.record(record));
    }
    out
}

async fn check_dmarc(
    dns: Arc<Dns>,
    domain: String,
    org: String,
    envelope: String,
    dkim_domain: Option<String>,
) -> Vec<Finding> {
    let own = format!("_dmarc.{domain}");
    let parent = format!("_dmarc.{org}");
    let (own_txt, org_txt) = if org != domain {
        tokio::join!(dns.txt(&own), dns.txt(&parent))
    } else {
        (dns.txt(&own).await, Answer::None)
    };
    let pick = |a: &Answer<Vec<String>>| match a {
        Answer::Found(txt) => txt.iter().find(|t| t.trim_start().starts_with("v=DMARC1")).cloned(),
        _ => None,
    };
    let (name, record, inherited) = match (pick(&own_txt), pick(&org_txt)) {
        (Some(r), _) => (own.clone(), r, false),
        (None, Some(r)) => (parent.clone(), r, true),
        (None, None) => {
            if let Answer::Failed(e) = own_txt {
                return vec![Finding::lookup_error("dmarc", own, e)];
            }
            return vec![
                Finding::new("dmarc", own.clone(), Status::Missing, "no DMARC record").fix(format!(
                    "publish a TXT record on {own}: \"v=DMARC1; p=none; rua=mailto:dmarc@{org}\", then tighten p="
                )),
            ];
        }
    };
    let Ok(dmarc) = Dmarc::parse(record.as_bytes()) else {
        return vec![Finding::new("dmarc", name, Status::Fail, "DMARC syntax error")
            .record(record)
            .fix("correct the record's syntax (RFC 7489)")];
    };
    let policy = if inherited { &dmarc.sp } else { &dmarc.p };
    let from = if inherited {
        format!(" (inherited from {org})")
    } else {
        String::new()
    };
    let mut out = Vec::new();
    out.push(
        match policy {
            Policy::Reject => Finding::new("dmarc", &name, Status::Pass, format!("p=reject{from}")),
            Policy::Quarantine => Finding::new("dmarc", &name, Status::Pass, format!("p=quarantine{from}")),
            Policy::None => Finding::new(
                "dmarc",
                &name,
                Status::Warn,
                format!("p=none{from}: monitoring only, spoofed mail is delivered"),
            )
            .fix("move to p=quarantine, then p=reject, once the reports show only your own senders"),
            Policy::Unspecified => {
                Finding::new("dmarc", &name, Status::Fail, "no p= policy").fix("add p=none (then quarantine or reject)")
            }
        }
        .record(record.clone()),
    );
    out.push(if dmarc.rua.is_empty() {
        Finding::new(
            "dmarc_rua",
            &name,
            Status::Warn,
            "no rua=: nobody receives the aggregate reports",
        )
        .fix(format!("add rua=mailto:dmarc-reports@{org}"))
    } else {
        Finding::new(
            "dmarc_rua",
            &name,
            Status::Pass,
            format!(
                "reports to {}",
                dmarc.rua.iter().map(|u| u.uri.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )
    });
    let spf_ok = aligned(&domain, &envelope, dmarc.aspf);
    let dkim_ok = dkim_domain.as_deref().is_some_and(|d| aligned(&domain, d, dmarc.adkim));
    let mode = |a: Alignment| if a == Alignment::Strict { "strict" } else { "relaxed" };
    let what = format!(
        "From {domain}; SPF domain {envelope} ({}: {}); DKIM domain {} ({}: {})",
        mode(dmarc.aspf),
        if spf_ok { "aligned" } else { "not aligned" },
        dkim_domain.as_deref().unwrap_or("none"),
        mode(dmarc.adkim),
        if dkim_ok { "aligned" } else { "not aligned" },
    );
    out.push(if spf_ok || dkim_ok {
        Finding::new("dmarc_alignment", &domain, Status::Pass, what)
    } else {
        Finding::new("dmarc_alignment", &domain, Status::Fail, what).fix(format!(
            "sign with d={domain} (or its organizational domain), or send with a Return-Path in {domain}"
        ))
    });
    out
}

async fn check_policy_record(dns: Arc<Dns>, check: &'static str, name: String) -> Vec<Finding> {
    let (version, what, example) = match check {
        "mta_sts" => (
            "STSv1",
            "MTA-STS",
            "\"v=STSv1; id=20260101\" (plus the policy file at https://mta-sts.<domain>/.well-known/mta-sts.txt)",
        ),
        _ => ("TLSRPTv1", "TLS-RPT", "\"v=TLSRPTv1; rua=mailto:tls-reports@<domain>\""),
    };
    let txt = match dns.txt(&name).await {
        Answer::Found(txt) => txt,
        Answer::None => Vec::new(),
        Answer::Failed(e) => return vec![Finding::lookup_error(check, name, e)],
    };
    let records: Vec<&String> = txt.iter().filter(|t| t.trim_start().starts_with("v=")).collect();
    let Some(record) = records.first() else {
        return vec![Finding::new(check, &name, Status::Missing, format!("no {what} record"))
            .fix(format!("optional: publish a TXT record on {name}: {example}"))];
    };
    let t = tags(record);
    let get = |k: &str| t.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let valid = get("v") == Some(version)
        && match check {
            "mta_sts" => get("id")
                .is_some_and(|id| !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric())),
            _ => get("rua").is_some_and(|r| r.starts_with("mailto:") || r.starts_with("https:")),
        };
    let f = if records.len() > 1 {
        Finding::new(
            check,
            &name,
            Status::Fail,
            format!("{} {what} records: receivers ignore them all", records.len()),
        )
        .fix("keep one record")
    } else if valid {
        Finding::new(check, &name, Status::Pass, format!("{what} record published"))
    } else {
        Finding::new(check, &name, Status::Fail, format!("{what} syntax error")).fix(format!("publish it as {example}"))
    };
    vec![f.record(records.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" | "))]
}

/// `1.2.3.4` → `4.3.2.1`; IPv6 as 32 reversed nibbles (RFC 5782).
pub fn reverse_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut parts = Vec::with_capacity(32);
            for byte in v6.octets().iter().rev() {
                parts.push(format!("{:x}", byte & 0x0f));
                parts.push(format!("{:x}", byte >> 4));
            }
            parts.join(".")
        }
    }
}

/// One blacklist zone: NXDOMAIN is "not listed"; an answer in 127.0.0.0/8 is a listing
/// (its TXT record, if any, is the reason); 127.255.255.x, or an answer outside 127/8, is the
/// zone refusing or failing the query (Spamhaus' "query blocked" answers), not a listing.
async fn check_dnsbl(dns: Arc<Dns>, zone: String, subject: String, query: String) -> Vec<Finding> {
    let name = format!("{query}.{zone}");
    let (a, txt) = tokio::join!(dns.a(&name), dns.txt(&name));
    let label = format!("{subject} in {zone}");
    let f = match a {
        Answer::None => Finding::new("dnsbl", label, Status::Pass, "not listed"),
        Answer::Failed(e) => Finding::lookup_error("dnsbl", label, e),
        Answer::Found(codes) => {
            let shown = codes.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ");
            if codes
                .iter()
                .all(|c| c.octets()[0] == 127 && !(c.octets()[1] == 255 && c.octets()[2] == 255))
            {
                let reason = match txt {
                    Answer::Found(t) if !t.is_empty() => format!(": {}", t.join(" ")),
                    _ => String::new(),
                };
                Finding::new("dnsbl", label, Status::Fail, format!("listed ({shown}){reason}"))
                    .record(shown)
                    .fix(format!(
                        "find out why {subject} is listed and request removal from {zone}"
                    ))
            } else {
                Finding::new("dnsbl", label, Status::Error, format!("the zone refused the query ({shown}), not a listing"))
                    .record(shown)
                    .fix(format!("{zone} does not answer this resolver (public resolvers are often blocked): query it through your own"))
            }
        }
    };
    vec![f]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_reverse() {
        assert_eq!(dns_name("domain", "Example.COM.").unwrap(), "example.com");
        assert_eq!(dns_name("domain", "bücher.de").unwrap(), "xn--bcher-kva.de");
        for bad in ["", "a b.com", "x@y.com", "a..b", "-\r\n.com", &"a".repeat(64)] {
            assert_eq!(
                dns_name("domain", bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
        assert_eq!(reverse_ip("192.0.2.10".parse().unwrap()), "10.2.0.192");
        assert_eq!(
            reverse_ip("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
        );
        assert_eq!(organizational_domain("mail.example.co.uk"), "example.co.uk");
        assert_eq!(organizational_domain("a.b.example.com"), "example.com");
        assert!(CheckOptions::parse_ip("300.1.1.1").is_err());
    }

    #[test]
    fn json_escapes() {
        let report = DomainReport {
            domain: "x.test".into(),
            findings: vec![Finding::new("spf", "x.test", Status::Warn, "a \"q\"\n").fix("f")],
            elapsed: Duration::from_millis(3),
        };
        assert_eq!(
            report.to_json(),
            r#"{"domain":"x.test","ok":true,"elapsed_ms":3,"findings":[{"check":"spf","subject":"x.test","status":"warn","record":null,"detail":"a \"q\"\n","fix":"f"}]}"#
        );
    }
}
