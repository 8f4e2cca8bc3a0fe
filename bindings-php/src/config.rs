//! PHPMailer's connection properties → the core `Mailer` (Host failover list, SMTPSecure,
//! SMTPAutoTLS, SMTPOptions, AuthType, Timeout, DKIM), and `SMTPDebug` output.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ext_php_rs::types::{ZendCallable, Zval};
use polymailer::{
    runtime, AuthMechanism, Credentials, Direction, DkimConfig, Error, Mailer, Security, Timeouts, TransportConfig,
};

use crate::mailer::PHPMailer;
use crate::value::Value;

/// One `Host` entry: `host`, `host:port`, `tls://host:587`, `ssl://host:465`.
struct HostEntry {
    host: String,
    port: Option<u16>,
    scheme: Option<String>,
}

fn parse_hosts(hosts: &str) -> Vec<HostEntry> {
    hosts
        .split(';')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|h| {
            let (scheme, rest) = match h.split_once("://") {
                Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
                None => (None, h),
            };
            let (host, port) = match rest.rsplit_once(':') {
                Some((host, port)) if !host.contains(':') || host.ends_with(']') => match port.parse() {
                    Ok(p) => (host.to_string(), Some(p)),
                    Err(_) => (rest.to_string(), None),
                },
                _ => (rest.to_string(), None),
            };
            HostEntry {
                host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
                port,
                scheme,
            }
        })
        .collect()
}

fn ssl_option(options: &Value, key: &str) -> Option<Zval> {
    let ssl = options.0.array()?.get("ssl")?;
    ssl.array()?.get(key).map(|z| z.shallow_clone())
}

/// A fingerprint of everything that decides the connection (a change between sends opens a
/// new one): a keyed hash, so the password and DKIM key are never held in a cache key.
pub fn transport_key(m: &PHPMailer) -> u64 {
    use std::hash::BuildHasher;
    static KEY: std::sync::OnceLock<std::collections::hash_map::RandomState> = std::sync::OnceLock::new();
    KEY.get_or_init(Default::default).hash_one(settings(m))
}

fn settings(m: &PHPMailer) -> String {
    let opts = [
        "verify_peer",
        "verify_peer_name",
        "allow_self_signed",
        "cafile",
        "peer_name",
    ]
    .map(|k| {
        ssl_option(&m.smtp_options, k)
            .map(|z| Value(z).string())
            .unwrap_or_default()
    })
    .join("|");
    [
        m.host.string(),
        m.port.string(),
        m.smtp_secure.string(),
        m.smtp_auto_tls.truthy().to_string(),
        m.smtp_auth.truthy().to_string(),
        m.username.string(),
        m.password.string(),
        m.auth_type.string(),
        m.timeout.string(),
        m.helo.string(),
        m.hostname.string(),
        opts,
        m.dkim_domain.string(),
        m.dkim_selector.string(),
        m.dkim_private.string(),
        m.dkim_private_string.string(),
        m.dkim_identity.string(),
        (m.smtp_debug.long_or(0) > 0).to_string(),
    ]
    .join("\u{1}")
}

fn config_for(m: &PHPMailer, entry: &HostEntry) -> Result<TransportConfig, Error> {
    let secure = entry
        .scheme
        .clone()
        .unwrap_or_else(|| m.smtp_secure.string().to_ascii_lowercase());
    let port = entry.port.unwrap_or_else(|| m.port.long_or(25).clamp(1, 65535) as u16);
    let mut c = TransportConfig::new(entry.host.clone(), port);
    c.security = Security::from_phpmailer(&secure, m.smtp_auto_tls.truthy());
    if m.smtp_auth.truthy() {
        let mechanism: AuthMechanism = m.auth_type.string().parse()?;
        c.credentials = Some(Credentials::with_mechanism(
            m.username.string(),
            m.password.string(),
            mechanism,
        ));
    }
    let timeout = m.timeout.long_or(300).max(1) as u64;
    c.timeouts = Timeouts::all(Duration::from_secs(timeout));
    c.hello_name = m.helo.non_empty().or_else(|| m.hostname.non_empty());
    let opt = |k: &str| ssl_option(&m.smtp_options, k).map(Value);
    if opt("verify_peer").is_some_and(|v| !v.truthy()) || opt("allow_self_signed").is_some_and(|v| v.truthy()) {
        c.tls.accept_invalid_certs = true;
    }
    if opt("verify_peer_name").is_some_and(|v| !v.truthy()) {
        c.tls.accept_invalid_hostnames = true;
    }
    if let Some(cafile) = opt("cafile").and_then(|v| v.non_empty()) {
        c.tls.add_ca_file(cafile)?;
    }
    c.tls.server_name = opt("peer_name").and_then(|v| v.non_empty());
    if let (Some(domain), Some(selector)) = (m.dkim_domain.non_empty(), m.dkim_selector.non_empty()) {
        let key = match (m.dkim_private_string.non_empty(), m.dkim_private.non_empty()) {
            (Some(k), _) => k,
            (None, Some(path)) => DkimConfig::read_key_file(&path)
                .map_err(|e| Error::invalid(format!("{}{}", crate::errors::lang::SIGNING, e.message())))?,
            (None, None) => {
                return Err(Error::invalid(format!(
                    "{}no DKIM_private key",
                    crate::errors::lang::SIGNING
                )))
            }
        };
        c.dkim = Some(DkimConfig::new(
            &domain,
            &selector,
            &key,
            m.dkim_identity.non_empty().as_deref(),
            None,
        )?);
    }
    if m.smtp_debug.long_or(0) > 0 {
        c.transcript = Some(m.recorder_hook());
    }
    Ok(c)
}

/// A Mailer with a live connection to the first `Host` entry that works (PHPMailer's failover).
pub fn mailer(m: &PHPMailer) -> Result<Mailer, Error> {
    let hosts = parse_hosts(&m.host.string());
    if hosts.is_empty() {
        return Err(Error::invalid("Host is empty"));
    }
    let mut last = None;
    for entry in &hosts {
        let mailer = Mailer::new(config_for(m, entry)?)?;
        match runtime::block_on(mailer.connect()) {
            Ok(()) => return Ok(mailer),
            Err(e) if e.kind() == polymailer::ErrorKind::InvalidInput => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("at least one host"))
}

impl PHPMailer {
    pub(crate) fn recorder_hook(&self) -> polymailer::Transcript {
        self.recorder.hook()
    }
}

/// `2024-01-31 12:00:00` in UTC, as PHPMailer's `gmdate('Y-m-d H:i:s')`.
fn gmdate() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Prints transcript lines the way PHPMailer's `edebug` does for each `SMTPDebug` level.
pub fn emit_debug(output: &Value, level: i64, lines: Vec<(Direction, String)>) {
    for (direction, line) in lines {
        let (min_level, text) = match direction {
            Direction::Client => (1, format!("CLIENT -> SERVER: {line}")),
            Direction::Server => (2, format!("SERVER -> CLIENT: {line}")),
            Direction::Data => (1, format!("CLIENT -> SERVER: <message of {} bytes>", line.len())),
            Direction::Info => (3, format!("Connection: {line}")),
        };
        if level < min_level {
            continue;
        }
        let mut lvl = Zval::new();
        lvl.set_long(min_level);
        let mut s = Zval::new();
        let _ = s.set_string(&text, false);
        let named = output.0.is_string() && matches!(output.string().as_str(), "echo" | "html" | "error_log");
        if output.0.is_callable() && !named {
            let _ = output.0.try_call(vec![&s, &lvl]);
            continue;
        }
        if output.0.is_object() {
            // A PSR-3 logger.
            let _ = output.0.try_call_method("debug", vec![&s]);
            continue;
        }
        match output.string().as_str() {
            "error_log" => {
                if let Ok(f) = ZendCallable::try_from_name("error_log") {
                    let _ = f.try_call(vec![&s]);
                }
            }
            "html" => {
                ext_php_rs::php_print!("{}<br>\n", crate::errors::html_escape(&text));
            }
            _ => {
                ext_php_rs::php_print!("{}\t{}\n", gmdate(), text);
            }
        }
    }
}
