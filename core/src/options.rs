//! Options given as text: connection URLs (`smtp://user:pass@host:587/?key=value`), the one
//! key/value entry point their query goes through (`TransportConfig::set_option`), TLS version
//! words, and the service presets (`service: "Gmail"`) every binding looks up.

use std::time::Duration;

use crate::config::{Credentials, RateLimit, Secret, Security, Timeouts, TlsVersion, TransportConfig};
use crate::error::{Error, Result};

/// `TLSv1.2` / `TLSv1.3` (Node's words), also `1.2`, `tls1.3`, `TLS_1_3` (any case).
impl std::str::FromStr for TlsVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let word: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        match word
            .to_ascii_lowercase()
            .trim_start_matches("tls")
            .trim_start_matches('v')
        {
            "12" => Ok(TlsVersion::Tls12),
            "13" => Ok(TlsVersion::Tls13),
            _ => Err(Error::invalid(format!("TLS version {s:?}: TLSv1.2 or TLSv1.3"))),
        }
    }
}

/// A value from a URL query or an options map.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Flag(bool),
    Number(f64),
    Text(String),
}

impl OptionValue {
    /// A query value as Nodemailer reads it: numbers are numbers, `true`/`false` flags, the rest text.
    pub fn from_query(raw: &str) -> OptionValue {
        match raw {
            "true" => OptionValue::Flag(true),
            "false" => OptionValue::Flag(false),
            _ => match raw.parse::<f64>() {
                Ok(n) if n.is_finite() && !raw.is_empty() => OptionValue::Number(n),
                _ => OptionValue::Text(raw.to_string()),
            },
        }
    }

    fn flag(&self, key: &str) -> Result<bool> {
        match self {
            OptionValue::Flag(b) => Ok(*b),
            OptionValue::Number(n) if *n == 0.0 || *n == 1.0 => Ok(*n == 1.0),
            OptionValue::Text(t) if matches!(t.as_str(), "yes" | "on") => Ok(true),
            OptionValue::Text(t) if matches!(t.as_str(), "no" | "off") => Ok(false),
            _ => Err(Error::invalid(format!("option {key}: true or false"))),
        }
    }

    fn number(&self, key: &str) -> Result<u64> {
        match self {
            OptionValue::Number(n) if *n >= 0.0 && n.fract() == 0.0 => Ok(*n as u64),
            _ => Err(Error::invalid(format!("option {key}: a whole number"))),
        }
    }

    pub(crate) fn text(&self) -> String {
        match self {
            OptionValue::Flag(b) => b.to_string(),
            OptionValue::Number(n) => n.to_string(),
            OptionValue::Text(t) => t.clone(),
        }
    }
}

/// A connection URL taken apart: scheme, host, port, credentials (percent-decoded) and the
/// query's options in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionUrl {
    /// `smtps:` (implicit TLS) rather than `smtp:`.
    pub secure: bool,
    pub host: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub query: Vec<(String, OptionValue)>,
}

impl ConnectionUrl {
    /// `smtp://user:pass@host:port/?query`; the `//` may be left out (`smtp:host:2525`), as
    /// Nodemailer reads such URLs.
    pub fn parse(input: &str) -> Result<ConnectionUrl> {
        let with_slashes;
        let input = match input.split_once(':') {
            Some((scheme, rest)) if !rest.starts_with("//") && !scheme.contains(['/', '?', '@']) => {
                with_slashes = format!("{scheme}://{rest}");
                &with_slashes
            }
            _ => input,
        };
        let url = url::Url::parse(input).map_err(|e| Error::invalid(format!("url: {e}")))?;
        let secure = match url.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(Error::invalid(format!(
                    "url: unsupported scheme {other:?} (smtp or smtps)"
                )))
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::invalid("url: missing host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let decode = |s: &str| {
            percent_decode(s).ok_or_else(|| Error::invalid("url: credentials are not valid percent-encoded UTF-8"))
        };
        let (user, pass) = if url.username().is_empty() {
            (None, None)
        } else {
            (
                Some(decode(url.username())?),
                Some(decode(url.password().unwrap_or(""))?),
            )
        };
        let query = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), OptionValue::from_query(&v)))
            .collect();
        Ok(ConnectionUrl {
            secure,
            host,
            port: url.port(),
            user,
            pass,
            query,
        })
    }
}

impl TransportConfig {
    /// Parses `smtp://user:pass@host:587?tls=required&timeout=10` or `smtps://host:465`; each
    /// query option goes through [`TransportConfig::set_option`].
    pub fn from_url(input: &str) -> Result<Self> {
        let url = ConnectionUrl::parse(input)?;
        let (security, default_port) = match url.secure {
            false => (Security::StartTlsOpportunistic, 587),
            true => (Security::ImplicitTls, 465),
        };
        let mut config = TransportConfig::new(url.host, url.port.unwrap_or(default_port)).security(security);
        if let Some(user) = url.user {
            config.credentials = Some(Credentials::password(user, url.pass.unwrap_or_default()));
        }
        for (key, value) in &url.query {
            config
                .set_option(key, value)
                .map_err(|e| Error::invalid(format!("url: {}", e.message())))?;
        }
        config.validate()?;
        Ok(config)
    }

    /// The one key/value entry point for options given as words (URL queries, option maps).
    ///
    /// Keys: `tls`/`security` (`none`, `opportunistic`, `required`, `implicit`), `auth`
    /// (`plain`, `login`, `xoauth2`), `hello`/`name`, `timeout` (seconds, every step), `pool` (max
    /// connections, or a flag), `max_connections`, `max_messages`, `rate_limit` (messages a
    /// second), `ca_file`, `server_name`, `min_tls`, `accept_invalid_certs`,
    /// `allow_insecure_auth`, `bdat`; Nodemailer's spellings of the same (`secure`, `requireTLS`,
    /// `ignoreTLS`, `maxConnections`, `maxMessages`, `socketTimeout` in ms, `tls.servername`,
    /// `tls.rejectUnauthorized`, `tls.minVersion`) are the same options.
    pub fn set_option(&mut self, key: &str, value: &OptionValue) -> Result<()> {
        let ms = |v: &OptionValue| v.number(key).map(Duration::from_millis);
        match key {
            "tls" | "security" => self.security = value.text().parse()?,
            "secure" => {
                if value.flag(key)? {
                    self.security = Security::ImplicitTls
                } else if self.security == Security::ImplicitTls {
                    self.security = Security::StartTlsOpportunistic
                }
            }
            "requireTLS" if value.flag(key)? && self.security != Security::ImplicitTls => {
                self.security = Security::StartTlsRequired
            }
            "ignoreTLS" if value.flag(key)? && self.security != Security::ImplicitTls => self.security = Security::None,
            "requireTLS" | "ignoreTLS" => {}
            "auth" | "authMethod" => {
                let creds = self
                    .credentials
                    .take()
                    .ok_or_else(|| Error::invalid(format!("{key} given without user")))?;
                let secret = match creds.secret {
                    Secret::Password(p) | Secret::OAuth2Token(p) => p,
                };
                self.credentials = Some(Credentials::with_mechanism(
                    creds.username,
                    secret,
                    value.text().parse()?,
                ));
            }
            "hello" | "helo" | "name" => self.hello_name = Some(value.text()),
            "timeout" => self.timeouts = Timeouts::all(Duration::from_secs(value.number(key)?)),
            "connectionTimeout" => self.timeouts.connect = ms(value)?,
            "greetingTimeout" => self.timeouts.greeting = ms(value)?,
            "socketTimeout" => {
                self.timeouts.command = ms(value)?;
                self.timeouts.data = ms(value)?;
            }
            "pool" if matches!(value, OptionValue::Flag(_)) => {}
            "pool" | "max_connections" | "maxConnections" => {
                self.pool.max_connections = value.number(key)?.max(1) as usize
            }
            "max_messages" | "maxMessages" => self.pool.max_messages = value.number(key)? as usize,
            "rate_limit" | "rateLimit" => {
                self.rate_limit = Some(RateLimit {
                    messages: value.number(key)?.min(u32::MAX.into()) as u32,
                    per: self.rate_limit.map_or(Duration::from_secs(1), |r| r.per),
                })
            }
            "ca_file" => self.tls.add_ca_file(value.text())?,
            "server_name" | "tls.servername" => self.tls.server_name = Some(value.text()),
            "min_tls" | "tls.minVersion" => self.tls.min_version = Some(value.text().parse()?),
            "accept_invalid_certs" => self.tls.accept_invalid_certs = value.flag(key)?,
            "tls.rejectUnauthorized" => self.tls.accept_invalid_certs = !value.flag(key)?,
            "allow_insecure_auth" | "allowInsecureAuth" => self.allow_insecure_auth = value.flag(key)?,
            "bdat" | "chunking" => self.use_bdat = value.flag(key)?,
            "lmtp" => self.lmtp = value.flag(key)?,
            other => return Err(Error::invalid(format!("unknown option {other:?}"))),
        }
        Ok(())
    }
}

/// `%XX` escapes decoded (a `%` without two characters after it stays as it is); `None` when
/// the result is not UTF-8 or an escape is not hex.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A mail provider's submission settings (facts only: host, port, how TLS starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub name: &'static str,
    pub host: &'static str,
    pub port: u16,
    /// Implicit TLS (port 465 style); otherwise STARTTLS.
    pub secure: bool,
    /// No TLS at all (local development catchers such as Maildev).
    pub ignore_tls: bool,
    pub aliases: &'static [&'static str],
    /// Mail domains whose addresses are served by this provider (`user@gmail.com` → Gmail).
    pub domains: &'static [&'static str],
    /// What users must know beyond host and port (app passwords, sender verification).
    pub notes: &'static str,
}

impl Service {
    /// Implicit TLS, or STARTTLS required (every listed provider offers it), or none (Maildev).
    pub fn security(&self) -> Security {
        match (self.secure, self.ignore_tls) {
            (true, _) => Security::ImplicitTls,
            (false, true) => Security::None,
            (false, false) => Security::StartTlsRequired,
        }
    }

    /// A transport to this service, with its host, port and security.
    pub fn config(&self) -> TransportConfig {
        TransportConfig::new(self.host, self.port).security(self.security())
    }

    /// By name, alias, mail domain or address (`"Gmail"`, `"Google Mail"`, `"me@gmail.com"`),
    /// compared as Nodemailer's `well-known` compares (letters, digits, `.` and `-`, any case).
    pub fn find(key: &str) -> Option<&'static Service> {
        let key = normalize(key.rsplit('@').next().unwrap_or(key));
        SERVICES.iter().find(|s| {
            std::iter::once(&s.name)
                .chain(s.aliases)
                .chain(s.domains)
                .any(|k| normalize(k) == key)
        })
    }

    /// [`Service::find`], or an `invalid_input` error listing the known names.
    pub fn lookup(key: &str) -> Result<&'static Service> {
        Service::find(key).ok_or_else(|| {
            let names: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
            Error::invalid(format!("unknown service {key:?}; known services: {}", names.join(", ")))
        })
    }

    pub fn all() -> &'static [Service] {
        SERVICES
    }
}

fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect::<String>()
        .to_ascii_lowercase()
}

const fn svc(name: &'static str, host: &'static str, port: u16, secure: bool) -> Service {
    Service {
        name,
        host,
        port,
        secure,
        ignore_tls: false,
        aliases: &[],
        domains: &[],
        notes: "",
    }
}

const APP_PASSWORD: &str = "needs an app password (account with 2-step verification) or OAuth2";
const SES_NOTE: &str = "SMTP credentials from the SES console (not the AWS access key); verified senders";

macro_rules! ses {
    ($($name:literal => $region:literal),* $(,)?) => {
        [$(Service { notes: SES_NOTE, ..svc($name, concat!("email-smtp.", $region, ".amazonaws.com"), 465, true) }),*]
    };
}

const SES_REGIONS: [Service; 20] = ses![
    "SES" => "us-east-1", "SES-US-EAST-1" => "us-east-1", "SES-US-EAST-2" => "us-east-2",
    "SES-US-WEST-1" => "us-west-1", "SES-US-WEST-2" => "us-west-2",
    "SES-US-GOV-EAST-1" => "us-gov-east-1", "SES-US-GOV-WEST-1" => "us-gov-west-1",
    "SES-CA-CENTRAL-1" => "ca-central-1", "SES-SA-EAST-1" => "sa-east-1",
    "SES-EU-CENTRAL-1" => "eu-central-1", "SES-EU-NORTH-1" => "eu-north-1",
    "SES-EU-WEST-1" => "eu-west-1", "SES-EU-WEST-2" => "eu-west-2", "SES-EU-WEST-3" => "eu-west-3",
    "SES-AP-SOUTH-1" => "ap-south-1", "SES-AP-NORTHEAST-1" => "ap-northeast-1",
    "SES-AP-NORTHEAST-2" => "ap-northeast-2", "SES-AP-NORTHEAST-3" => "ap-northeast-3",
    "SES-AP-SOUTHEAST-1" => "ap-southeast-1", "SES-AP-SOUTHEAST-2" => "ap-southeast-2",
];

const OTHERS: [Service; 28] = [
    Service {
        aliases: &["Google Mail"],
        domains: &["gmail.com", "googlemail.com"],
        notes: APP_PASSWORD,
        ..svc("Gmail", "smtp.gmail.com", 465, true)
    },
    Service {
        aliases: &["Office365", "Microsoft365"],
        notes: "SMTP AUTH must be enabled for the mailbox; OAuth2 where basic auth is off",
        ..svc("Outlook365", "smtp.office365.com", 587, false)
    },
    Service {
        aliases: &["Outlook", "Outlook.com", "Hotmail.com"],
        domains: &["hotmail.com", "outlook.com", "live.com"],
        ..svc("Hotmail", "smtp-mail.outlook.com", 587, false)
    },
    Service {
        domains: &["yahoo.com"],
        notes: APP_PASSWORD,
        ..svc("Yahoo", "smtp.mail.yahoo.com", 465, true)
    },
    Service {
        domains: &["aol.com"],
        notes: APP_PASSWORD,
        ..svc("AOL", "smtp.aol.com", 587, false)
    },
    Service {
        aliases: &["Zoho Mail"],
        domains: &["zoho.com", "zohomail.com"],
        ..svc("Zoho", "smtp.zoho.com", 465, true)
    },
    Service {
        notes: "SMTP credentials of a sending domain",
        ..svc("Mailgun", "smtp.mailgun.org", 465, true)
    },
    Service {
        notes: "user \"apikey\", password: an API key",
        ..svc("SendGrid", "smtp.sendgrid.net", 587, false)
    },
    Service {
        aliases: &["PostmarkApp"],
        notes: "server API token as user and password",
        ..svc("Postmark", "smtp.postmarkapp.com", 2525, false)
    },
    svc("Mailjet", "in.mailjet.com", 587, false),
    Service {
        aliases: &["Brevo"],
        ..svc("SendinBlue", "smtp-relay.brevo.com", 587, false)
    },
    Service {
        aliases: &["SparkPost Mail"],
        ..svc("SparkPost", "smtp.sparkpostmail.com", 587, false)
    },
    svc("Mandrill", "smtp.mandrillapp.com", 587, false),
    Service {
        aliases: &["Elastic Email"],
        ..svc("ElasticEmail", "smtp.elasticemail.com", 2525, false)
    },
    svc("SendPulse", "smtp-pulse.com", 465, true),
    svc("Resend", "smtp.resend.com", 465, true),
    svc("Mailtrap", "live.smtp.mailtrap.io", 587, false),
    svc("Ethereal", "smtp.ethereal.email", 587, false),
    Service {
        domains: &["fastmail.com", "fastmail.fm"],
        notes: APP_PASSWORD,
        ..svc("FastMail", "smtp.fastmail.com", 465, true)
    },
    Service {
        aliases: &["Me", "Mac"],
        domains: &["icloud.com", "me.com", "mac.com"],
        notes: "needs an app-specific password",
        ..svc("iCloud", "smtp.mail.me.com", 587, false)
    },
    Service {
        domains: &["gmx.com", "gmx.net", "gmx.de"],
        ..svc("GMX", "mail.gmx.com", 587, false)
    },
    Service {
        domains: &["yandex.ru", "yandex.com"],
        notes: APP_PASSWORD,
        ..svc("Yandex", "smtp.yandex.ru", 465, true)
    },
    Service {
        domains: &["mail.ru"],
        ..svc("Mail.ru", "smtp.mail.ru", 465, true)
    },
    Service {
        domains: &["qq.com"],
        notes: "authorization code from the QQ Mail settings as password",
        ..svc("QQ", "smtp.qq.com", 465, true)
    },
    Service {
        domains: &["126.com"],
        ..svc("126", "smtp.126.com", 465, true)
    },
    Service {
        domains: &["163.com"],
        ..svc("163", "smtp.163.com", 465, true)
    },
    svc("Gandi", "mail.gandi.net", 587, false),
    Service {
        ignore_tls: true,
        notes: "local development server",
        ..svc("Maildev", "localhost", 1025, false)
    },
];

/// The rest of the providers Nodemailer's `well-known` lists (facts: host, port, TLS mode).
const MORE: [Service; 40] = [
    svc("1und1", "smtp.1und1.de", 465, true),
    Service {
        domains: &["aliyun.com"],
        ..svc("Aliyun", "smtp.aliyun.com", 465, true)
    },
    svc("AliyunQiye", "smtp.qiye.aliyun.com", 465, true),
    Service {
        aliases: &["Aruba PEC"],
        domains: &["aruba.it", "pec.aruba.it"],
        ..svc("Aruba", "smtps.aruba.it", 465, true)
    },
    Service {
        domains: &["bluewin.ch"],
        ..svc("Bluewin", "smtpauths.bluewin.ch", 465, false)
    },
    Service {
        domains: &["bol.com.br"],
        ..svc("BOL", "smtp.bol.com.br", 587, false)
    },
    svc("DebugMail", "debugmail.io", 25, false),
    Service {
        domains: &["disroot.org"],
        ..svc("Disroot", "disroot.org", 587, false)
    },
    Service {
        aliases: &["Dynect"],
        ..svc("DynectEmail", "smtp.dynect.net", 25, false)
    },
    Service {
        aliases: &["Feishu", "FeishuMail"],
        domains: &["www.feishu.cn"],
        ..svc("Feishu Mail", "smtp.feishu.cn", 465, true)
    },
    Service {
        aliases: &["FE", "ForwardEmail"],
        domains: &["forwardemail.net"],
        ..svc("Forward Email", "smtp.forwardemail.net", 465, true)
    },
    Service {
        aliases: &["Google Workspace Mail"],
        ..svc("GmailWorkspace", "smtp-relay.gmail.com", 465, true)
    },
    svc("Godaddy", "smtpout.secureserver.net", 25, false),
    svc("GodaddyAsia", "smtp.asia.secureserver.net", 25, false),
    svc("GodaddyEurope", "smtp.europe.secureserver.net", 25, false),
    svc("hot.ee", "mail.hot.ee", 587, false),
    Service {
        domains: &["ik.me", "ikmail.com", "etik.com"],
        ..svc("Infomaniak", "mail.infomaniak.com", 587, false)
    },
    Service {
        aliases: &["Kolab"],
        domains: &["kolabnow.com"],
        ..svc("KolabNow", "smtp.kolabnow.com", 465, true)
    },
    svc("Loopia", "mailcluster.loopia.se", 465, false),
    svc("Loops", "smtp.loops.so", 587, false),
    svc("mail.ee", "smtp.mail.ee", 587, false),
    svc("Mailcatch.app", "sandbox-smtp.mailcatch.app", 2525, false),
    svc("MailerSend", "smtp.mailersend.net", 587, false),
    svc("Mailosaur", "mailosaur.io", 25, false),
    svc("Naver", "smtp.naver.com", 587, false),
    svc("OhMySMTP", "smtp.ohmysmtp.com", 587, false),
    svc("One", "send.one.com", 465, true),
    Service {
        aliases: &["OMB", "openmailbox.org"],
        ..svc("OpenMailBox", "smtp.openmailbox.org", 465, true)
    },
    Service {
        aliases: &["ProtonMail", "Proton.me", "Protonmail.com", "Protonmail.ch"],
        domains: &["proton.me", "protonmail.com", "pm.me", "protonmail.ch"],
        ..svc("Proton", "smtp.protonmail.ch", 587, false)
    },
    svc("qiye.aliyun", "smtp.mxhichina.com", 465, true),
    Service {
        aliases: &["QQ Enterprise"],
        domains: &["exmail.qq.com"],
        ..svc("QQex", "smtp.exmail.qq.com", 465, true)
    },
    Service {
        domains: &["runbox.com"],
        ..svc("Runbox", "smtp.runbox.com", 465, true)
    },
    svc("SendCloud", "smtp.sendcloud.net", 2525, false),
    Service {
        aliases: &["Seznam Email"],
        domains: &["seznam.cz", "email.cz", "post.cz", "spoluzaci.cz"],
        ..svc("Seznam", "smtp.seznam.cz", 465, true)
    },
    svc("SMTP2GO", "mail.smtp2go.com", 2525, false),
    svc("Tipimail", "smtp.tipimail.com", 587, false),
    svc("TurboSMTP", "pro.turbo-smtp.com", 465, true),
    svc("TurboSMTP-EU", "pro.eu.turbo-smtp.com", 465, true),
    Service {
        domains: &["tutanota.com", "tuta.com", "tutanota.de", "tuta.io"],
        ..svc("Tutanota", "smtp.tutanota.com", 465, true)
    },
    Service {
        aliases: &["Zimbra Collaboration"],
        ..svc("Zimbra", "smtp.zimbra.com", 587, false)
    },
];

static SERVICES: &[Service] = &concat_services();

const fn concat_services() -> [Service; 88] {
    let mut out = [OTHERS[0]; 88];
    let mut n = 0;
    let mut i = 0;
    while i < OTHERS.len() {
        out[n] = OTHERS[i];
        n += 1;
        i += 1;
    }
    i = 0;
    while i < MORE.len() {
        out[n] = MORE[i];
        n += 1;
        i += 1;
    }
    i = 0;
    while i < SES_REGIONS.len() {
        out[n] = SES_REGIONS[i];
        n += 1;
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_found_by_name_alias_domain_and_address() {
        assert_eq!(Service::find("gmail").unwrap().host, "smtp.gmail.com");
        assert_eq!(Service::find("Google Mail").unwrap().name, "Gmail");
        assert_eq!(Service::find("GoogleMail.com").unwrap().name, "Gmail");
        assert_eq!(Service::find("seznam.cz").unwrap().host, "smtp.seznam.cz");
        assert_eq!(Service::all().len(), 88);
        assert_eq!(Service::find("someone@googlemail.com").unwrap().name, "Gmail");
        assert_eq!(
            Service::find("ses-eu-west-1").unwrap().host,
            "email-smtp.eu-west-1.amazonaws.com"
        );
        assert_eq!(Service::find("Maildev").unwrap().security(), Security::None);
        assert_eq!(
            Service::find("SendGrid").unwrap().security(),
            Security::StartTlsRequired
        );
        assert!(Service::find("nope").is_none());
        let e = Service::lookup("nope").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
        assert!(e.message().contains("SendGrid"));
        let mut names: Vec<&str> = Service::all().iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Service::all().len(), "names are unique");
    }

    #[test]
    fn url_query_goes_through_set_option() {
        let c = TransportConfig::from_url(
            "smtp://u%40x:p%3Aw@mail.example.com/?requireTLS=true&maxConnections=3&tls.minVersion=TLSv1.3&socketTimeout=1500",
        )
        .unwrap();
        assert_eq!(c.port, 587);
        assert_eq!(c.security, Security::StartTlsRequired);
        assert_eq!(c.pool.max_connections, 3);
        assert_eq!(c.tls.min_version, Some(TlsVersion::Tls13));
        assert_eq!(c.timeouts.command, Duration::from_millis(1500));
        assert_eq!(c.credentials.as_ref().unwrap().username, "u@x");
        let u = ConnectionUrl::parse("smtp:u:p@h:2525?name=a").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.user.as_deref(), u.pass.as_deref()),
            ("h", Some(2525), Some("u"), Some("p"))
        );
        let u = ConnectionUrl::parse("smtps://h:2465?pool=true&tls.rejectUnauthorized=false&name=a").unwrap();
        assert_eq!(
            u.query,
            [
                ("pool".into(), OptionValue::Flag(true)),
                ("tls.rejectUnauthorized".into(), OptionValue::Flag(false)),
                ("name".into(), OptionValue::Text("a".into())),
            ]
        );
        assert!((u.secure, u.port) == (true, Some(2465)));
        for bad in [
            "smtp://h?bogus=1",
            "smtp://h?maxConnections=x",
            "smtp://h?tls.minVersion=1.1",
            "http://h",
        ] {
            assert_eq!(
                TransportConfig::from_url(bad).unwrap_err().kind(),
                crate::ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }
}
