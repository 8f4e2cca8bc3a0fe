//! The resolver the checks use: hickory, pointed at the system's resolver or at one nameserver,
//! every query bounded by the timeout, answers reduced to what the checks read.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::rr::{RData, RecordType};
use mail_auth::MessageAuthenticator;

use crate::error::{Error, ErrorKind, Result, Stage};

/// Which resolver to ask, and how long to wait for each answer.
#[derive(Debug, Clone)]
pub struct ResolverSettings {
    /// `None`: the system resolver (`/etc/resolv.conf`).
    pub nameserver: Option<SocketAddr>,
    /// Each query's bound; the whole check is bounded by three of them.
    pub timeout: Duration,
    /// Ask over TCP only (no UDP).
    pub tcp_only: bool,
}

impl Default for ResolverSettings {
    fn default() -> Self {
        ResolverSettings {
            nameserver: None,
            timeout: Duration::from_secs(5),
            tcp_only: false,
        }
    }
}

impl ResolverSettings {
    /// `"127.0.0.1:5353"`, `"[::1]:53"` or a bare address (port 53).
    pub fn parse_nameserver(text: &str) -> Result<SocketAddr> {
        let text = text.trim();
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(addr);
        }
        text.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map(|ip| SocketAddr::new(ip, 53))
            .map_err(|_| {
                Error::invalid(format!(
                    "nameserver {text:?} is not an IP address (with an optional :port)"
                ))
            })
    }

    /// How error messages name the resolver.
    pub fn describe(&self) -> String {
        match self.nameserver {
            Some(addr) => format!("nameserver {addr}"),
            None => "the system resolver".to_string(),
        }
    }
}

/// What one query found.
#[derive(Debug, Clone)]
pub enum Answer<T> {
    Found(T),
    /// NXDOMAIN, or the name exists without records of this type.
    None,
    /// No usable answer: timeout, SERVFAIL, REFUSED, unreachable resolver.
    Failed(String),
}

impl<T> Answer<T> {
    pub fn failed(&self) -> bool {
        matches!(self, Answer::Failed(_))
    }
}

pub struct Dns {
    auth: MessageAuthenticator,
    pub settings: ResolverSettings,
}

impl Dns {
    pub fn new(settings: &ResolverSettings) -> Result<Dns> {
        let (config, mut opts) = match settings.nameserver {
            Some(addr) => {
                let connection = |mut c: ConnectionConfig| {
                    c.port = addr.port();
                    c
                };
                let mut connections = vec![connection(ConnectionConfig::tcp())];
                if !settings.tcp_only {
                    connections.insert(0, connection(ConnectionConfig::udp()));
                }
                let server = NameServerConfig::new(addr.ip(), true, connections);
                let mut opts = ResolverOpts::default();
                opts.attempts = 1;
                (ResolverConfig::from_name_servers(vec![server]), opts)
            }
            None => hickory_resolver::system_conf::read_system_conf().map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    Stage::Dns,
                    format!("cannot read the system resolver configuration: {e}"),
                )
            })?,
        };
        opts.timeout = settings.timeout;
        opts.ndots = 0;
        opts.cache_size = 0;
        opts.edns0 = true;
        let auth = MessageAuthenticator::new(config, opts)
            .map_err(|e| Error::new(ErrorKind::Io, Stage::Dns, format!("cannot set up the resolver: {e}")))?;
        Ok(Dns {
            auth,
            settings: settings.clone(),
        })
    }

    /// mail-auth's authenticator on the same resolver (SPF evaluation).
    pub fn authenticator(&self) -> &MessageAuthenticator {
        &self.auth
    }

    async fn lookup(&self, name: &str, kind: RecordType) -> Answer<Vec<RData>> {
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        };
        match self.auth.resolver().lookup(fqdn.as_str(), kind).await {
            Ok(lookup) => {
                let records: Vec<RData> = lookup
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == kind)
                    .map(|r| r.data.clone())
                    .collect();
                if records.is_empty() {
                    Answer::None
                } else {
                    Answer::Found(records)
                }
            }
            Err(NetError::Dns(DnsError::NoRecordsFound(_))) => Answer::None,
            Err(NetError::Timeout) => Answer::Failed(format!(
                "no answer from {} within {:?}",
                self.settings.describe(),
                self.settings.timeout
            )),
            Err(e) => Answer::Failed(format!("{} ({})", e, self.settings.describe())),
        }
    }

    /// Each TXT record, its strings joined.
    pub async fn txt(&self, name: &str) -> Answer<Vec<String>> {
        self.lookup(name, RecordType::TXT).await.map(|records| {
            records
                .into_iter()
                .filter_map(|r| match r {
                    RData::TXT(txt) => Some(String::from_utf8_lossy(&txt.txt_data.concat()).into_owned()),
                    _ => None,
                })
                .collect()
        })
    }

    /// (preference, exchange without the final dot), sorted by preference.
    pub async fn mx(&self, name: &str) -> Answer<Vec<(u16, String)>> {
        self.lookup(name, RecordType::MX).await.map(|records| {
            let mut mx: Vec<(u16, String)> = records
                .into_iter()
                .filter_map(|r| match r {
                    RData::MX(mx) => Some((mx.preference, mx.exchange.to_ascii().trim_end_matches('.').to_string())),
                    _ => None,
                })
                .collect();
            mx.sort();
            mx
        })
    }

    pub async fn a(&self, name: &str) -> Answer<Vec<Ipv4Addr>> {
        self.lookup(name, RecordType::A).await.map(|records| {
            records
                .into_iter()
                .filter_map(|r| match r {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect()
        })
    }

    /// A and AAAA, asked together.
    pub async fn ips(&self, name: &str) -> Answer<Vec<IpAddr>> {
        let (v4, v6) = tokio::join!(self.lookup(name, RecordType::A), self.lookup(name, RecordType::AAAA));
        let mut out = Vec::new();
        for answer in [&v4, &v6] {
            if let Answer::Found(records) = answer {
                for r in records {
                    match r {
                        RData::A(a) => out.push(IpAddr::V4(a.0)),
                        RData::AAAA(a) => out.push(IpAddr::V6(a.0)),
                        _ => {}
                    }
                }
            }
        }
        match (v4, v6) {
            _ if !out.is_empty() => Answer::Found(out),
            (Answer::Failed(e), _) | (_, Answer::Failed(e)) => Answer::Failed(e),
            _ => Answer::None,
        }
    }
}

impl<T> Answer<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Answer<U> {
        match self {
            Answer::Found(v) => Answer::Found(f(v)),
            Answer::None => Answer::None,
            Answer::Failed(e) => Answer::Failed(e),
        }
    }
}
