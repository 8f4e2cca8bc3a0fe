//! `sign()`: S/MIME signing of the built message, as PHPMailer does it — PHP's own
//! `openssl_pkcs7_sign` (detached, `multipart/signed`) over the MIME entity, the other headers
//! kept in front.

use ext_php_rs::convert::IntoZval;

use crate::helpers::php_call;

/// PHPMailer's `sign($cert_filename, $key_filename, $key_pass, $extracerts_filename)`.
#[derive(Clone, Default)]
pub struct SignSettings {
    pub cert: String,
    pub key: String,
    pub pass: String,
    pub extracerts: String,
}

const PKCS7_DETACHED: i64 = 64;

/// A scratch file removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let name = format!("polymailer-smime-{}-{:016x}.{tag}", std::process::id(), fastrand_u64());
        Scratch(std::env::temp_dir().join(name))
    }

    fn path(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

fn file_url(path: &str) -> String {
    let absolute = std::fs::canonicalize(path).map_or_else(|_| path.to_string(), |p| p.to_string_lossy().into_owned());
    format!("file://{absolute}")
}

/// The message (headers, blank line, body) with its MIME entity replaced by the
/// `multipart/signed` one; an error text (PHPMailer's `signing` message) otherwise.
pub fn sign(message: &[u8], s: &SignSettings) -> Result<Vec<u8>, String> {
    let split = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("message has no header block")?;
    let (head, body) = (&message[..split + 2], &message[split + 4..]);
    // Header fields with their continuation lines.
    let mut fields: Vec<Vec<u8>> = Vec::new();
    for line in head.split_inclusive(|&b| b == b'\n') {
        match (line.first(), fields.last_mut()) {
            (Some(b' ' | b'\t'), Some(last)) => last.extend_from_slice(line),
            _ => fields.push(line.to_vec()),
        }
    }
    let is = |f: &[u8], name: &str| f.len() > name.len() && f[..name.len()].eq_ignore_ascii_case(name.as_bytes());
    let (mime, other): (Vec<_>, Vec<_>) = fields
        .into_iter()
        .filter(|f| !is(f, "MIME-Version:"))
        .partition(|f| is(f, "Content-"));
    let mut entity: Vec<u8> = mime.concat();
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(body);

    let input = Scratch::new("in");
    let output = Scratch::new("out");
    std::fs::write(&input.0, &entity).map_err(|e| e.to_string())?;
    let cert = file_url(&s.cert);
    let key = vec![file_url(&s.key), s.pass.clone()]
        .into_zval(false)
        .map_err(|e| e.to_string())?;
    let headers = Vec::<String>::new().into_zval(false).map_err(|e| e.to_string())?;
    let mut args: Vec<&dyn ext_php_rs::convert::IntoZvalDyn> = Vec::new();
    let (inp, out) = (input.path(), output.path());
    args.extend([
        &inp as &dyn ext_php_rs::convert::IntoZvalDyn,
        &out,
        &cert,
        &key,
        &headers,
        &PKCS7_DETACHED,
    ]);
    if !s.extracerts.is_empty() {
        args.push(&s.extracerts);
    }
    // As PHPMailer's `@openssl_pkcs7_sign(...)`: the failure is reported below, not as a warning.
    let previous = php_call("error_reporting", vec![&0i64]);
    let ok = php_call("openssl_pkcs7_sign", args).is_some_and(|r| r.is_true());
    if let Some(level) = previous {
        let _ = php_call("error_reporting", vec![&level]);
    }
    if !ok {
        let why = php_call("openssl_error_string", vec![])
            .and_then(|z| z.string())
            .unwrap_or_default();
        return Err(why);
    }
    let signed = std::fs::read(&output.0).map_err(|e| e.to_string())?;
    let mut out = other.concat();
    out.extend_from_slice(&polymailer::text::normalize_breaks(&signed, b"\r\n"));
    Ok(out)
}
