//! The service extensions a server announced in its EHLO reply.

use crate::reply::Reply;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// Each keyword (upper-cased) with its parameters, in the server's order.
    features: Vec<(String, String)>,
}

impl Extensions {
    /// Parses an EHLO reply: the first line is the greeting, the rest are extensions.
    pub fn from_ehlo(reply: &Reply) -> Self {
        let features = reply
            .lines
            .iter()
            .skip(1)
            .filter_map(|line| {
                let line = line.trim();
                let (kw, params) = line.split_once([' ', '=']).unwrap_or((line, ""));
                (!kw.is_empty()).then(|| (kw.to_ascii_uppercase(), params.trim().to_string()))
            })
            .collect();
        Extensions { features }
    }

    /// Keyword and parameters in order (smtplib's `esmtp_features` lower-cases the keys).
    pub fn features(&self) -> &[(String, String)] {
        &self.features
    }

    pub fn has(&self, keyword: &str) -> bool {
        self.features.iter().any(|(k, _)| k.eq_ignore_ascii_case(keyword))
    }

    pub fn params(&self, keyword: &str) -> Option<&str> {
        self.features
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(keyword))
            .map(|(_, p)| p.as_str())
    }

    /// The SIZE limit in bytes; `None` when not announced or announced as 0 (no limit).
    pub fn max_size(&self) -> Option<u64> {
        self.params("SIZE").and_then(|p| p.parse().ok()).filter(|&n| n > 0)
    }

    /// Offered AUTH mechanisms, upper-cased (the obsolete `AUTH=` form included).
    pub fn auth_mechanisms(&self) -> Vec<String> {
        self.features
            .iter()
            .filter(|(k, _)| k == "AUTH")
            .flat_map(|(_, p)| p.split_whitespace().map(|m| m.to_ascii_uppercase()))
            .collect()
    }

    pub fn starttls(&self) -> bool {
        self.has("STARTTLS")
    }

    pub fn pipelining(&self) -> bool {
        self.has("PIPELINING")
    }

    /// RFC 3030 BDAT.
    pub fn chunking(&self) -> bool {
        self.has("CHUNKING")
    }

    pub fn eight_bit_mime(&self) -> bool {
        self.has("8BITMIME")
    }

    pub fn smtputf8(&self) -> bool {
        self.has("SMTPUTF8")
    }

    pub fn dsn(&self) -> bool {
        self.has("DSN")
    }

    pub fn enhanced_status_codes(&self) -> bool {
        self.has("ENHANCEDSTATUSCODES")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ehlo() {
        let reply = Reply {
            code: 250,
            enhanced: None,
            lines: [
                "mx.test",
                "PIPELINING",
                "SIZE 10240000",
                "AUTH PLAIN LOGIN",
                "AUTH=LOGIN",
                "8BITMIME",
                "STARTTLS",
            ]
            .map(String::from)
            .to_vec(),
        };
        let e = Extensions::from_ehlo(&reply);
        assert!(e.pipelining() && e.starttls() && e.eight_bit_mime() && !e.smtputf8());
        assert_eq!(e.max_size(), Some(10_240_000));
        assert_eq!(e.auth_mechanisms(), ["PLAIN", "LOGIN", "LOGIN"]);
    }
}
