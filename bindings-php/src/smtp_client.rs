//! `Polymailer\PHPMailer\SMTP`: PHPMailer's low-level SMTP client (`connect`, `hello`,
//! `startTLS`, `authenticate`, `mail`, `recipient`, `data`, `quit`, `getError`,
//! `getLastReply`, …) over the core's session (`polymailer::Connection`), for code that drives
//! the protocol itself. Each method blocks on the core's runtime and answers true/false, the
//! details in `getError()` as PHPMailer gives them.

use std::sync::Arc;

use ext_php_rs::boxed::ZBox;
use ext_php_rs::exception::PhpResult;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use polymailer::{runtime, AuthMechanism, Connection, Credentials, Recorder, Reply};

use crate::mailer::VERSION;
use crate::value::{arg_string, Value};

/// What `getError()` returns.
#[derive(Default, Clone)]
struct LastError {
    error: String,
    detail: String,
    smtp_code: String,
    smtp_code_ex: String,
}

#[php_class]
#[php(name = "Polymailer\\PHPMailer\\SMTP")]
pub struct Smtp {
    #[php(prop, name = "do_debug")]
    pub do_debug: Value,
    #[php(prop, name = "Debugoutput")]
    pub debug_output: Value,
    #[php(prop, name = "do_verp")]
    pub do_verp: Value,
    #[php(prop, name = "Timeout")]
    pub timeout: Value,
    #[php(prop, name = "Timelimit")]
    pub timelimit: Value,
    conn: Option<Connection>,
    error: LastError,
    last_reply: String,
    recorder: Recorder,
}

impl Smtp {
    pub fn new() -> Self {
        Smtp {
            do_debug: Value::long(0),
            debug_output: Value::str("echo"),
            do_verp: Value::bool(false),
            timeout: Value::long(300),
            timelimit: Value::long(300),
            conn: None,
            error: LastError::default(),
            last_reply: String::new(),
            recorder: Recorder::recording(),
        }
    }

    fn set_error(&mut self, error: &str, reply: Option<&Reply>) {
        self.error = LastError {
            error: error.to_string(),
            detail: reply.map(|r| r.text_without_status()).unwrap_or_default(),
            smtp_code: reply.map(|r| r.code.to_string()).unwrap_or_default(),
            smtp_code_ex: reply
                .and_then(|r| r.enhanced)
                .map(|e| e.to_string())
                .unwrap_or_default(),
        };
    }

    fn emit_debug(&mut self) {
        let level = self.do_debug.long_or(0);
        let lines = self.recorder.take();
        if level > 0 {
            crate::debug::emit_debug(&self.debug_output, level, lines);
        }
    }

    fn remember(&mut self, reply: &Reply) {
        let last = reply.lines.len().saturating_sub(1);
        self.last_reply = reply
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{}{}{l}\r\n", reply.code, if i == last { ' ' } else { '-' }))
            .collect();
    }

    /// Sends `line` and expects one of `expect`; PHPMailer's `sendCommand`.
    fn command(&mut self, name: &str, line: &str, expect: &[u16]) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            self.set_error(&format!("Called {name} without being connected"), None);
            return false;
        };
        if line.contains(['\r', '\n']) {
            self.set_error(&format!("Command '{name}' contained line breaks"), None);
            return false;
        }
        let result = runtime::block_on(conn.command(line));
        self.finish(name, result, expect)
    }

    fn finish(&mut self, name: &str, result: polymailer::Result<Reply>, expect: &[u16]) -> bool {
        let ok = match result {
            Ok(reply) => {
                self.remember(&reply);
                if expect.contains(&reply.code) {
                    self.error = LastError::default();
                    true
                } else {
                    self.set_error(&format!("{name} command failed"), Some(&reply));
                    false
                }
            }
            Err(e) => {
                if let Some(r) = e.reply() {
                    self.remember(&r.clone());
                }
                self.set_error(&format!("{name} command failed: {}", e.message()), e.reply());
                if !self.conn.as_ref().is_some_and(Connection::is_usable) {
                    self.conn = None;
                }
                false
            }
        };
        self.emit_debug();
        ok
    }
}

#[php_impl]
#[php(change_constant_case = "none")]
impl Smtp {
    const VERSION: &'static str = VERSION;
    const LE: &'static str = "\r\n";
    const DEFAULT_PORT: i64 = 25;
    const DEFAULT_SECURE_PORT: i64 = 465;
    const MAX_LINE_LENGTH: i64 = 998;
    const MAX_REPLY_LENGTH: i64 = 512;
    const DEBUG_OFF: i64 = 0;
    const DEBUG_CLIENT: i64 = 1;
    const DEBUG_SERVER: i64 = 2;
    const DEBUG_CONNECTION: i64 = 3;
    const DEBUG_LOWLEVEL: i64 = 4;

    pub fn __construct() -> Self {
        Self::new()
    }

    /// Opens the connection and reads the greeting (`ssl://host` for implicit TLS; a plain
    /// connection is upgraded with `startTLS()`). `$options['ssl']` as PHPMailer's
    /// `SMTPOptions` (cafile, verify_peer, …).
    pub fn connect(
        &mut self,
        host: &Zval,
        port: Option<&Zval>,
        timeout: Option<&Zval>,
        options: Option<&Zval>,
    ) -> bool {
        if self.conn.is_some() {
            self.set_error("Already connected to a server", None);
            return false;
        }
        let port = port
            .filter(|p| !p.is_null())
            .map_or(25, |p| Value(p.shallow_clone()).long_or(25));
        let timeout = timeout
            .filter(|t| !t.is_null())
            .map_or(30, |t| Value(t.shallow_clone()).long_or(30));
        let settings = polymailer::phpmailer::Settings {
            host: arg_string(Some(host)),
            port,
            timeout,
            ssl: crate::state::ssl_options(options),
            debug: true,
            ..Default::default()
        };
        let result = settings.first_config().and_then(|mut c| {
            c.transcript = Some(self.recorder.hook());
            runtime::block_on(Connection::connect(Arc::new(c)))
        });
        match result {
            Ok(conn) => {
                self.remember(&conn.greeting().clone());
                self.conn = Some(conn);
                self.error = LastError::default();
                self.emit_debug();
                true
            }
            Err(e) => {
                self.set_error(&format!("Failed to connect to server: {}", e.message()), e.reply());
                self.emit_debug();
                false
            }
        }
    }

    /// EHLO, or HELO when EHLO is refused.
    pub fn hello(&mut self, host: Option<&Zval>) -> bool {
        let name = Some(arg_string(host)).filter(|h| !h.is_empty());
        let Some(conn) = self.conn.as_mut() else {
            self.set_error("Called hello() without being connected", None);
            return false;
        };
        let result = match runtime::block_on(conn.ehlo(name.as_deref())) {
            Ok(r) if r.code == 250 => Ok(r),
            _ => runtime::block_on(conn.helo(name.as_deref())),
        };
        self.finish("EHLO", result, &[250])
    }

    #[php(name = "startTLS")]
    pub fn start_tls(&mut self) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            self.set_error("Called startTLS() without being connected", None);
            return false;
        };
        let result = runtime::block_on(conn.starttls(None));
        self.finish("STARTTLS", result, &[220])
    }

    /// AUTH with `authtype` (CRAM-MD5, LOGIN, PLAIN, XOAUTH2), or the first of those the
    /// server offers; XOAUTH2 takes its token from `$OAuth->getOauth64()`.
    pub fn authenticate(
        &mut self,
        username: &Zval,
        password: &Zval,
        authtype: Option<&Zval>,
        oauth: Option<&Zval>,
    ) -> PhpResult<bool> {
        let kind = arg_string(authtype).to_ascii_uppercase();
        let creds = if matches!(kind.parse(), Ok(AuthMechanism::Xoauth2)) {
            let response = oauth
                .and_then(|o| o.object())
                .and_then(|o| o.try_call_method("getOauth64", vec![]).ok())
                .and_then(|z| z.string())
                .unwrap_or_default();
            match Credentials::from_xoauth2_response(&response) {
                Ok(c) => c,
                Err(e) => {
                    self.set_error(e.message(), None);
                    return Ok(false);
                }
            }
        } else {
            Credentials::password(arg_string(Some(username)), arg_string(Some(password)))
        };
        let order: Vec<AuthMechanism> = match kind.as_str() {
            "" => vec![AuthMechanism::CramMd5, AuthMechanism::Login, AuthMechanism::Plain],
            other => match other.parse() {
                Ok(m) => vec![m],
                Err(_) => {
                    self.set_error(&format!("Authentication method \"{other}\" is not supported"), None);
                    return Ok(false);
                }
            },
        };
        let Some(conn) = self.conn.as_mut() else {
            self.set_error("Authentication is not allowed before HELO/EHLO", None);
            return Ok(false);
        };
        let result = runtime::block_on(conn.auth_in_order(&creds, &order, true));
        Ok(self.finish("AUTH", result, &[235, 503]))
    }

    /// MAIL FROM (with XVERP when `do_verp`).
    pub fn mail(&mut self, from: &Zval) -> bool {
        let verp = if self.do_verp.truthy() { " XVERP" } else { "" };
        let line = format!("MAIL FROM:<{}>{verp}", arg_string(Some(from)));
        self.command("MAIL FROM", &line, &[250])
    }

    /// RCPT TO, with `NOTIFY=` when `dsn` is given (`SUCCESS,FAILURE`, `NEVER`).
    pub fn recipient(&mut self, address: &Zval, dsn: Option<&Zval>) -> bool {
        let dsn = arg_string(dsn).to_ascii_uppercase();
        let notify = if dsn.is_empty() {
            String::new()
        } else {
            format!(" NOTIFY={dsn}")
        };
        let line = format!("RCPT TO:<{}>{notify}", arg_string(Some(address)));
        self.command("RCPT TO", &line, &[250, 251])
    }

    /// DATA, the message (line ends normalised, dot-stuffed) and the final dot.
    pub fn data(&mut self, msg_data: &Zval) -> bool {
        if !self.command("DATA", "DATA", &[354]) {
            return false;
        }
        let bytes = crate::helpers::arg_bytes(Some(msg_data));
        let conn = self.conn.as_mut().expect("connected after DATA");
        let result = runtime::block_on(conn.data_content(&bytes));
        self.finish("DATA END", result, &[250])
    }

    pub fn quit(&mut self, close_on_error: Option<&Zval>) -> bool {
        let ok = self.command("QUIT", "QUIT", &[221]);
        if ok || close_on_error.is_none_or(|c| c.coerce_to_bool()) {
            self.conn = None;
        }
        ok
    }

    pub fn close(&mut self) {
        self.conn = None;
    }

    pub fn connected(&self) -> bool {
        self.conn.as_ref().is_some_and(Connection::is_usable)
    }

    pub fn reset(&mut self) -> bool {
        self.command("RSET", "RSET", &[250])
    }

    pub fn noop(&mut self) -> bool {
        self.command("NOOP", "NOOP", &[250])
    }

    pub fn verify(&mut self, name: &Zval) -> bool {
        let line = format!("VRFY {}", arg_string(Some(name)));
        self.command("VRFY", &line, &[250, 251])
    }

    #[php(name = "sendAndMail")]
    pub fn send_and_mail(&mut self, from: &Zval) -> bool {
        let line = format!("SAML FROM:{}", arg_string(Some(from)));
        self.command("SAML", &line, &[250])
    }

    pub fn turn(&mut self) -> bool {
        self.set_error("The SMTP TURN command is not implemented", None);
        false
    }

    /// A raw command expecting `expect` (a code or a list of codes).
    #[php(name = "sendCommand")]
    pub fn send_command(&mut self, command: &Zval, commandstring: &Zval, expect: &Zval) -> bool {
        let codes: Vec<u16> = match expect.array() {
            Some(a) => a.values().filter_map(|v| v.long()).map(|c| c as u16).collect(),
            None => vec![Value(expect.shallow_clone()).long_or(0) as u16],
        };
        self.command(&arg_string(Some(command)), &arg_string(Some(commandstring)), &codes)
    }

    #[php(name = "getError")]
    pub fn get_error(&self) -> PhpResult<ZBox<ZendHashTable>> {
        let mut t = ZendHashTable::new();
        t.insert("error", self.error.error.clone())?;
        t.insert("detail", self.error.detail.clone())?;
        t.insert("smtp_code", self.error.smtp_code.clone())?;
        t.insert("smtp_code_ex", self.error.smtp_code_ex.clone())?;
        Ok(t)
    }

    #[php(name = "getLastReply")]
    pub fn get_last_reply(&self) -> String {
        self.last_reply.clone()
    }

    /// An EHLO keyword's parameters (true when it has none), null when not offered.
    #[php(name = "getServerExt")]
    pub fn get_server_ext(&mut self, name: &Zval) -> Zval {
        let name = arg_string(Some(name)).to_ascii_uppercase();
        let mut out = Zval::new();
        let Some(conn) = self.conn.as_ref().filter(|c| c.has_said_hello()) else {
            self.set_error("No HELO/EHLO was sent", None);
            return out;
        };
        match conn.extensions().params(&name) {
            Some("") => out.set_bool(true),
            Some(p) => {
                let _ = out.set_string(p, false);
            }
            None => {}
        }
        out
    }

    #[php(name = "getServerExtList")]
    pub fn get_server_ext_list(&self) -> PhpResult<Option<ZBox<ZendHashTable>>> {
        let Some(conn) = self.conn.as_ref().filter(|c| c.has_said_hello()) else {
            return Ok(None);
        };
        let mut t = ZendHashTable::new();
        for (k, v) in conn.extensions().features() {
            if v.is_empty() {
                t.insert(k.as_str(), true)?;
            } else {
                t.insert(k.as_str(), v.clone())?;
            }
        }
        Ok(Some(t))
    }

    /// The queue id the server gave for the last message (`queued as …`), if any.
    #[php(name = "getLastTransactionID")]
    pub fn get_last_transaction_id(&self) -> Option<String> {
        let lower = self.last_reply.to_ascii_lowercase();
        let at = lower
            .find("queued as ")
            .map(|i| i + "queued as ".len())
            .or_else(|| lower.find(" id=").map(|i| i + 4))?;
        let id: String = self.last_reply[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        Some(id).filter(|i| !i.is_empty())
    }

    #[php(name = "setDebugLevel")]
    pub fn set_debug_level(&mut self, level: Option<&Zval>) {
        self.do_debug = Value::long(level.map_or(0, |l| Value(l.shallow_clone()).long_or(0)));
    }

    #[php(name = "getDebugLevel")]
    pub fn get_debug_level(&self) -> i64 {
        self.do_debug.long_or(0)
    }

    #[php(name = "setDebugOutput")]
    pub fn set_debug_output(&mut self, method: Option<&Zval>) {
        self.debug_output = method.map_or_else(|| Value::str("echo"), |m| Value(m.shallow_clone()));
    }

    #[php(name = "getDebugOutput")]
    pub fn get_debug_output(&self) -> Value {
        self.debug_output.clone()
    }

    #[php(name = "setVerp")]
    pub fn set_verp(&mut self, enabled: Option<&Zval>) {
        self.do_verp = Value::bool(enabled.is_some_and(|e| e.coerce_to_bool()));
    }

    #[php(name = "getVerp")]
    pub fn get_verp(&self) -> bool {
        self.do_verp.truthy()
    }

    #[php(name = "setTimeout")]
    pub fn set_timeout(&mut self, timeout: Option<&Zval>) {
        self.timeout = Value::long(timeout.map_or(0, |t| Value(t.shallow_clone()).long_or(0)));
    }

    #[php(name = "getTimeout")]
    pub fn get_timeout(&self) -> i64 {
        self.timeout.long_or(300)
    }
}
