//! PHPMailer's message table: English built in, other languages read from PHPMailer-format
//! files (`phpmailer.lang-xx.php`) as text — parsed line by line, never executed, only known
//! keys taken — from the given directory or an installed PHPMailer's `language/`.

use std::collections::HashMap;

/// Where an installed PHPMailer keeps its translations (Debian's `libphp-phpmailer`).
pub const INSTALLED_DIRS: &[&str] = &["/usr/share/php/libphp-phpmailer/language/"];

/// PHPMailer's keys and English texts (the texts code compares `ErrorInfo` against).
pub const ENGLISH: &[(&str, &str)] = &[
    ("authenticate", "SMTP Error: Could not authenticate."),
    (
        "buggy_php",
        "Your version of PHP is affected by a bug that may result in corrupted messages. To fix it, switch to sending using SMTP, disable the mail.add_x_header option in your php.ini, switch to MacOS or Linux, or upgrade your PHP to version 7.0.17+ or 7.1.3+.",
    ),
    ("connect_host", "SMTP Error: Could not connect to SMTP host."),
    ("data_not_accepted", "SMTP Error: data not accepted."),
    ("empty_message", "Message body empty"),
    ("encoding", "Unknown encoding: "),
    ("execute", "Could not execute: "),
    ("extension_missing", "Extension missing: "),
    ("file_access", "Could not access file: "),
    ("file_open", "File Error: Could not open file: "),
    ("from_failed", "The following From address failed: "),
    ("instantiate", "Could not instantiate mail function."),
    ("invalid_address", "Invalid address: "),
    ("invalid_header", "Invalid header name or value"),
    ("invalid_hostentry", "Invalid hostentry: "),
    ("invalid_host", "Invalid host: "),
    ("mailer_not_supported", " mailer is not supported."),
    ("provide_address", "You must provide at least one recipient email address."),
    ("recipients_failed", "SMTP Error: The following recipients failed: "),
    ("signing", "Signing Error: "),
    ("smtp_code", "SMTP code: "),
    ("smtp_code_ex", "Additional SMTP info: "),
    ("smtp_connect_failed", "SMTP connect() failed."),
    ("smtp_detail", "Detail: "),
    ("smtp_error", "SMTP server error: "),
    ("variable_set", "Cannot set or reset variable: "),
];

const TROUBLESHOOTING: &str = " https://github.com/PHPMailer/PHPMailer/wiki/Troubleshooting";

/// The table in use: English, overlaid with a loaded language's known keys.
#[derive(Clone, Default)]
pub struct Translations {
    loaded: HashMap<&'static str, String>,
}

impl Translations {
    pub fn get(&self, key: &str) -> Option<String> {
        let english = ENGLISH.iter().find(|(k, _)| *k == key)?;
        Some(
            self.loaded
                .get(english.0)
                .cloned()
                .unwrap_or_else(|| english.1.to_string()),
        )
    }

    /// PHPMailer's `lang()`: the text, the troubleshooting link after `smtp_connect_failed`,
    /// the key itself when unknown.
    pub fn lang(&self, key: &str) -> String {
        match self.get(key) {
            Some(t) if key == "smtp_connect_failed" => t + TROUBLESHOOTING,
            Some(t) => t,
            None => key.to_string(),
        }
    }

    pub fn all(&self) -> Vec<(&'static str, String)> {
        ENGLISH
            .iter()
            .map(|(k, v)| (*k, self.loaded.get(k).cloned().unwrap_or_else(|| v.to_string())))
            .collect()
    }

    /// A message built from English texts, with each leading English text replaced by the
    /// loaded language's.
    pub fn localize(&self, message: &str) -> String {
        if self.loaded.is_empty() {
            return message.to_string();
        }
        for (key, english) in ENGLISH {
            let english = english.trim_end();
            if english.len() < 4 {
                continue;
            }
            if let (Some(rest), Some(t)) = (message.strip_prefix(english), self.loaded.get(key)) {
                return format!("{}{}", t.trim_end(), rest);
            }
        }
        message.to_string()
    }

    /// `setLanguage($code, $dir)`: true when the language was found (or is English); false
    /// leaves English in place. Codes: `xx`, `xx_Scri`, `xx_cc`, `xx_Scri_cc`; PHPMailer's
    /// renamed codes (`dk` → `da`, …) are followed.
    pub fn load(code: &str, dir: &str) -> (Translations, bool) {
        let english = Translations::default();
        let code = code.to_ascii_lowercase();
        let renamed = [
            ("dk", "da"),
            ("no", "nb"),
            ("se", "sv"),
            ("rs", "sr"),
            ("tg", "tl"),
            ("am", "hy"),
        ];
        let code = renamed
            .iter()
            .find(|(old, _)| *old == code)
            .map_or(code.clone(), |(_, new)| new.to_string());
        if code == "en" {
            return (english, true);
        }
        let Some((lang, script, country)) = split_code(&code) else {
            return (english, false);
        };
        let dirs: Vec<String> = if dir.is_empty() {
            INSTALLED_DIRS.iter().map(|d| d.to_string()).collect()
        } else if crate::helpers::is_permitted_path(dir) {
            vec![dir.to_string()]
        } else {
            return (english, false);
        };
        let mut candidates = vec![code.clone()];
        if let (Some(_), Some(c)) = (script, country) {
            candidates.push(format!("{lang}_{c}"));
        }
        if let Some(s) = script {
            candidates.push(format!("{lang}_{s}"));
        }
        candidates.push(lang.to_string());
        for dir in &dirs {
            for c in &candidates {
                if let Ok(text) = std::fs::read(format!("{dir}phpmailer.lang-{c}.php")) {
                    return (
                        Translations {
                            loaded: parse(&String::from_utf8_lossy(&text)),
                        },
                        true,
                    );
                }
            }
        }
        (english, false)
    }
}

/// `xx`, `xx_scri`, `xx_cc`, `xx_scri_cc` (lower-cased) → parts.
fn split_code(code: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    let parts: Vec<&str> = code.split('_').collect();
    let alpha = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [l] if alpha(l, 2) => Some((l, None, None)),
        [l, s] if alpha(l, 2) && alpha(s, 4) => Some((l, Some(s), None)),
        [l, c] if alpha(l, 2) && alpha(c, 2) => Some((l, None, Some(c))),
        [l, s, c] if alpha(l, 2) && alpha(s, 4) && alpha(c, 2) => Some((l, Some(s), Some(c))),
        _ => None,
    }
}

/// `$PHPMAILER_LANG['key'] = 'text';` lines (single or double quotes, taken as written).
fn parse(file: &str) -> HashMap<&'static str, String> {
    let mut out = HashMap::new();
    for line in file.lines() {
        let Some(rest) = line.strip_prefix("$PHPMAILER_LANG['") else {
            continue;
        };
        let Some((key, rest)) = rest.split_once("']") else {
            continue;
        };
        let Some(known) = ENGLISH.iter().find(|(k, _)| *k == key).map(|(k, _)| *k) else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(rest) = rest.strip_prefix('=') else { continue };
        let rest = rest.trim_start();
        let Some(quote) = rest.chars().next().filter(|q| *q == '\'' || *q == '"') else {
            continue;
        };
        let body = &rest[1..];
        let end = format!("{quote};");
        // The shortest non-empty text followed by the closing quote and `;`.
        let first = body.chars().next().map_or(1, char::len_utf8);
        if let Some(i) = body.get(first..).and_then(|b| b.find(&end)) {
            out.insert(known, body[..first + i].to_string());
        }
    }
    out
}
