//! `Polymailer\PHPMailer\PHPMailer` and `Polymailer\PHPMailer\SMTP`: PHPMailer's class shape
//! (properties, constants, methods, error modes) over the core `Mailer`. PHP is synchronous, so
//! each call blocks on the core's runtime.

use ext_php_rs::binary::Binary;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::class::RegisteredClass;
use ext_php_rs::exception::PhpResult;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendClassObject, ZendHashTable, Zval};

use polymailer::{runtime, Mailer, SendReport};

use crate::errors::{self, lang};
use crate::helpers;
use crate::message::{self, AttachmentSpec};
use crate::smtp_client::Smtp;
use crate::state::{AttachOptions, Kind};
use crate::value::{arg_string, Value};
use ext_php_rs::convert::IntoZval;
use polymailer::Recorder;

pub const VERSION: &str = "6.9.3";

#[php_class]
#[php(name = "Polymailer\\PHPMailer\\PHPMailer")]
pub struct PHPMailer {
    #[php(prop, name = "Priority")]
    pub priority: Value,
    #[php(prop, name = "CharSet")]
    pub char_set: Value,
    #[php(prop, name = "ContentType")]
    pub content_type: Value,
    #[php(prop, name = "Encoding")]
    pub encoding: Value,
    #[php(prop, name = "ErrorInfo")]
    pub error_info: Value,
    #[php(prop, name = "From")]
    pub from: Value,
    #[php(prop, name = "FromName")]
    pub from_name: Value,
    #[php(prop, name = "Sender")]
    pub sender: Value,
    #[php(prop, name = "Subject")]
    pub subject: Value,
    #[php(prop, name = "Body")]
    pub body: Value,
    #[php(prop, name = "AltBody")]
    pub alt_body: Value,
    #[php(prop, name = "Ical")]
    pub ical: Value,
    #[php(prop, name = "WordWrap")]
    pub word_wrap: Value,
    #[php(prop, name = "Mailer")]
    pub mailer_kind: Value,
    #[php(prop, name = "Sendmail")]
    pub sendmail: Value,
    #[php(prop, name = "UseSendmailOptions")]
    pub use_sendmail_options: Value,
    #[php(prop, name = "ConfirmReadingTo")]
    pub confirm_reading_to: Value,
    #[php(prop, name = "Hostname")]
    pub hostname: Value,
    #[php(prop, name = "MessageID")]
    pub message_id: Value,
    #[php(prop, name = "MessageDate")]
    pub message_date: Value,
    #[php(prop, name = "Host")]
    pub host: Value,
    #[php(prop, name = "Port")]
    pub port: Value,
    #[php(prop, name = "Helo")]
    pub helo: Value,
    #[php(prop, name = "SMTPSecure")]
    pub smtp_secure: Value,
    #[php(prop, name = "SMTPAutoTLS")]
    pub smtp_auto_tls: Value,
    #[php(prop, name = "SMTPAuth")]
    pub smtp_auth: Value,
    #[php(prop, name = "SMTPOptions")]
    pub smtp_options: Value,
    #[php(prop, name = "Username")]
    pub username: Value,
    #[php(prop, name = "Password")]
    pub password: Value,
    #[php(prop, name = "AuthType")]
    pub auth_type: Value,
    #[php(prop, name = "Timeout")]
    pub timeout: Value,
    #[php(prop, name = "dsn")]
    pub dsn: Value,
    #[php(prop, name = "SMTPDebug")]
    pub smtp_debug: Value,
    #[php(prop, name = "Debugoutput")]
    pub debug_output: Value,
    #[php(prop, name = "SMTPKeepAlive")]
    pub smtp_keep_alive: Value,
    #[php(prop, name = "SingleTo")]
    pub single_to: Value,
    #[php(prop, name = "do_verp")]
    pub do_verp: Value,
    #[php(prop, name = "AllowEmpty")]
    pub allow_empty: Value,
    #[php(prop, name = "DKIM_selector")]
    pub dkim_selector: Value,
    #[php(prop, name = "DKIM_identity")]
    pub dkim_identity: Value,
    #[php(prop, name = "DKIM_passphrase")]
    pub dkim_passphrase: Value,
    #[php(prop, name = "DKIM_domain")]
    pub dkim_domain: Value,
    #[php(prop, name = "DKIM_copyHeaderFields")]
    pub dkim_copy_header_fields: Value,
    #[php(prop, name = "DKIM_extraHeaders")]
    pub dkim_extra_headers: Value,
    #[php(prop, name = "DKIM_private")]
    pub dkim_private: Value,
    #[php(prop, name = "DKIM_private_string")]
    pub dkim_private_string: Value,
    /// polymailer: with VERP_domain and VERP_secret, each recipient gets its own envelope
    /// sender `bounces+rcpt=domain-…@VERP_domain` (read bounces with `Polymailer\Bounce::parse`).
    #[php(prop, name = "VERP_domain")]
    pub verp_domain: Value,
    #[php(prop, name = "VERP_secret")]
    pub verp_secret: Value,
    #[php(prop, name = "VERP_prefix")]
    pub verp_prefix: Value,
    #[php(prop, name = "action_function")]
    pub action_function: Value,
    #[php(prop, name = "XMailer")]
    pub x_mailer: Value,
    /// `PHPMailer::$validator`: `'php'` (PHP's filter_var), `'pcre8'`, `'html5'` or a closure.
    #[php(prop, static, name = "validator", default = "DEFAULT_VALIDATOR")]
    pub validator_static: Value,
    /// `PHPMailer::$LE`, the line ending (`getLE()`/`setLE()`).
    #[php(prop, static, name = "LE", default = "CRLF", flags = ext_php_rs::flags::PropertyFlags::Protected)]
    pub le_static: Value,

    /// `setOAuth()`: an `OAuthTokenProvider` asked for the XOAUTH2 token at each connection.
    pub(crate) oauth: Value,
    /// `sign()`: S/MIME signing settings.
    pub(crate) smime: Option<crate::smime::SignSettings>,
    /// Errors since the last `preSend()` (`isError()`).
    pub(crate) error_count: u32,
    pub(crate) smtp_instance: Value,
    pub(crate) language: crate::lang::Translations,
    pub(crate) exceptions: bool,
    /// Addresses with an 8-bit domain, added (punycoded in `CharSet`) at `preSend()`.
    pub(crate) queued: Vec<(Kind, Vec<u8>, String)>,
    pub(crate) to: Vec<(String, String)>,
    pub(crate) cc: Vec<(String, String)>,
    pub(crate) bcc: Vec<(String, String)>,
    pub(crate) reply_to: Vec<(String, String)>,
    pub(crate) attachments: Vec<AttachmentSpec>,
    pub(crate) custom_headers: Vec<(String, String)>,
    pub(crate) last_message_id: String,
    pub(crate) sent_mime: polymailer::Payload,
    pub(crate) prepared: Option<polymailer::Prepared>,
    pub(crate) transport: Option<(u64, Mailer)>,
    pub(crate) recorder: Recorder,
}

const CRLF: &str = "\r\n";
const DEFAULT_VALIDATOR: &str = "php";

/// PHPMailer's protected properties that `set()` accepts (their value has no effect here).
const PROTECTED_PROPERTIES: &[&str] = &[
    "MIMEBody",
    "MIMEHeader",
    "mailHeader",
    "smtp",
    "to",
    "cc",
    "bcc",
    "ReplyTo",
    "all_recipients",
    "RecipientsQueue",
    "ReplyToQueue",
    "attachment",
    "CustomHeader",
    "lastMessageID",
    "message_type",
    "boundary",
    "language",
    "error_count",
    "sign_cert_file",
    "sign_key_file",
    "sign_extracerts_file",
    "sign_key_pass",
    "exceptions",
    "uniqueid",
    "oauth",
];

/// The public properties (`set()` reports false for any other name).
const PUBLIC_PROPERTIES: &[&str] = &[
    "Priority",
    "CharSet",
    "ContentType",
    "Encoding",
    "ErrorInfo",
    "From",
    "FromName",
    "Sender",
    "Subject",
    "Body",
    "AltBody",
    "Ical",
    "WordWrap",
    "Mailer",
    "Sendmail",
    "UseSendmailOptions",
    "ConfirmReadingTo",
    "Hostname",
    "MessageID",
    "MessageDate",
    "Host",
    "Port",
    "Helo",
    "SMTPSecure",
    "SMTPAutoTLS",
    "SMTPAuth",
    "SMTPOptions",
    "Username",
    "Password",
    "AuthType",
    "Timeout",
    "dsn",
    "SMTPDebug",
    "Debugoutput",
    "SMTPKeepAlive",
    "SingleTo",
    "do_verp",
    "AllowEmpty",
    "DKIM_selector",
    "DKIM_identity",
    "DKIM_passphrase",
    "DKIM_domain",
    "DKIM_copyHeaderFields",
    "DKIM_extraHeaders",
    "DKIM_private",
    "DKIM_private_string",
    "VERP_domain",
    "VERP_secret",
    "VERP_prefix",
    "action_function",
    "XMailer",
];

// No `Default`: ext-php-rs would then build every object, a subclass's too, as the base class.
impl PHPMailer {
    fn html_to_text(&self, html: &str, advanced: Option<&Zval>) -> String {
        if let Some(f) = advanced.filter(|a| a.is_callable()) {
            return f
                .try_call(vec![&html])
                .ok()
                .map(|r| Value(r).string())
                .unwrap_or_default();
        }
        let visible = polymailer::html::strip_invisible_blocks(html);
        let stripped = helpers::php_call("strip_tags", vec![&visible])
            .and_then(|z| z.string())
            .unwrap_or_default();
        let trimmed = stripped.trim_matches([' ', '\t', '\n', '\r', '\0', '\x0B']);
        // ENT_QUOTES | ENT_HTML401
        helpers::php_call("html_entity_decode", vec![&trimmed, &3i64, &"UTF-8"])
            .and_then(|z| z.string())
            .unwrap_or_else(|| trimmed.to_string())
    }

    /// A static property's current value (`$validator`, `$LE`).
    pub(crate) fn static_zval(name: &str) -> Zval {
        Self::get_metadata()
            .ce()
            .get_static_property::<Value>(name)
            .map_or_else(Zval::null, |v| v.0)
    }

    /// `PHPMailer::$LE`'s bytes.
    pub(crate) fn le() -> Vec<u8> {
        let le = Self::static_zval("LE");
        match le.zend_str() {
            Some(s) => s.as_bytes().to_vec(),
            None => b"\r\n".to_vec(),
        }
    }

    fn with_defaults() -> Self {
        PHPMailer {
            priority: Value::default(),
            // Deliberate difference: PHPMailer defaults to iso-8859-1, which garbles UTF-8 source text.
            char_set: Value::str("utf-8"),
            content_type: Value::str("text/plain"),
            encoding: Value::str("8bit"),
            error_info: Value::str(""),
            from: Value::str("root@localhost"),
            from_name: Value::str("Root User"),
            sender: Value::str(""),
            subject: Value::str(""),
            body: Value::str(""),
            alt_body: Value::str(""),
            ical: Value::str(""),
            word_wrap: Value::long(0),
            mailer_kind: Value::str("mail"),
            sendmail: Value::str("/usr/sbin/sendmail"),
            use_sendmail_options: Value::bool(true),
            confirm_reading_to: Value::str(""),
            hostname: Value::str(""),
            message_id: Value::str(""),
            message_date: Value::str(""),
            host: Value::str("localhost"),
            port: Value::long(25),
            helo: Value::str(""),
            smtp_secure: Value::str(""),
            smtp_auto_tls: Value::bool(true),
            smtp_auth: Value::bool(false),
            smtp_options: Value::array(),
            username: Value::str(""),
            password: Value::str(""),
            auth_type: Value::str(""),
            timeout: Value::long(300),
            dsn: Value::str(""),
            smtp_debug: Value::long(0),
            debug_output: Value::str("echo"),
            smtp_keep_alive: Value::bool(false),
            single_to: Value::bool(false),
            do_verp: Value::bool(false),
            allow_empty: Value::bool(false),
            dkim_selector: Value::str(""),
            dkim_identity: Value::str(""),
            dkim_passphrase: Value::str(""),
            dkim_domain: Value::str(""),
            dkim_copy_header_fields: Value::bool(true),
            dkim_extra_headers: Value::array(),
            dkim_private: Value::str(""),
            dkim_private_string: Value::str(""),
            verp_domain: Value::str(""),
            verp_secret: Value::str(""),
            verp_prefix: Value::str(""),
            action_function: Value::str(""),
            x_mailer: Value::str(""),
            validator_static: Value::default(),
            le_static: Value::default(),
            oauth: Value::default(),
            smime: None,
            error_count: 0,
            smtp_instance: Value::default(),
            language: Default::default(),
            exceptions: false,
            queued: vec![],
            to: vec![],
            cc: vec![],
            bcc: vec![],
            reply_to: vec![],
            attachments: vec![],
            custom_headers: vec![],
            last_message_id: String::new(),
            sent_mime: Default::default(),
            prepared: None,
            transport: None,
            recorder: Recorder::recording(),
        }
    }
}

#[php_impl]
#[php(change_constant_case = "none")]
impl PHPMailer {
    const VERSION: &'static str = VERSION;
    const CHARSET_ASCII: &'static str = "us-ascii";
    const CHARSET_ISO88591: &'static str = "iso-8859-1";
    const CHARSET_UTF8: &'static str = "utf-8";
    const CONTENT_TYPE_PLAINTEXT: &'static str = "text/plain";
    const CONTENT_TYPE_TEXT_CALENDAR: &'static str = "text/calendar";
    const CONTENT_TYPE_TEXT_HTML: &'static str = "text/html";
    const CONTENT_TYPE_MULTIPART_ALTERNATIVE: &'static str = "multipart/alternative";
    const CONTENT_TYPE_MULTIPART_MIXED: &'static str = "multipart/mixed";
    const CONTENT_TYPE_MULTIPART_RELATED: &'static str = "multipart/related";
    const ENCODING_7BIT: &'static str = "7bit";
    const ENCODING_8BIT: &'static str = "8bit";
    const ENCODING_BASE64: &'static str = "base64";
    const ENCODING_BINARY: &'static str = "binary";
    const ENCODING_QUOTED_PRINTABLE: &'static str = "quoted-printable";
    const ENCRYPTION_STARTTLS: &'static str = "tls";
    const ENCRYPTION_SMTPS: &'static str = "ssl";
    const ICAL_METHOD_REQUEST: &'static str = "REQUEST";
    const ICAL_METHOD_PUBLISH: &'static str = "PUBLISH";
    const ICAL_METHOD_REPLY: &'static str = "REPLY";
    const ICAL_METHOD_ADD: &'static str = "ADD";
    const ICAL_METHOD_CANCEL: &'static str = "CANCEL";
    const ICAL_METHOD_REFRESH: &'static str = "REFRESH";
    const ICAL_METHOD_COUNTER: &'static str = "COUNTER";
    const ICAL_METHOD_DECLINECOUNTER: &'static str = "DECLINECOUNTER";
    const STOP_MESSAGE: i64 = 0;
    const STOP_CONTINUE: i64 = 1;
    const STOP_CRITICAL: i64 = 2;
    const CRLF: &'static str = "\r\n";
    const FWS: &'static str = " ";
    const MAIL_MAX_LINE_LENGTH: i64 = 63;
    const MAX_LINE_LENGTH: i64 = 998;
    const STD_LINE_LENGTH: i64 = 76;

    /// `new PHPMailer(true)` throws `Exception` on errors; otherwise methods return false and
    /// `ErrorInfo` holds the message.
    pub fn __construct(exceptions: Option<&Zval>) -> Self {
        PHPMailer {
            exceptions: exceptions.is_some_and(|z| z.coerce_to_bool()),
            ..Self::with_defaults()
        }
    }

    #[php(name = "isSMTP")]
    pub fn is_smtp(&mut self) {
        self.mailer_kind = Value::str("smtp");
    }

    #[php(name = "isMail")]
    pub fn is_mail(&mut self) {
        self.mailer_kind = Value::str("mail");
    }

    #[php(name = "isSendmail")]
    pub fn is_sendmail(&mut self) {
        self.mailer_kind = Value::str("sendmail");
    }

    #[php(name = "isQmail")]
    pub fn is_qmail(&mut self) {
        self.mailer_kind = Value::str("qmail");
    }

    #[php(name = "isHTML")]
    pub fn is_html(&mut self, is_html: Option<&Zval>) {
        let html = is_html.is_none_or(|z| z.coerce_to_bool());
        self.content_type = Value::str(if html { "text/html" } else { "text/plain" });
    }

    #[php(name = "isError")]
    pub fn is_error(&self) -> bool {
        self.error_count > 0
    }

    #[php(name = "setFrom")]
    pub fn set_from(&mut self, address: &Zval, name: Option<&Zval>, auto: Option<&Zval>) -> PhpResult<bool> {
        let address = arg_string(Some(address)).trim().to_string();
        let name = arg_string(name).trim().replace(['\r', '\n'], "");
        if !Self::address_ok(&address) {
            return self.fail(&format!("{} (From): {}", lang::INVALID_ADDRESS, address));
        }
        self.from = Value::str(&address);
        self.from_name = Value::str(&name);
        if auto.is_none_or(|z| z.coerce_to_bool()) && self.sender.string().is_empty() {
            self.sender = Value::str(&address);
        }
        Ok(true)
    }

    #[php(name = "addAddress")]
    pub fn add_address(&mut self, address: &Zval, name: Option<&Zval>) -> PhpResult<bool> {
        self.add_or_queue(Kind::To, &helpers::arg_bytes(Some(address)), &arg_string(name))
    }

    #[php(name = "addCC")]
    pub fn add_cc(&mut self, address: &Zval, name: Option<&Zval>) -> PhpResult<bool> {
        self.add_or_queue(Kind::Cc, &helpers::arg_bytes(Some(address)), &arg_string(name))
    }

    #[php(name = "addBCC")]
    pub fn add_bcc(&mut self, address: &Zval, name: Option<&Zval>) -> PhpResult<bool> {
        self.add_or_queue(Kind::Bcc, &helpers::arg_bytes(Some(address)), &arg_string(name))
    }

    #[php(name = "addReplyTo")]
    pub fn add_reply_to(&mut self, address: &Zval, name: Option<&Zval>) -> PhpResult<bool> {
        self.add_or_queue(Kind::ReplyTo, &helpers::arg_bytes(Some(address)), &arg_string(name))
    }

    #[php(name = "clearAddresses")]
    pub fn clear_addresses(&mut self) {
        self.to.clear();
        self.queued.retain(|q| !matches!(q.0, Kind::To));
    }

    #[php(name = "clearCCs")]
    pub fn clear_ccs(&mut self) {
        self.cc.clear();
        self.queued.retain(|q| !matches!(q.0, Kind::Cc));
    }

    #[php(name = "clearBCCs")]
    pub fn clear_bccs(&mut self) {
        self.bcc.clear();
        self.queued.retain(|q| !matches!(q.0, Kind::Bcc));
    }

    #[php(name = "clearReplyTos")]
    pub fn clear_reply_tos(&mut self) {
        self.reply_to.clear();
        self.queued.retain(|q| !matches!(q.0, Kind::ReplyTo));
    }

    #[php(name = "clearAllRecipients")]
    pub fn clear_all_recipients(&mut self) {
        self.queued.retain(|q| matches!(q.0, Kind::ReplyTo));
        self.to.clear();
        self.cc.clear();
        self.bcc.clear();
    }

    #[php(name = "clearAttachments")]
    pub fn clear_attachments(&mut self) {
        self.attachments.clear();
    }

    #[php(name = "clearCustomHeaders")]
    pub fn clear_custom_headers(&mut self) {
        self.custom_headers.clear();
    }

    #[php(name = "getToAddresses")]
    pub fn get_to_addresses(&self) -> Vec<Vec<String>> {
        Self::addresses(&self.to)
    }

    #[php(name = "getCcAddresses")]
    pub fn get_cc_addresses(&self) -> Vec<Vec<String>> {
        Self::addresses(&self.cc)
    }

    #[php(name = "getBccAddresses")]
    pub fn get_bcc_addresses(&self) -> Vec<Vec<String>> {
        Self::addresses(&self.bcc)
    }

    /// Keyed by the lower-cased address, as PHPMailer's.
    #[php(name = "getReplyToAddresses")]
    pub fn get_reply_to_addresses(&self) -> PhpResult<ZBox<ZendHashTable>> {
        let mut t = ZendHashTable::new();
        for (a, n) in &self.reply_to {
            t.insert(a.to_lowercase().as_str(), vec![a.clone(), n.clone()])?;
        }
        Ok(t)
    }

    #[php(name = "getCustomHeaders")]
    pub fn get_custom_headers(&self) -> Vec<Vec<String>> {
        self.custom_headers
            .iter()
            .map(|(n, v)| vec![n.clone(), v.clone()])
            .collect()
    }

    /// `addCustomHeader('X-Tag', 'v')` or `addCustomHeader('X-Tag: v')`.
    #[php(name = "addCustomHeader")]
    pub fn add_custom_header(&mut self, name: &Zval, value: Option<&Zval>) -> PhpResult<bool> {
        let name = arg_string(Some(name));
        let (name, value) = match value.filter(|v| !v.is_null()) {
            Some(v) => (name.trim().to_string(), arg_string(Some(v)).trim().to_string()),
            None => match name.split_once(':') {
                Some((n, v)) => (n.trim().to_string(), v.trim().to_string()),
                None => (name.trim().to_string(), String::new()),
            },
        };
        if polymailer::message::check_header(&name, &value).is_err() {
            return self.fail(lang::INVALID_HEADER);
        }
        self.custom_headers.push((name, value));
        Ok(true)
    }

    #[php(name = "addAttachment")]
    pub fn add_attachment(
        &mut self,
        path: &Zval,
        name: Option<&Zval>,
        encoding: Option<&Zval>,
        kind: Option<&Zval>,
        disposition: Option<&Zval>,
    ) -> PhpResult<bool> {
        let opts = AttachOptions::attachment(encoding, kind, disposition);
        self.attach_file(path, name, opts)
    }

    #[php(name = "addStringAttachment")]
    pub fn add_string_attachment(
        &mut self,
        string: &Zval,
        filename: &Zval,
        encoding: Option<&Zval>,
        kind: Option<&Zval>,
        disposition: Option<&Zval>,
    ) -> PhpResult<bool> {
        let opts = AttachOptions::attachment(encoding, kind, disposition);
        self.attach_bytes(string, Some(filename), opts)
    }

    #[php(name = "addEmbeddedImage")]
    pub fn add_embedded_image(
        &mut self,
        path: &Zval,
        cid: &Zval,
        name: Option<&Zval>,
        encoding: Option<&Zval>,
        kind: Option<&Zval>,
        disposition: Option<&Zval>,
    ) -> PhpResult<bool> {
        let opts = AttachOptions::embedded(cid, encoding, kind, disposition);
        self.attach_file(path, name, opts)
    }

    #[php(name = "addStringEmbeddedImage")]
    pub fn add_string_embedded_image(
        &mut self,
        string: &Zval,
        cid: &Zval,
        name: Option<&Zval>,
        encoding: Option<&Zval>,
        kind: Option<&Zval>,
        disposition: Option<&Zval>,
    ) -> PhpResult<bool> {
        let opts = AttachOptions::embedded(cid, encoding, kind, disposition);
        self.attach_bytes(string, name, opts)
    }

    /// PHPMailer's `msgHTML()`: images referenced by `data:` URIs, and relative paths under
    /// `basedir`, become inline parts (`cid:`); Body is the rewritten HTML, AltBody its text
    /// (or PHPMailer's "HTML-only" notice); HTML mode.
    #[php(name = "msgHTML")]
    pub fn msg_html(
        &mut self,
        message: &Zval,
        basedir: Option<&Zval>,
        advanced: Option<&Zval>,
    ) -> PhpResult<Binary<u8>> {
        let charset = self.char_set.string();
        let html = Value(message.shallow_clone()).text(&charset);
        let basedir = arg_string(basedir);
        let (rewritten, images) = polymailer::html::embed_images(&html, &basedir, helpers::file_is_accessible);
        for image in images {
            // Already embedded (msgHTML called again, or the same data: image): not twice.
            if self
                .attachments
                .iter()
                .any(|a| a.content_id.as_deref() == Some(image.cid.as_str()))
            {
                continue;
            }
            let opts = |cid| AttachOptions {
                encoding: None,
                kind: None,
                disposition: None,
                default_disposition: "inline",
                cid: Some(cid),
            };
            let mut kind = Zval::new();
            kind.set_string(&image.content_type, false)?;
            let mut name = Zval::new();
            name.set_string(&image.name, false)?;
            let mut o = opts(image.cid.clone());
            o.kind = Some(&kind);
            match &image.source {
                polymailer::html::ImageSource::Bytes(b) => {
                    let mut data = Zval::new();
                    data.set_binary(b.clone());
                    self.attach_bytes(&data, Some(&name), o)?;
                }
                polymailer::html::ImageSource::Path(p) => {
                    let mut path = Zval::new();
                    path.set_string(p, false)?;
                    self.attach_file(&path, Some(&name), o)?;
                }
            }
        }
        // Keep the caller's bytes (and charset) when nothing was rewritten.
        let utf8 = charset.eq_ignore_ascii_case("utf-8") || charset.is_empty();
        let body = if rewritten == html {
            helpers::arg_bytes(Some(message))
        } else if utf8 {
            rewritten.clone().into_bytes()
        } else {
            helpers::php_call("mb_convert_encoding", vec![&rewritten, &charset, &"UTF-8"])
                .and_then(|z| z.zend_str().map(|s| s.as_bytes().to_vec()))
                .unwrap_or_else(|| rewritten.clone().into_bytes())
        };
        let le = Self::le();
        let body = polymailer::text::normalize_breaks(&body, &le);
        let mut body_zval = Zval::new();
        body_zval.set_binary(body.clone());
        self.body = Value(body_zval);
        self.is_html(None);
        let text = self.html_to_text(&rewritten, advanced);
        let text = polymailer::text::normalize_breaks(text.as_bytes(), &le);
        self.alt_body = if text.is_empty() {
            Value::str(&format!(
                "This is an HTML-only message. To view it, activate HTML in your email application.{}",
                String::from_utf8_lossy(&le)
            ))
        } else {
            let mut z = Zval::new();
            z.set_binary(text);
            Value(z)
        };
        Ok(helpers::binary(body))
    }

    /// A header value as RFC 2047 encoded-words where needed (`text`, `comment` or `phrase`
    /// position), in `CharSet`; lines of 63 octets for `Mailer = 'mail'`, else 998.
    #[php(name = "encodeHeader")]
    pub fn encode_header(&self, value: &Zval, position: Option<&Zval>) -> Binary<u8> {
        let position = polymailer::text::QPosition::from_word(&arg_string(position));
        let max_line = if self.mailer_kind.string().eq_ignore_ascii_case("mail") {
            63
        } else {
            998
        };
        let bytes = helpers::arg_bytes(Some(value));
        let charset = self.char_set.string();
        helpers::binary(polymailer::text::encode_header(
            &bytes,
            position,
            &charset,
            max_line,
            &Self::le(),
        ))
    }

    /// Text from HTML: `advanced` (a callable) decides, else the invisible blocks are dropped,
    /// then PHP's own `strip_tags` and `html_entity_decode` (in `CharSet`).
    #[php(name = "html2text")]
    pub fn html_2_text(&self, html: &Zval, advanced: Option<&Zval>) -> String {
        let charset = self.char_set.string();
        self.html_to_text(&Value(html.shallow_clone()).text(&charset), advanced)
    }

    /// Builds the message (validating everything) without sending.
    #[php(name = "preSend")]
    pub fn pre_send(&mut self) -> PhpResult<bool> {
        // As PHPMailer: the count restarts, ErrorInfo keeps the last message until a new one.
        self.error_count = 0;
        let encoding = self.encoding.string();
        if !message::ENCODINGS.contains(&encoding.as_str()) {
            return self.fail(&format!("{}{}", lang::ENCODING, encoding));
        }
        self.flush_queued()?;
        if let Err(msg) = self.check_confirm_reading_to() {
            return self.fail(&msg);
        }
        self.apply_word_wrap();
        self.apply_body_encoding();
        let built = message::build(&self.draft()).and_then(|p| self.signed(p));
        match built {
            Ok(p) => {
                self.last_message_id = p.message_id.clone().unwrap_or_default();
                self.sent_mime = p.content.clone();
                self.prepared = Some(p);
                Ok(true)
            }
            Err(msg) => {
                self.prepared = None;
                self.fail(&msg)
            }
        }
    }

    /// S/MIME-signs each message from now on with PHP's `openssl_pkcs7_sign` (detached,
    /// `multipart/signed`): the certificate, its key and pass phrase, and an optional file of
    /// intermediate certificates to include.
    pub fn sign(
        &mut self,
        cert_filename: &Zval,
        key_filename: &Zval,
        key_pass: &Zval,
        extracerts_filename: Option<&Zval>,
    ) {
        self.smime = Some(crate::smime::SignSettings {
            cert: arg_string(Some(cert_filename)),
            key: arg_string(Some(key_filename)),
            pass: arg_string(Some(key_pass)),
            extracerts: arg_string(extracerts_filename),
        });
    }

    /// RFC 6376 "simple" body canonicalization (the core's).
    #[php(name = "DKIM_BodyC")]
    pub fn dkim_body_c(&self, body: &Zval) -> Binary<u8> {
        helpers::binary(polymailer::dkim::canonical_body_simple(&helpers::arg_bytes(Some(body))))
    }

    /// RFC 6376 "relaxed" header canonicalization (the core's).
    #[php(name = "DKIM_HeaderC")]
    pub fn dkim_header_c(&self, headers: &Zval) -> Binary<u8> {
        helpers::binary(polymailer::dkim::canonical_headers_relaxed(&helpers::arg_bytes(Some(
            headers,
        ))))
    }

    /// Sends what `preSend` built.
    #[php(name = "postSend")]
    pub fn post_send(&mut self) -> PhpResult<bool> {
        let kind = self.mailer_kind.string().to_ascii_lowercase();
        if kind != "smtp" {
            // No shell is ever run: mail()/sendmail/qmail go through SMTP to Host.
            if !matches!(kind.as_str(), "mail" | "sendmail" | "qmail") {
                return self.fail(&format!("{}{}", kind, lang::MAILER_NOT_SUPPORTED));
            }
        }
        let Some(prepared) = self.prepared.take() else {
            return self.fail(lang::EMPTY_MESSAGE);
        };
        let mailer = match self.transport() {
            Ok(m) => m,
            Err(e) => {
                let msg = errors::phpmailer_message(&e, &prepared.envelope.from.clone().unwrap_or_default());
                return self.fail_with(&msg, Some(errors::Facts::of(&e)));
            }
        };
        let sender = prepared.envelope.from.clone().unwrap_or_default();
        let result: polymailer::Result<SendReport> = runtime::block_on(mailer.send_prepared(prepared));
        if !self.smtp_keep_alive.truthy() {
            self.close_transport();
        }
        self.emit_debug();
        match result {
            Ok(report) => {
                if report.rejected.is_empty() {
                    Ok(true)
                } else {
                    // As PHPMailer: delivered to the others, then reported as an error.
                    let facts = errors::Facts::rejected(&report.rejected);
                    self.fail_with(&errors::recipients_failed(&report.rejected), Some(facts))
                }
            }
            Err(e) => {
                let msg = errors::phpmailer_message(&e, &sender);
                self.fail_with(&msg, Some(errors::Facts::of(&e)))
            }
        }
    }

    pub fn send(&mut self) -> PhpResult<bool> {
        if !self.pre_send()? {
            return Ok(false);
        }
        self.post_send()
    }

    #[php(name = "getSentMIMEMessage")]
    pub fn get_sent_mime_message(&self) -> String {
        // File attachments are read (again) only when asked for: the send streamed them. A
        // file gone since shows as a one-line placeholder.
        match polymailer::Payload::to_bytes(&self.sent_mime) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => self.sent_mime.summary(),
        }
    }

    #[php(name = "getLastMessageID")]
    pub fn get_last_message_id(&self) -> String {
        self.last_message_id.clone()
    }

    /// Connects, says hello, upgrades and authenticates now; the connection is kept for the
    /// next `send()`.
    #[php(name = "smtpConnect")]
    pub fn smtp_connect(&mut self, options: Option<&Zval>) -> PhpResult<bool> {
        if let Some(o) = options.filter(|o| o.is_array()) {
            self.smtp_options = Value(o.shallow_clone());
        }
        let result = self.transport().and_then(|m| runtime::block_on(m.connect()));
        self.emit_debug();
        match result {
            Ok(()) => Ok(true),
            Err(e) => {
                self.close_transport();
                let msg = errors::phpmailer_message(&e, "");
                self.fail_with(&msg, Some(errors::Facts::of(&e)))
            }
        }
    }

    /// The deliverability check of this mailer's setup: `DKIM_*` (published and matching),
    /// `Host` as the sending host, and the domain of `From` (or `$options['domain']`, or
    /// `DKIM_domain`). Other options as `Polymailer\Deliverability::checkDomain` takes them.
    pub fn preflight(&mut self, options: Option<&Zval>) -> PhpResult<ZBox<ZendHashTable>> {
        let fail = |e: polymailer::Error| errors::exception_with(e.message(), Some(&errors::Facts::of(&e)));
        let given = options
            .and_then(|o| o.array())
            .and_then(|t| t.get("domain"))
            .and_then(|d| d.string())
            .filter(|d| !d.is_empty());
        let from = self.from.string();
        let domain = given.or_else(|| from.rsplit_once('@').map(|(_, d)| d.to_string()));
        let config = self.settings().first_config().map_err(fail)?;
        let o = crate::check::options(options, &["domain"]).map_err(fail)?;
        let r = polymailer::check::preflight_blocking(&config, domain.as_deref(), o).map_err(fail)?;
        crate::check::report(&r)
    }

    #[php(name = "smtpClose")]
    pub fn smtp_close(&mut self) {
        self.close_transport();
        self.emit_debug();
    }

    /// `validateAddress($address, $patternselect = null)`: PHPMailer::$validator by default
    /// (`'php'`: PHP's own `filter_var(FILTER_VALIDATE_EMAIL)`).
    #[php(name = "validateAddress")]
    pub fn validate_address(address: &Zval, patternselect: Option<&Zval>) -> bool {
        match patternselect.filter(|p| !p.is_null()) {
            Some(p) => helpers::validate_address(address, p),
            None => helpers::validate_address(address, &Self::static_zval("validator")),
        }
    }

    /// Loads PHPMailer's translation file for `langcode` from `lang_path` (default: an
    /// installed PHPMailer's `language/`); English when not found (and false).
    #[php(name = "setLanguage")]
    pub fn set_language(&mut self, langcode: Option<&Zval>, lang_path: Option<&Zval>) -> bool {
        let code = langcode.map_or("en".to_string(), |c| arg_string(Some(c)));
        let (table, found) = crate::lang::Translations::load(&code, &arg_string(lang_path));
        self.language = table;
        found
    }

    #[php(name = "getTranslations")]
    pub fn get_translations(&self) -> PhpResult<ZBox<ZendHashTable>> {
        let mut t = ZendHashTable::new();
        for (k, v) in self.language.all() {
            t.insert(k, v)?;
        }
        Ok(t)
    }

    /// The message for a key in the current language (the key itself when unknown).
    pub fn lang(&self, key: &Zval) -> String {
        self.language.lang(&arg_string(Some(key)))
    }

    #[php(name = "getLE")]
    pub fn get_le() -> Binary<u8> {
        helpers::binary(Self::le())
    }

    #[php(name = "setLE")]
    pub fn set_le(le: &Zval) {
        let _ = Self::get_metadata()
            .ce()
            .set_static_property("LE", Value(le.shallow_clone()));
    }

    #[php(name = "isValidHost")]
    pub fn is_valid_host(host: &Zval) -> bool {
        helpers::is_valid_host(host)
    }

    #[php(name = "idnSupported")]
    pub fn idn_supported() -> bool {
        true
    }

    #[php(name = "punyencodeAddress")]
    pub fn punyencode_address(&self, address: &Zval) -> Binary<u8> {
        let a = helpers::arg_bytes(Some(address));
        helpers::binary(helpers::punyencode_address(&a, &self.char_set.string()))
    }

    #[php(name = "parseAddresses")]
    pub fn parse_addresses(addrstr: &Zval, useimap: Option<&Zval>, charset: Option<&Zval>) -> ZBox<ZendHashTable> {
        let _ = useimap;
        let charset = charset.map_or("iso-8859-1".to_string(), |c| arg_string(Some(c)));
        helpers::parse_addresses(
            &helpers::arg_bytes(Some(addrstr)),
            &charset,
            &Self::static_zval("validator"),
        )
    }

    #[php(name = "mb_pathinfo")]
    pub fn mb_pathinfo(path: &Zval, options: Option<&Zval>) -> Zval {
        helpers::mb_pathinfo(&arg_string(Some(path)), options)
    }

    #[php(name = "filenameToType")]
    pub fn filename_to_type(filename: &Zval) -> String {
        helpers::filename_to_type(&arg_string(Some(filename))).to_string()
    }

    #[php(name = "_mime_types")]
    pub fn mime_types(ext: Option<&Zval>) -> String {
        helpers::mime_type(&arg_string(ext)).to_string()
    }

    #[php(name = "isPermittedPath")]
    pub fn is_permitted_path(path: &Zval) -> bool {
        helpers::is_permitted_path(&arg_string(Some(path)))
    }

    #[php(name = "fileIsAccessible")]
    pub fn file_is_accessible(path: &Zval) -> bool {
        helpers::file_is_accessible(&arg_string(Some(path)))
    }

    #[php(name = "quotedString")]
    pub fn quoted_string(input: &Zval) -> String {
        polymailer::text::quoted_string(&arg_string(Some(input)))
    }

    #[php(name = "normalizeBreaks")]
    pub fn normalize_breaks(text: &Zval, breaktype: Option<&Zval>) -> Binary<u8> {
        let le = match breaktype.filter(|b| !b.is_null()) {
            Some(b) => helpers::arg_bytes(Some(b)),
            None => Self::le(),
        };
        helpers::binary(polymailer::text::normalize_breaks(&helpers::arg_bytes(Some(text)), &le))
    }

    #[php(name = "hasLineLongerThanMax")]
    pub fn has_line_longer_than_max(text: &Zval) -> bool {
        polymailer::text::has_line_longer_than(&helpers::arg_bytes(Some(text)), 998, Self::le().len())
    }

    #[php(name = "encodeQ")]
    pub fn encode_q(&self, text: &Zval, position: Option<&Zval>) -> String {
        let position = polymailer::text::QPosition::from_word(&arg_string(position));
        polymailer::text::encode_q(&helpers::arg_bytes(Some(text)), position)
    }

    /// Encodes with `encoding` (`base64` by default); an unknown one is an error.
    #[php(name = "encodeString")]
    pub fn encode_string(&mut self, text: &Zval, encoding: Option<&Zval>) -> PhpResult<Binary<u8>> {
        let encoding = encoding.map_or("base64".to_string(), |e| arg_string(Some(e)));
        match helpers::encode_string(&helpers::arg_bytes(Some(text)), &encoding, &Self::le()) {
            Some(bytes) => Ok(helpers::binary(bytes)),
            None => {
                self.fail(&format!("{}{}", self.language.lang("encoding"), encoding))?;
                Ok(helpers::binary(Vec::new()))
            }
        }
    }

    #[php(name = "wrapText")]
    pub fn wrap_text(&self, message: &Zval, length: &Zval, qp_mode: Option<&Zval>) -> Binary<u8> {
        let width = Value(length.shallow_clone()).long_or(0).max(0) as usize;
        let qp = qp_mode.is_some_and(|q| q.coerce_to_bool());
        let utf8 = self.char_set.string().eq_ignore_ascii_case("utf-8");
        let text = helpers::arg_bytes(Some(message));
        helpers::binary(polymailer::text::wrap_text(&text, width, qp, utf8, &Self::le()))
    }

    #[php(name = "utf8CharBoundary")]
    pub fn utf8_char_boundary(&self, encoded: &Zval, max_length: &Zval) -> i64 {
        let max = Value(max_length.shallow_clone()).long_or(0).max(0) as usize;
        polymailer::text::utf8_char_boundary(&helpers::arg_bytes(Some(encoded)), max) as i64
    }

    /// Sets a property by name; false (and ErrorInfo) for one PHPMailer does not have.
    pub fn set(self_: &mut ZendClassObject<PHPMailer>, name: &Zval, value: Option<&Zval>) -> PhpResult<bool> {
        let name = arg_string(Some(name));
        let value = value.map_or_else(Zval::null, |v| v.shallow_clone());
        if PROTECTED_PROPERTIES.contains(&name.as_str()) {
            return Ok(true);
        }
        if PUBLIC_PROPERTIES.contains(&name.as_str()) && self_.get_mut_zend_obj().set_property(&name, value).is_ok() {
            return Ok(true);
        }
        let msg = format!("{}{}", self_.language.lang("variable_set"), name);
        self_.fail(&msg)
    }

    /// The message's header block as `preSend()` would write it.
    #[php(name = "createHeader")]
    pub fn create_header(&mut self) -> PhpResult<String> {
        match message::header_block(&self.draft()) {
            Ok(h) => Ok(h),
            Err(msg) => self.fail(&msg).map(|_| String::new()),
        }
    }

    /// The message's MIME body (what follows the header block) as `preSend()` would write it.
    #[php(name = "createBody")]
    pub fn create_body(&mut self) -> PhpResult<Binary<u8>> {
        match message::body_block(&self.draft()) {
            Ok(b) => Ok(helpers::binary(b)),
            Err(msg) => self.fail(&msg).map(|_| helpers::binary(Vec::new())),
        }
    }

    /// PHP's `quoted_printable_encode`, line breaks as `PHPMailer::$LE`.
    #[php(name = "encodeQP")]
    pub fn encode_qp(&self, text: &Zval) -> Binary<u8> {
        let bytes = helpers::arg_bytes(Some(text));
        helpers::binary(helpers::encode_string(&bytes, "quoted-printable", &Self::le()).unwrap_or_default())
    }

    /// Every recipient (To, Cc, Bcc) keyed by lower-cased address.
    #[php(name = "getAllRecipientAddresses")]
    pub fn get_all_recipient_addresses(&self) -> PhpResult<ZBox<ZendHashTable>> {
        let mut t = ZendHashTable::new();
        for (a, _) in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            t.insert(a.to_lowercase().as_str(), true)?;
        }
        Ok(t)
    }

    #[php(name = "inlineImageExists")]
    pub fn inline_image_exists(&self) -> bool {
        self.attachments.iter().any(|a| a.disposition == "inline")
    }

    #[php(name = "attachmentExists")]
    pub fn attachment_exists(&self) -> bool {
        self.attachments.iter().any(|a| a.disposition == "attachment")
    }

    #[php(name = "alternativeExists")]
    pub fn alternative_exists(&self) -> bool {
        !self.alt_body.string().is_empty()
    }

    /// PHPMailer's rows: path (or the string), file name, name, encoding, type, is-string,
    /// disposition, cid (the name for file attachments, 0 for string ones).
    #[php(name = "getAttachments")]
    pub fn get_attachments(&self) -> PhpResult<ZBox<ZendHashTable>> {
        let mut rows = ZendHashTable::new();
        for a in &self.attachments {
            let mut row = ZendHashTable::new();
            let is_string = match &a.content {
                polymailer::Content::Path(p) => {
                    row.push(p.to_string_lossy().into_owned())?;
                    false
                }
                polymailer::Content::Bytes(b) => {
                    row.push(helpers::binary(b.clone()))?;
                    true
                }
            };
            let (file, name) = match (&a.content, &a.content_id) {
                (polymailer::Content::Path(_), _) => (a.basename.clone(), a.filename.clone()),
                (polymailer::Content::Bytes(_), Some(_)) => (a.filename.clone(), a.filename.clone()),
                (polymailer::Content::Bytes(_), None) => (a.filename.clone(), a.basename.clone()),
            };
            row.push(file)?;
            row.push(name.clone())?;
            row.push(a.encoding.clone())?;
            row.push(a.content_type.clone().unwrap_or_default())?;
            row.push(is_string)?;
            row.push(a.disposition.clone())?;
            match (&a.content_id, is_string) {
                (Some(cid), _) if !cid.is_empty() => row.push(cid.clone())?,
                (_, false) => row.push(name)?,
                (_, true) => row.push(0i64)?,
            }
            rows.push(row)?;
        }
        Ok(rows)
    }

    /// The token source for `AuthType = 'XOAUTH2'` (an `OAuthTokenProvider`).
    #[php(name = "setOAuth")]
    pub fn set_oauth(&mut self, oauth: &Zval) {
        self.oauth = Value(oauth.shallow_clone());
    }

    #[php(name = "getOAuth")]
    pub fn get_oauth(&self) -> Value {
        self.oauth.clone()
    }

    /// An `SMTP` client object for code that drives the protocol itself (the one given to
    /// `setSMTPInstance()`, else a new one). `send()` itself goes through the engine's own
    /// connection, not through this object.
    #[php(name = "getSMTPInstance")]
    pub fn get_smtp_instance(&mut self) -> PhpResult<Value> {
        if self.smtp_instance.is_null() {
            self.smtp_instance = Value(Smtp::new().into_zval(false)?);
        }
        Ok(self.smtp_instance.clone())
    }

    #[php(name = "setSMTPInstance")]
    pub fn set_smtp_instance(&mut self, smtp: &Zval) -> Value {
        self.smtp_instance = Value(smtp.shallow_clone());
        self.smtp_instance.clone()
    }

    pub fn __destruct(&mut self) {
        self.close_transport();
    }
}
