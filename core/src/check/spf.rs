//! SPF records: the one `v=spf1` record of a name, and the DNS-lookup count of the whole tree of
//! includes and redirects against RFC 7208's limit of 10 (section 4.6.4).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::spf::{Macro, Mechanism, Qualifier, Spf};

use super::dns::{Answer, Dns};

/// RFC 7208 4.6.4: at most 10 mechanisms and modifiers that query DNS.
pub const LOOKUP_LIMIT: usize = 10;

/// The `v=spf1` records among a name's TXT records.
pub fn spf_records(txt: &[String]) -> Vec<&String> {
    txt.iter()
        .filter(|t| {
            let t = t.trim_start().as_bytes();
            t.len() >= 6 && t[..6].eq_ignore_ascii_case(b"v=spf1") && (t.len() == 6 || t[6] == b' ')
        })
        .collect()
}

pub fn parse(record: &str) -> Option<Spf> {
    Spf::parse(record.as_bytes()).ok()
}

/// What the record ends with: `-all`, `~all`, `?all`, `+all`, a redirect, or nothing.
pub fn all_qualifier(spf: &Spf) -> Option<Qualifier> {
    spf.directives
        .iter()
        .find(|d| d.mechanism == Mechanism::All)
        .map(|d| d.qualifier.clone())
}

/// The domain a mechanism names, when it is a plain name (no `%{...}` macro).
fn literal(m: &Macro, current: &str) -> Option<String> {
    match m {
        Macro::Literal(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Macro::None => Some(current.to_string()),
        _ => None,
    }
}

/// The lookup count of a record and everything it includes.
#[derive(Debug, Default, Clone)]
pub struct Walk {
    pub lookups: usize,
    /// Includes or redirects that could not be followed (no record, two records, bad syntax,
    /// lookup error): each makes the receiver's evaluation a permerror or temperror.
    pub problems: Vec<String>,
    /// Names built from macros, counted but not followed.
    pub macros: usize,
}

type Boxed = Pin<Box<dyn Future<Output = Walk> + Send>>;

/// Counts `spf`'s lookups, following includes and the redirect concurrently.
pub fn walk(dns: Arc<Dns>, domain: String, spf: Spf, depth: usize) -> Boxed {
    Box::pin(async move {
        let mut walk = Walk::default();
        let mut follow = Vec::new();
        for d in spf.directives.iter() {
            match &d.mechanism {
                Mechanism::Include { macro_string } => {
                    walk.lookups += 1;
                    match literal(macro_string, &domain) {
                        Some(target) => follow.push(target),
                        None => walk.macros += 1,
                    }
                }
                Mechanism::A { .. } | Mechanism::Mx { .. } | Mechanism::Ptr { .. } | Mechanism::Exists { .. } => {
                    walk.lookups += 1
                }
                Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. } => {}
            }
        }
        if let Some(redirect) = &spf.redirect {
            walk.lookups += 1;
            match literal(redirect, &domain) {
                Some(target) => follow.push(target),
                None => walk.macros += 1,
            }
        }
        if depth >= LOOKUP_LIMIT {
            walk.problems
                .push(format!("includes nested deeper than {LOOKUP_LIMIT} at {domain}"));
            return walk;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for target in follow {
            let dns = dns.clone();
            tasks.spawn(async move {
                let sub = match dns.txt(&target).await {
                    Answer::Found(txt) => {
                        let records = spf_records(&txt);
                        match records.as_slice() {
                            [one] => match parse(one) {
                                Some(spf) => return walk_sub(dns, target, spf, depth + 1).await,
                                None => format!("{target}: SPF syntax error"),
                            },
                            [] => format!("{target} has no SPF record"),
                            _ => format!("{target} has {} SPF records", records.len()),
                        }
                    }
                    Answer::None => format!("{target} has no SPF record"),
                    Answer::Failed(e) => format!("{target}: {e}"),
                };
                Walk {
                    problems: vec![sub],
                    ..Walk::default()
                }
            });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Ok(sub) = joined {
                walk.lookups += sub.lookups;
                walk.macros += sub.macros;
                walk.problems.extend(sub.problems);
            }
        }
        walk
    })
}

fn walk_sub(dns: Arc<Dns>, domain: String, spf: Spf, depth: usize) -> Boxed {
    walk(dns, domain, spf, depth)
}
