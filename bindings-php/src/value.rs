//! `Value`: a property that accepts any PHP value and is read the way PHP would coerce it,
//! as PHPMailer's untyped public properties are (`$mail->Port = "587"`, `SMTPAuth = 1`).

use ext_php_rs::convert::{FromZval, IntoZval};
use ext_php_rs::flags::DataType;
use ext_php_rs::types::Zval;

pub struct Value(pub Zval);

impl Clone for Value {
    fn clone(&self) -> Self {
        Value(self.0.shallow_clone())
    }
}

impl Default for Value {
    fn default() -> Self {
        Value(Zval::null())
    }
}

impl<'a> FromZval<'a> for Value {
    const TYPE: DataType = DataType::Mixed;
    const NULLABLE: bool = true;

    fn from_zval(zval: &'a Zval) -> Option<Self> {
        Some(Value(zval.shallow_clone()))
    }
}

impl IntoZval for Value {
    const TYPE: DataType = DataType::Mixed;
    const NULLABLE: bool = true;

    fn set_zval(self, zv: &mut Zval, _persistent: bool) -> ext_php_rs::error::Result<()> {
        *zv = self.0;
        Ok(())
    }
}

impl Value {
    pub fn str(s: &str) -> Self {
        let mut z = Zval::new();
        let _ = z.set_string(s, false);
        Value(z)
    }

    pub fn long(n: i64) -> Self {
        let mut z = Zval::new();
        z.set_long(n);
        Value(z)
    }

    pub fn bool(b: bool) -> Self {
        let mut z = Zval::new();
        z.set_bool(b);
        Value(z)
    }

    pub fn array() -> Self {
        Value(Zval::new_array())
    }

    pub fn is_null(&self) -> bool {
        self.0.is_null()
    }

    /// PHP's `(bool)`.
    pub fn truthy(&self) -> bool {
        self.0.coerce_to_bool()
    }

    /// PHP's `(string)`; null and arrays become "".
    pub fn string(&self) -> String {
        if self.0.is_null() || self.0.is_array() {
            return String::new();
        }
        if self.0.is_false() {
            return String::new();
        }
        self.0.coerce_to_string().unwrap_or_default()
    }

    /// The string as UTF-8 text, its bytes read in `charset` (PHPMailer's `CharSet`): bytes
    /// that are not UTF-8 are converted by PHP's `mb_convert_encoding` (ISO-8859-1 and
    /// others), never dropped; undecodable bytes become U+FFFD.
    pub fn text(&self, charset: &str) -> String {
        let Some(bytes) = self.0.zend_str().map(|s| s.as_bytes()) else {
            return self.string();
        };
        if let Ok(s) = std::str::from_utf8(bytes) {
            return s.to_string();
        }
        let is_utf8 = charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8");
        if !is_utf8 && !charset.is_empty() {
            let converted = crate::helpers::php_call("mb_convert_encoding", vec![&self.0, &"UTF-8", &charset])
                .and_then(|z| z.zend_str().map(|s| String::from_utf8_lossy(s.as_bytes()).into_owned()));
            if let Some(s) = converted {
                return s;
            }
        }
        if is_utf8 || charset.is_empty() {
            return String::from_utf8_lossy(bytes).into_owned();
        }
        // No converter for that charset: read the bytes as ISO-8859-1.
        bytes.iter().map(|&b| b as char).collect()
    }

    /// The string, or None when empty.
    pub fn non_empty(&self) -> Option<String> {
        Some(self.string()).filter(|s| !s.is_empty())
    }

    /// PHP's `(int)`.
    pub fn long_or(&self, default: i64) -> i64 {
        if self.0.is_null() {
            return default;
        }
        self.0.coerce_to_long().unwrap_or(default)
    }
}

/// A loose argument (`&Zval`) as a string, PHP-style.
pub fn arg_string(z: Option<&Zval>) -> String {
    z.map(|z| Value(z.shallow_clone()).string()).unwrap_or_default()
}

/// A PHP value as the core's [`polymailer::Value`], the one conversion for what the core reads
/// (check options, DKIM settings): a string that is not UTF-8 as bytes, an array with keys
/// 0, 1, … as a list and any other as a map.
pub fn to_core(z: &Zval) -> polymailer::Value {
    use polymailer::Value as V;
    if let Some(b) = z.bool() {
        V::Bool(b)
    } else if let Some(n) = z.long() {
        V::Number(n as f64)
    } else if let Some(n) = z.double() {
        V::Number(n)
    } else if let Some(s) = z.zend_str() {
        match std::str::from_utf8(s.as_bytes()) {
            Ok(t) => V::Text(t.to_string()),
            Err(_) => V::Bytes(s.as_bytes().to_vec()),
        }
    } else if let Some(table) = z.array() {
        let is_list = table
            .iter()
            .enumerate()
            .all(|(i, (k, _))| k.to_string() == i.to_string());
        if is_list {
            V::List(table.iter().map(|(_, v)| to_core(v)).collect())
        } else {
            V::Map(table.iter().map(|(k, v)| (k.to_string(), to_core(v))).collect())
        }
    } else {
        V::Null
    }
}

/// The core's JSON (a report, a decoded address) as PHP values, keys as the core names them.
pub fn from_json(v: &serde_json::Value) -> ext_php_rs::exception::PhpResult<Zval> {
    use ext_php_rs::types::ZendHashTable;
    use serde_json::Value as Json;
    let mut z = Zval::new();
    match v {
        Json::Null => z.set_null(),
        Json::Bool(b) => z.set_bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => z.set_long(i),
            None => z.set_double(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => z.set_string(s, false)?,
        Json::Array(items) => {
            let mut t = ZendHashTable::new();
            for item in items {
                t.push(from_json(item)?)?;
            }
            z.set_hashtable(t);
        }
        Json::Object(map) => {
            let mut t = ZendHashTable::new();
            for (k, item) in map {
                t.insert(k.as_str(), from_json(item)?)?;
            }
            z.set_hashtable(t);
        }
    }
    Ok(z)
}
