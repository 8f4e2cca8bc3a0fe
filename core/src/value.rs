//! Values as a binding hands them over: a Python dict, a JavaScript object or a PHP array,
//! converted shape for shape (each binding has one converter), then read here by the core's
//! rules — a mail in polymailer's or Nodemailer's field names ([`crate::fields`]),
//! deliverability-check options, a DKIM signer, a VERP setting. No binding reads a field itself.

use crate::bounce::Verp;
use crate::dkim::DkimConfig;
use crate::error::{Error, Result};
use crate::options::OptionValue;

/// A host value. Maps keep their order; `Tuple` is a Python tuple, read by position where a
/// pair is meant (`(name, address)`, `(url, comment)`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Value {
    /// A map from `(key, value)` pairs.
    pub fn map<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    /// The first of `keys` a map holds with a value other than null (spellings of one field:
    /// `replyTo`, `reply_to`).
    pub fn get(&self, keys: &[&str]) -> Option<&Value> {
        let Value::Map(entries) = self else { return None };
        keys.iter()
            .find_map(|k| entries.iter().find(|(name, v)| name == k && !v.is_null()))
            .map(|(_, v)| v)
    }

    /// Takes `key` out of a map (what the caller reads apart from the rest).
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let Value::Map(entries) = self else { return None };
        let i = entries.iter().position(|(k, _)| k == key)?;
        Some(entries.remove(i).1).filter(|v| !v.is_null())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Nodemailer's "given": not null, `false` or the empty string.
    pub fn is_present(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false)) && !matches!(self, Value::Text(t) if t.is_empty())
    }

    /// A list's items; a single value as a list of one; null as none.
    pub fn items(&self) -> &[Value] {
        match self {
            Value::Null => &[],
            Value::List(items) | Value::Tuple(items) => items,
            one => std::slice::from_ref(one),
        }
    }

    /// As text, the way JavaScript's `String(v)` and Python's `str(v)` agree on it (bytes as
    /// UTF-8). Lists and maps are not text.
    pub fn to_text(&self, field: &str) -> Result<String> {
        match self {
            Value::Text(t) => Ok(t.clone()),
            Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(Error::invalid(format!("{field}: expected text"))),
        }
    }

    /// Text, or nothing when not given (null, `false`).
    pub fn text(&self, field: &str) -> Result<Option<String>> {
        match self {
            Value::Null | Value::Bool(false) => Ok(None),
            v => v.to_text(field).map(Some),
        }
    }

    /// The text of the first of `keys` a map holds.
    pub fn text_at(&self, keys: &[&str]) -> Result<Option<String>> {
        match self.get(keys) {
            Some(v) => v.text(keys[0]),
            None => Ok(None),
        }
    }

    /// Bytes as given, or text's UTF-8.
    pub fn bytes(&self, field: &str) -> Result<Vec<u8>> {
        match self {
            Value::Bytes(b) => Ok(b.clone()),
            Value::Text(t) => Ok(t.as_bytes().to_vec()),
            _ => Err(Error::invalid(format!("{field}: expected bytes or text"))),
        }
    }

    pub fn flag(&self) -> bool {
        match self {
            Value::Null | Value::Bool(false) => false,
            Value::Number(n) => *n != 0.0,
            Value::Text(t) => !t.is_empty(),
            _ => true,
        }
    }

    /// The option words' value ([`OptionValue`]) of a scalar.
    pub fn option(&self, field: &str) -> Result<OptionValue> {
        match self {
            Value::Bool(b) => Ok(OptionValue::Flag(*b)),
            Value::Number(n) => Ok(OptionValue::Number(*n)),
            v => v.to_text(field).map(OptionValue::Text),
        }
    }
}

impl DkimConfig {
    /// A DKIM signer from its settings: `domain` (or Nodemailer's `domainName`), `selector`
    /// (`keySelector`), `private_key` (`privateKey`, PEM) or `private_key_file`, and the optional
    /// `identity` and `headers` (the names to sign).
    pub fn from_value(spec: &Value) -> Result<DkimConfig> {
        if !matches!(spec, Value::Map(_)) {
            return Err(Error::invalid(
                "dkim: a map with domain, selector and private_key(_file)",
            ));
        }
        let need = |keys: &[&str]| {
            spec.text_at(keys)?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::invalid(format!("dkim needs '{}'", keys[0])))
        };
        let key = match (
            spec.text_at(&["private_key", "privateKey"])?,
            spec.text_at(&["private_key_file"])?,
        ) {
            (Some(k), _) if !k.is_empty() => k,
            (_, Some(path)) if !path.is_empty() => DkimConfig::read_key_file(path)?,
            _ => return Err(Error::invalid("dkim needs 'private_key' (PEM) or 'private_key_file'")),
        };
        let headers = match spec.get(&["headers"]) {
            Some(h) => Some(
                h.items()
                    .iter()
                    .map(|v| v.to_text("dkim headers"))
                    .collect::<Result<Vec<_>>>()?,
            ),
            None => None,
        };
        let identity = spec.text_at(&["identity"])?;
        let domain = need(&["domain", "domainName"])?;
        DkimConfig::new(
            &domain,
            &need(&["selector", "keySelector"])?,
            &key,
            identity.as_deref(),
            headers.as_deref(),
        )
    }
}

impl Verp {
    /// `domain`, `secret` (text or bytes) and the optional `prefix`.
    pub fn from_value(spec: &Value) -> Result<Verp> {
        let domain = spec
            .text_at(&["domain"])?
            .ok_or_else(|| Error::invalid("verp needs 'domain'"))?;
        let secret = spec
            .get(&["secret"])
            .ok_or_else(|| Error::invalid("verp needs 'secret'"))?
            .bytes("verp secret")?;
        let v = Verp::new(&domain, secret)?;
        match spec.text_at(&["prefix"])? {
            Some(p) => v.with_prefix(&p),
            None => Ok(v),
        }
    }
}

impl crate::check::CheckOptions {
    /// Check options from a map: each key an option word ([`Self::set_option`]), a list value
    /// as the word given several times, `dkim` as [`DkimConfig::from_value`]; null is not given.
    pub fn from_value(given: &Value) -> Result<Self> {
        let mut o = Self::default();
        let Value::Map(entries) = given else {
            return match given {
                Value::Null => Ok(o),
                _ => Err(Error::invalid("check options: a map of option words")),
            };
        };
        for (key, value) in entries.iter().filter(|(_, v)| !v.is_null()) {
            if key == "dkim" {
                o.dkim = Some(DkimConfig::from_value(value)?);
                continue;
            }
            for item in value.items() {
                o.set_option(key, item.option(key)?)?;
            }
        }
        Ok(o)
    }
}

impl crate::config::TlsOptions {
    /// TLS settings under the words of Python's `ssl` (as `polymailer._tls` reads an
    /// `SSLContext`) and of Node's `tls` options: `verify` / `rejectUnauthorized`,
    /// `check_hostname`, `native_roots`, `cadata` / `ca` (PEM or DER, one or a list), `cafile`,
    /// `server_hostname` / `servername`, `minVersion`, a client certificate as data
    /// (`certdata` / `cert`, `keydata` / `key`) or files (`certfile`, `keyfile`), and
    /// `keypassword` / `passphrase` for an encrypted key.
    pub fn from_value(spec: &Value) -> Result<Self> {
        use crate::config::ClientIdentity;
        let mut tls = Self::default();
        let refused = |keys: &[&str]| matches!(spec.get(keys), Some(v) if !v.flag());
        tls.accept_invalid_certs = refused(&["verify", "rejectUnauthorized"]);
        tls.accept_invalid_hostnames = refused(&["check_hostname"]);
        tls.native_roots = !refused(&["native_roots"]);
        for ca in spec.get(&["cadata", "ca"]).map_or(&[][..], Value::items) {
            tls.add_ca(&ca.bytes("tls ca")?)?;
        }
        if let Some(file) = spec.text_at(&["cafile"])? {
            tls.add_ca_file(file)?;
        }
        tls.server_name = spec.text_at(&["server_hostname", "servername"])?;
        tls.min_version = spec.text_at(&["minVersion"])?.map(|v| v.parse()).transpose()?;
        let joined = |v: &Value, field: &str| -> Result<Vec<u8>> {
            v.items().iter().try_fold(Vec::new(), |mut out, item| {
                out.extend(item.bytes(field)?);
                Ok(out)
            })
        };
        let password = spec.text_at(&["keypassword", "passphrase"])?;
        let certfile = spec.text_at(&["certfile"])?;
        if let Some(chain) = spec.get(&["certdata", "cert"]) {
            // Data (what `load_cert_chain` read: the files may be gone since, as trustme does).
            let chain = joined(chain, "tls cert")?;
            let key = spec
                .get(&["keydata", "key"])
                .map(|k| joined(k, "tls key"))
                .transpose()?;
            let what = certfile.as_deref().unwrap_or("tls.cert");
            let key = key.as_deref().unwrap_or(&chain);
            tls.client_identity = Some(ClientIdentity::from_pem(&chain, key, password.as_deref(), what)?);
        } else if let Some(cert) = certfile {
            let key = spec.text_at(&["keyfile"])?;
            let key = key.as_deref().map(std::path::Path::new);
            tls.client_identity = Some(ClientIdentity::from_files(cert, key, password.as_deref())?);
        }
        Ok(tls)
    }
}
