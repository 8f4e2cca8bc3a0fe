//! What `PHPMailer`'s methods share: error recording (ErrorInfo / exceptions), address lists,
//! attachments, and the plain snapshots (`message::Draft`, `polymailer::phpmailer::Settings`) the core gets.

use ext_php_rs::convert::IntoZval;
use ext_php_rs::exception::PhpResult;
use ext_php_rs::types::Zval;

use polymailer::address::validate_address;
use polymailer::phpmailer::{Settings, Ssl};
use polymailer::{runtime, Mailer};

use crate::debug;
use crate::errors::{self, lang};
use crate::mailer::PHPMailer;
use crate::message;
use crate::value::{arg_string, Value};

impl Kind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::To => "to",
            Kind::Cc => "cc",
            Kind::Bcc => "bcc",
            Kind::ReplyTo => "Reply-To",
        }
    }
}

/// The optional arguments of PHPMailer's attachment methods.
pub(crate) struct AttachOptions<'a> {
    pub encoding: Option<&'a Zval>,
    pub kind: Option<&'a Zval>,
    pub disposition: Option<&'a Zval>,
    pub default_disposition: &'static str,
    pub cid: Option<String>,
}

impl<'a> AttachOptions<'a> {
    /// `addAttachment`/`addStringAttachment`: inline (under the file name) only when asked.
    pub(crate) fn attachment(
        encoding: Option<&'a Zval>,
        kind: Option<&'a Zval>,
        disposition: Option<&'a Zval>,
    ) -> Self {
        let inline = arg_string(disposition) == "inline";
        AttachOptions {
            encoding,
            kind,
            disposition,
            default_disposition: "attachment",
            cid: inline.then(String::new),
        }
    }

    /// `addEmbeddedImage`/`addStringEmbeddedImage`: inline under `cid`.
    pub(crate) fn embedded(
        cid: &Zval,
        encoding: Option<&'a Zval>,
        kind: Option<&'a Zval>,
        disposition: Option<&'a Zval>,
    ) -> Self {
        let cid = Some(arg_string(Some(cid)));
        AttachOptions {
            encoding,
            kind,
            disposition,
            default_disposition: "inline",
            cid,
        }
    }

    /// Encoding (`base64` by default), type, disposition as strings.
    fn strings(&self) -> (String, String, String) {
        let or = |z: Option<&Zval>, d: &str| match z.filter(|z| !z.is_null()) {
            Some(z) => arg_string(Some(z)),
            None => d.to_string(),
        };
        (
            or(self.encoding, "base64"),
            or(self.kind, ""),
            or(self.disposition, self.default_disposition),
        )
    }
}

/// Which address list an `add*` call fills.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    To,
    Cc,
    Bcc,
    ReplyTo,
}

impl PHPMailer {
    /// Records the error; throws in exception mode, else returns `Ok(false)`.
    /// For the caller's input (addresses, headers, options): kind `invalid_input`.
    pub(crate) fn fail(&mut self, message: &str) -> PhpResult<bool> {
        let facts = errors::Facts {
            kind: polymailer::ErrorKind::InvalidInput.as_str(),
            code: None,
            enhanced: None,
        };
        self.fail_with(message, Some(facts))
    }

    /// `fail` for an engine error: the exception also carries its kind and SMTP codes.
    pub(crate) fn fail_with(&mut self, message: &str, facts: Option<errors::Facts>) -> PhpResult<bool> {
        let mut message = self.language.localize(message);
        message.push_str(&self.smtp_instance_error());
        let message = &message;
        self.error_info = Value::str(message);
        self.error_count += 1;
        if self.exceptions {
            Err(errors::exception_with(message, facts.as_ref()))
        } else {
            Ok(false)
        }
    }

    /// PHPMailer's `addOrEnqueueAnAddress`: an address whose domain has 8-bit characters waits
    /// for `preSend()` (when `CharSet` is final) to be punycoded; others are added now.
    pub(crate) fn add_or_queue(&mut self, kind: Kind, address: &[u8], name: &str) -> PhpResult<bool> {
        let address = address.trim_ascii();
        let Some(at) = address.iter().rposition(|&b| b == b'@') else {
            let shown = String::from_utf8_lossy(address).into_owned();
            return self.fail(&format!("{} ({}): {}", lang::INVALID_ADDRESS, kind.label(), shown));
        };
        if address[at + 1..].is_ascii() {
            return self.add_an_address(kind, &String::from_utf8_lossy(address), name);
        }
        let group = |k: Kind| k == Kind::ReplyTo;
        if self
            .queued
            .iter()
            .any(|(k, a, _)| group(*k) == group(kind) && a == address)
        {
            return Ok(false);
        }
        self.queued.push((kind, address.to_vec(), name.to_string()));
        Ok(true)
    }

    /// Adds the queued IDN addresses, punycoded (`preSend()`).
    pub(crate) fn flush_queued(&mut self) -> PhpResult<()> {
        let charset = self.char_set.string();
        for (kind, address, name) in std::mem::take(&mut self.queued) {
            let puny = crate::helpers::punyencode_address(&address, &charset);
            self.add_an_address(kind, &String::from_utf8_lossy(&puny), &name)?;
        }
        Ok(())
    }

    /// `ConfirmReadingTo`: trimmed, punycoded, and a valid address (else PHPMailer's error).
    pub(crate) fn check_confirm_reading_to(&mut self) -> Result<(), String> {
        let raw = crate::helpers::arg_bytes(Some(&self.confirm_reading_to.0));
        let trimmed = raw.trim_ascii();
        if trimmed.is_empty() {
            return Ok(());
        }
        let puny = crate::helpers::punyencode_address(trimmed, &self.char_set.string());
        let address = String::from_utf8_lossy(&puny).into_owned();
        if !Self::address_ok(&address) {
            return Err(format!("{} (Confirm-Reading-To): {}", lang::INVALID_ADDRESS, address));
        }
        self.confirm_reading_to = Value::str(&address);
        Ok(())
    }

    /// `WordWrap`: wraps AltBody of a text+HTML message, else Body, at that many octets.
    pub(crate) fn apply_word_wrap(&mut self) {
        let width = self.word_wrap.long_or(0);
        if width < 1 {
            return;
        }
        let le = PHPMailer::le();
        let utf8 = self.char_set.string().eq_ignore_ascii_case("utf-8");
        let alternative = !self.alt_body.string().is_empty();
        let target = if alternative {
            &mut self.alt_body
        } else {
            &mut self.body
        };
        let text = crate::helpers::arg_bytes(Some(&target.0));
        let mut z = Zval::new();
        z.set_binary(polymailer::text::wrap_text(&text, width as usize, false, utf8, &le));
        *target = Value(z);
    }

    /// As PHPMailer: a single-part message's `Encoding` becomes the one used (7bit for
    /// ASCII 8bit text, quoted-printable for lines over 998 octets).
    pub(crate) fn apply_body_encoding(&mut self) {
        let multipart =
            !self.alt_body.string().is_empty() || !self.attachments.is_empty() || !self.ical.string().is_empty();
        if multipart {
            return;
        }
        let body = crate::helpers::arg_bytes(Some(&self.body.0));
        let chosen = polymailer::text::body_encoding(&self.encoding.string(), &body);
        self.encoding = Value::str(chosen);
    }

    pub(crate) fn add_an_address(&mut self, kind: Kind, address: &str, name: &str) -> PhpResult<bool> {
        let address = address.trim();
        let name = name.trim().replace(['\r', '\n'], "");
        let label = kind.label();
        if !Self::address_ok(address) {
            return self.fail(&format!("{} ({}): {}", lang::INVALID_ADDRESS, label, address));
        }
        let lower = address.to_ascii_lowercase();
        // PHPMailer ignores an address already added (To, Cc and Bcc share one set).
        let duplicate = match kind {
            Kind::ReplyTo => self.reply_to.iter().any(|(a, _)| a.to_ascii_lowercase() == lower),
            _ => self
                .to
                .iter()
                .chain(&self.cc)
                .chain(&self.bcc)
                .any(|(a, _)| a.to_ascii_lowercase() == lower),
        };
        if duplicate {
            return Ok(false);
        }
        let list = match kind {
            Kind::To => &mut self.to,
            Kind::Cc => &mut self.cc,
            Kind::Bcc => &mut self.bcc,
            Kind::ReplyTo => &mut self.reply_to,
        };
        list.push((address.to_string(), name));
        Ok(true)
    }

    /// As PHPMailer's `setError`: with `Mailer = 'smtp'`, the last error of the `SMTP`
    /// instance (`setSMTPInstance()`/`getSMTPInstance()`) is appended with its details.
    fn smtp_instance_error(&self) -> String {
        if !self.mailer_kind.string().eq_ignore_ascii_case("smtp") {
            return String::new();
        }
        let Some(err) = self
            .smtp_instance
            .0
            .object()
            .and_then(|o| o.try_call_method("getError", vec![]).ok())
        else {
            return String::new();
        };
        let Some(table) = err.array() else { return String::new() };
        let field = |k: &str| table.get(k).and_then(|v| v.string()).unwrap_or_default();
        if field("error").is_empty() {
            return String::new();
        }
        let mut out = format!("{}{}", self.language.lang("smtp_error"), field("error"));
        for (key, label) in [
            ("detail", "smtp_detail"),
            ("smtp_code", "smtp_code"),
            ("smtp_code_ex", "smtp_code_ex"),
        ] {
            if !field(key).is_empty() {
                out.push_str(&format!(" {}{}", self.language.lang(label), field(key)));
            }
        }
        out
    }

    /// PHPMailer's check when an address is added: `validateAddress()` (PHPMailer::$validator;
    /// PHP's filter_var by default); an address whose domain has 8-bit characters is checked
    /// by the core (IDN) instead, as PHPMailer defers it until the domain is punycoded.
    pub(crate) fn address_ok(address: &str) -> bool {
        let Some(at) = address.rfind('@') else { return false };
        if !address[at + 1..].is_ascii() {
            return validate_address("address", address).is_ok();
        }
        let Ok(z) = address.into_zval(false) else { return false };
        crate::helpers::validate_address(&z, &PHPMailer::static_zval("validator"))
    }

    /// A file attachment (inline when `cid` is set): refused paths and encodings fail as
    /// PHPMailer's do.
    pub(crate) fn attach_file(&mut self, path: &Zval, name: Option<&Zval>, opts: AttachOptions) -> PhpResult<bool> {
        let path = arg_string(Some(path));
        let (encoding, kind, disposition) = opts.strings();
        match message::file_attachment(&path, &arg_string(name), &kind, opts.cid, &encoding, &disposition) {
            Ok(a) => {
                self.attachments.push(a);
                Ok(true)
            }
            Err(msg) => self.fail(&msg),
        }
    }

    /// An attachment from a PHP string's bytes (inline when `cid` is set).
    pub(crate) fn attach_bytes(
        &mut self,
        string: &Zval,
        filename: Option<&Zval>,
        opts: AttachOptions,
    ) -> PhpResult<bool> {
        let bytes = crate::helpers::arg_bytes(Some(string));
        let (encoding, kind, disposition) = opts.strings();
        match message::bytes_attachment(bytes, &arg_string(filename), &kind, opts.cid, &encoding, &disposition) {
            Ok(a) => {
                self.attachments.push(a);
                Ok(true)
            }
            Err(msg) => self.fail(&msg),
        }
    }

    pub(crate) fn addresses(list: &[(String, String)]) -> Vec<Vec<String>> {
        list.iter().map(|(a, n)| vec![a.clone(), n.clone()]).collect()
    }

    /// Prints what the engine recorded through `Debugoutput`, at `SMTPDebug`'s level.
    pub(crate) fn emit_debug(&mut self) {
        let level = self.smtp_debug.long_or(0);
        let lines = self.recorder.take();
        if level <= 0 {
            return;
        }
        debug::emit_debug(&self.debug_output, level, lines);
    }

    /// The message as plain values (all `message` needs from this object).
    pub(crate) fn draft(&self) -> message::Draft<'_> {
        let charset = self.char_set.string();
        message::Draft {
            to: &self.to,
            cc: &self.cc,
            bcc: &self.bcc,
            reply_to: &self.reply_to,
            attachments: &self.attachments,
            custom_headers: &self.custom_headers,
            from: self.from.string(),
            from_name: Some(self.from_name.text(&charset)).filter(|t| !t.is_empty()),
            sender: self.sender.non_empty(),
            subject: self.subject.text(&charset),
            body: self.body.text(&charset),
            alt_body: Some(self.alt_body.text(&charset)).filter(|t| !t.is_empty()),
            ical: Some(self.ical.text(&charset)).filter(|t| !t.is_empty()),
            encoding: self.encoding.string(),
            is_html: self.content_type.string().eq_ignore_ascii_case("text/html"),
            allow_empty: self.allow_empty.truthy(),
            // PHPMailer ignores a MessageID that is not `<left@right>` and makes one.
            message_id: self
                .message_id
                .non_empty()
                .filter(|id| polymailer::message::is_msg_id(id)),
            priority: self.priority.non_empty(),
            // null, an array or whitespace: no X-Mailer; '' the default.
            x_mailer: match &self.x_mailer {
                v if v.is_null() || v.0.is_array() => None,
                v => Some(v.string()).filter(|s| s.is_empty() || !s.trim().is_empty()),
            },
            confirm_reading_to: self.confirm_reading_to.non_empty(),
            dsn: self.dsn.string(),
        }
    }

    /// The connection settings as plain values (all `config` needs from this object).
    pub(crate) fn settings(&self) -> Settings {
        Settings {
            host: self.host.string(),
            port: self.port.long_or(25),
            smtp_secure: self.smtp_secure.string(),
            auto_tls: self.smtp_auto_tls.truthy(),
            smtp_auth: self.smtp_auth.truthy(),
            username: self.username.string(),
            password: self.password.string(),
            auth_type: self.auth_type.string(),
            // Asked for in transport() only: a token provider is called once per connection.
            oauth64: None,
            timeout: self.timeout.long_or(300),
            helo: self.helo.non_empty(),
            hostname: self.hostname.non_empty(),
            ssl: ssl_options(Some(&self.smtp_options.0)),
            dkim_domain: self.dkim_domain.non_empty(),
            dkim_selector: self.dkim_selector.non_empty(),
            dkim_private: self.dkim_private.non_empty(),
            dkim_private_string: self.dkim_private_string.non_empty(),
            dkim_identity: self.dkim_identity.non_empty(),
            dkim_extra_headers: self
                .dkim_extra_headers
                .0
                .array()
                .map(|a| a.values().filter_map(|v| v.string()).collect())
                .unwrap_or_default(),
            verp_domain: self.verp_domain.non_empty(),
            verp_secret: self.verp_secret.non_empty(),
            verp_prefix: self.verp_prefix.non_empty(),
            debug: self.smtp_debug.long_or(0) > 0,
        }
    }

    /// The XOAUTH2 response of the `setOAuth()` provider, asked only when `AuthType` is XOAUTH2.
    fn oauth64(&self) -> Option<String> {
        if !self.smtp_auth.truthy()
            || !matches!(self.auth_type.string().parse(), Ok(polymailer::AuthMechanism::Xoauth2))
        {
            return None;
        }
        let provider = self.oauth.0.object()?;
        provider.try_call_method("getOauth64", vec![]).ok()?.string()
    }

    /// S/MIME (`sign()`), then DKIM: done when the message is built, as PHPMailer's
    /// `preSend()` does, so `getSentMIMEMessage()` shows the signed message.
    pub(crate) fn signed(&self, mut p: polymailer::Prepared) -> Result<polymailer::Prepared, String> {
        if let Some(smime) = &self.smime {
            let bytes = p.content.to_bytes().map_err(|e| e.to_string())?;
            let signed = crate::smime::sign(&bytes, smime).map_err(|why| format!("{}{}", lang::SIGNING, why))?;
            p.content = signed.into();
        }
        let settings = self.settings();
        if settings.dkim_domain.is_some() && settings.dkim_selector.is_some() {
            let dkim = settings
                .dkim_config()
                .map_err(|e| format!("{}{}", lang::SIGNING, e.message()))?;
            if let Some(dkim) = dkim {
                p.content = dkim
                    .sign(std::mem::take(&mut p.content))
                    .map_err(|e| format!("{}{}", lang::SIGNING, e.message()))?;
            }
        }
        Ok(p)
    }

    pub(crate) fn transport(&mut self) -> Result<Mailer, polymailer::Error> {
        let mut settings = self.settings();
        settings.oauth64 = self.oauth64();
        let key = settings.fingerprint();
        if let Some((k, m)) = &self.transport {
            if *k == key {
                return Ok(m.clone());
            }
        }
        let mailer = settings.mailer(self.recorder.hook())?;
        self.transport = Some((key, mailer.clone()));
        Ok(mailer)
    }

    pub(crate) fn close_transport(&mut self) {
        if let Some((_, m)) = self.transport.take() {
            runtime::block_on(m.close());
        }
    }
}

/// `SMTPOptions['ssl']` (PHP's stream-context words) as the core's snapshot of them.
pub(crate) fn ssl_options(smtp_options: Option<&Zval>) -> Ssl {
    let ssl = |k: &str| -> Option<Value> {
        let ssl = smtp_options?.array()?.get("ssl")?;
        ssl.array()?.get(k).map(|z| Value(z.shallow_clone()))
    };
    let flag = |k: &str| ssl(k).map(|v| v.truthy());
    let text = |k: &str| ssl(k).and_then(|v| v.non_empty());
    Ssl {
        verify_peer: flag("verify_peer"),
        verify_peer_name: flag("verify_peer_name"),
        allow_self_signed: flag("allow_self_signed"),
        cafile: text("cafile"),
        peer_name: text("peer_name"),
        // A string, or PHP's ['sha256' => digest] array form (its values).
        peer_fingerprint: ssl("peer_fingerprint").map_or_else(Vec::new, |v| match v.0.array() {
            Some(a) => a.values().filter_map(|z| z.string()).collect(),
            None => v.non_empty().into_iter().collect(),
        }),
        local_cert: text("local_cert"),
        local_pk: text("local_pk"),
        passphrase: text("passphrase"),
    }
}
