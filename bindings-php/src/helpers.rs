//! PHPMailer's public static helpers (and the protected ones its users reach through
//! `set()`/reflection): the text rules come from the core (`polymailer::text`), PHP's own
//! functions decide what PHPMailer lets PHP decide (`filter_var`, `quoted_printable_encode`).

use ext_php_rs::binary::Binary;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::convert::IntoZval;
use ext_php_rs::types::{ZendHashTable, Zval};
use ext_php_rs::zend::Function;

use polymailer::text;

/// The bytes of a PHP string argument (any charset); other scalars as PHP would print them.
pub fn arg_bytes(z: Option<&Zval>) -> Vec<u8> {
    match z {
        Some(z) if z.is_string() => z.zend_str().map(|s| s.as_bytes().to_vec()).unwrap_or_default(),
        other => crate::value::arg_string(other).into_bytes(),
    }
}

pub fn binary(bytes: Vec<u8>) -> Binary<u8> {
    Binary::from(bytes)
}

/// Calls one of PHP's own functions.
pub fn php_call(name: &str, args: Vec<&dyn ext_php_rs::convert::IntoZvalDyn>) -> Option<Zval> {
    Function::try_from_function(name)?.try_call(args).ok()
}

const FILTER_VALIDATE_URL: i64 = 273;
const FILTER_VALIDATE_EMAIL: i64 = 274;
const FILTER_VALIDATE_IP: i64 = 275;
const FILTER_FLAG_IPV4: i64 = 1_048_576;
const FILTER_FLAG_IPV6: i64 = 2_097_152;

fn filter_var(value: &str, filter: i64, flags: i64) -> bool {
    php_call("filter_var", vec![&value, &filter, &flags]).is_some_and(|r| !r.is_false() && !r.is_null())
}

/// PHP's `FILTER_VALIDATE_EMAIL`: PHPMailer's default validator (`'php'`).
pub fn php_email_valid(address: &str) -> bool {
    filter_var(address, FILTER_VALIDATE_EMAIL, 0)
}

/// A hostname, an IPv4 address or a bracketed IPv6 literal (PHPMailer's `isValidHost`).
pub fn is_valid_host(host: &Zval) -> bool {
    let Some(host) = host.str().filter(|_| host.is_string()) else {
        return false;
    };
    let bracketed = host.len() > 2 && host.starts_with('[') && host.ends_with(']');
    let inner_ok = if bracketed {
        host[1..host.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':')
    } else {
        host.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    };
    if host.is_empty() || host.len() > 256 || !inner_ok {
        return false;
    }
    if bracketed {
        return filter_var(&host[1..host.len() - 1], FILTER_VALIDATE_IP, FILTER_FLAG_IPV6);
    }
    let digits = host.replace('.', "");
    if php_call("is_numeric", vec![&digits]).is_some_and(|r| r.is_true()) {
        return filter_var(host, FILTER_VALIDATE_IP, FILTER_FLAG_IPV4);
    }
    filter_var(&format!("http://{host}"), FILTER_VALIDATE_URL, 0)
}

/// `validateAddress($address, $patternselect)`: a callable (not a function name) decides;
/// `pcre`/`pcre8` are the core's RFC 5321 check, `html5` the WHATWG form rule, anything else
/// PHP's `filter_var`. CR/LF never pass.
pub fn validate_address(address: &Zval, pattern: &Zval) -> bool {
    if pattern.is_callable() && !pattern.is_string() {
        return pattern.try_call(vec![address]).is_ok_and(|r| r.coerce_to_bool());
    }
    let address = crate::value::arg_string(Some(address));
    if address.contains(['\r', '\n']) {
        return false;
    }
    match pattern.str().unwrap_or("php") {
        "pcre" | "pcre8" => polymailer::address::validate_address("address", &address).is_ok(),
        "html5" => polymailer::address::html5_valid(&address),
        _ => php_email_valid(&address),
    }
}

/// `mb_pathinfo($path, $options)`: the four parts, or one of them by `PATHINFO_*` constant or
/// name.
pub fn mb_pathinfo(path: &str, options: Option<&Zval>) -> Zval {
    let [dirname, basename, extension, filename] = text::path_info(path);
    let pick = match options {
        Some(o) if o.is_long() => match o.long() {
            Some(1) => Some(dirname.clone()),
            Some(2) => Some(basename.clone()),
            Some(4) => Some(extension.clone()),
            Some(8) => Some(filename.clone()),
            _ => None,
        },
        Some(o) if o.is_string() => match o.str().unwrap_or("") {
            "dirname" => Some(dirname.clone()),
            "basename" => Some(basename.clone()),
            "extension" => Some(extension.clone()),
            "filename" => Some(filename.clone()),
            _ => None,
        },
        _ => None,
    };
    if let Some(one) = pick {
        return one.into_zval(false).unwrap_or_default();
    }
    let mut t = ZendHashTable::new();
    for (k, v) in [
        ("dirname", dirname),
        ("basename", basename),
        ("extension", extension),
        ("filename", filename),
    ] {
        let _ = t.insert(k, v);
    }
    t.into_zval(false).unwrap_or_default()
}

/// The MIME type of a file name or path (a query string ignored).
pub fn filename_to_type(filename: &str) -> &'static str {
    let name = filename.split_once('?').map_or(filename, |(n, _)| n);
    mime_type(&text::path_info(name)[2])
}

pub fn mime_type(extension: &str) -> &'static str {
    polymailer::message::guess_content_type(&format!("x.{extension}"))
}

/// Not a URL or stream wrapper (`phar://`, `https://`, `ssh2.sftp://`).
pub fn is_permitted_path(path: &str) -> bool {
    let scheme_end = path.find("://");
    !scheme_end.is_some_and(|i| {
        let scheme = &path[..i];
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
    })
}

/// Exists and (except UNC paths) is readable by this process.
pub fn file_is_accessible(path: &str) -> bool {
    if !is_permitted_path(path) {
        return false;
    }
    if path.starts_with("\\\\") {
        return std::path::Path::new(path).exists();
    }
    std::fs::File::open(path).is_ok()
}

/// `parseAddresses()`: PHPMailer's comma split; names with encoded words decoded to `charset`;
/// entries whose address fails `validateAddress()` are left out.
pub fn parse_addresses(list: &[u8], charset: &str, validator: &Zval) -> ZBox<ZendHashTable> {
    let mut out = ZendHashTable::new();
    for entry in list.split(|&b| b == b',') {
        let entry = String::from_utf8_lossy(entry.trim_ascii()).into_owned();
        let (name, address) = match entry.split_once('<') {
            None => (String::new(), entry.clone()),
            Some((name, rest)) => {
                let addr = rest.split('<').next().unwrap_or("").replace('>', "");
                let name = name.trim();
                let name = if name.starts_with("=?") && name.ends_with("?=") {
                    let raw = polymailer::text::decode_encoded_words(name.as_bytes(), charset);
                    String::from_utf8_lossy(&raw).into_owned()
                } else {
                    name.to_string()
                };
                (name.trim_matches(['\'', '"', ' ']).to_string(), addr.trim().to_string())
            }
        };
        let Ok(z) = address.as_str().into_zval(false) else {
            continue;
        };
        if !validate_address(&z, validator) {
            continue;
        }
        let mut row = ZendHashTable::new();
        let _ = row.insert("name", name);
        let _ = row.insert("address", address);
        let _ = out.push(row);
    }
    out
}

/// `encodeString()` for the known encodings; `None` for an unknown one.
pub fn encode_string(input: &[u8], encoding: &str, le: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    Some(match encoding.to_ascii_lowercase().as_str() {
        "base64" => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(input);
            let mut out = Vec::with_capacity(b64.len() + b64.len() / 76 * le.len() + le.len());
            for chunk in b64.as_bytes().chunks(76) {
                out.extend_from_slice(chunk);
                out.extend_from_slice(le);
            }
            out
        }
        "7bit" | "8bit" => {
            let mut out = text::normalize_breaks(input, le);
            if !out.ends_with(le) {
                out.extend_from_slice(le);
            }
            out
        }
        "binary" => input.to_vec(),
        "quoted-printable" => {
            let mut arg = Zval::new();
            arg.set_binary(input.to_vec());
            let qp = php_call("quoted_printable_encode", vec![&arg])
                .and_then(|z| z.zend_str().map(|s| s.as_bytes().to_vec()))
                .unwrap_or_default();
            text::normalize_breaks(&qp, le)
        }
        _ => return None,
    })
}

/// `punyencodeAddress()`: the domain of an address with 8-bit characters in `charset`
/// (UTF-8, ISO-8859-1, US-ASCII) as IDNA ASCII; anything else unchanged.
pub fn punyencode_address(address: &[u8], charset: &str) -> Vec<u8> {
    let Some(at) = address.iter().rposition(|&b| b == b'@') else {
        return address.to_vec();
    };
    let domain = &address[at + 1..];
    if charset.is_empty() || domain.is_ascii() {
        return address.to_vec();
    }
    let utf8 = match charset.to_ascii_lowercase().as_str() {
        // Bytes that are not UTF-8 despite the charset: read as ISO-8859-1, the usual other.
        "utf-8" | "utf8" => match std::str::from_utf8(domain) {
            Ok(s) => s.to_string(),
            Err(_) => domain.iter().map(|&b| b as char).collect(),
        },
        "iso-8859-1" | "latin1" => domain.iter().map(|&b| b as char).collect(),
        _ => return address.to_vec(),
    };
    match polymailer::address::idna_domain(&utf8) {
        Some(ascii) => [&address[..=at], ascii.as_bytes()].concat(),
        None => address.to_vec(),
    }
}
