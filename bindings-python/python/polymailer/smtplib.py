"""Drop-in replacement for the standard library's ``smtplib``, on polymailer's engine.

Change ``import smtplib`` to ``from polymailer import smtplib``; the rest of the code stays. The
exceptions are the standard library's own classes, so existing ``except`` clauses keep working.

One deliberate difference: ``starttls()`` and ``SMTP_SSL`` without a ``context`` verify the
server's certificate against the system roots (the standard library silently skips
verification). Pass an ``ssl.SSLContext`` to trust another CA or, knowingly, to disable checks.
"""

import base64
import datetime
import email.utils
import hmac
import logging
import re
import socket
import sys
from email.base64mime import body_encode as encode_base64
from smtplib import (  # noqa: F401  (re-exported: the same classes as the standard library's)
    CRLF,
    OLDSTYLE_AUTH,
    SMTP_PORT,
    SMTP_SSL_PORT,
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPDataError,
    SMTPException,
    SMTPHeloError,
    SMTPNotSupportedError,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
    _quote_periods,  # noqa: F401  (some callers use it)
    bCRLF,
    quoteaddr,
    quotedata,
)

from . import _native
from ._flatten import flatten
from ._tls import from_context

__all__ = [
    "SMTPException",
    "SMTPNotSupportedError",
    "SMTPServerDisconnected",
    "SMTPResponseException",
    "SMTPSenderRefused",
    "SMTPRecipientsRefused",
    "SMTPDataError",
    "SMTPConnectError",
    "SMTPHeloError",
    "SMTPAuthenticationError",
    "quoteaddr",
    "quotedata",
    "SMTP",
    "SMTP_SSL",
    "LMTP",
]

_MAXLINE = 8192  # the engine's bound on a reply line (the standard library's value)
_MAXCHALLENGE = 5
LMTP_PORT = 2003

_log = logging.getLogger("polymailer")
_FEATURE = re.compile(r"(?P<feature>[A-Za-z0-9][A-Za-z0-9\-]*) ?")


def _fix_eols(data):
    return re.sub(r"(?:\r\n|\n|\r(?!\n))", CRLF, data)


def _addr_only(addrstring):
    displayname, addr = email.utils.parseaddr(addrstring)
    return addrstring if (displayname, addr) == ("", "") else addr


def _timeout(value):
    """Seconds, or None for the engine's defaults (every wait stays bounded even then)."""
    if value is socket._GLOBAL_DEFAULT_TIMEOUT:
        value = socket.getdefaulttimeout()
    return None if value is None else float(value)


def _checked(line):
    """The standard library's refusal of CR/LF in a command (the engine refuses them too)."""
    if "\r" in line or "\n" in line:
        shown = line.replace("\n", "\\n").replace("\r", "\\r")
        raise ValueError(f"command and arguments contain prohibited newline characters: {shown}")
    return line


def _ascii_local_part(address):
    """Without SMTPUTF8 a command is ASCII: UnicodeEncodeError as the standard library raises.
    (A non-ASCII domain is not refused: the engine sends it as punycode.)"""
    addr = email.utils.parseaddr(address)[1] or address
    local = addr.rpartition("@")[0] if "@" in addr else addr
    local.encode("ascii")


class SMTP:
    """An SMTP client session, as ``smtplib.SMTP``; the protocol runs in Rust."""

    debuglevel = 0
    file = None
    helo_resp = None
    ehlo_msg = "ehlo"
    ehlo_resp = None
    does_esmtp = False
    default_port = SMTP_PORT
    _implicit_tls = False
    _lmtp = False
    _context = None
    _conn = None

    def __init__(
        self, host="", port=0, local_hostname=None, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None
    ):
        self._host = host
        self.timeout = timeout
        self.esmtp_features = {}
        self.command_encoding = "ascii"
        self.source_address = source_address
        self._auth_challenge_count = 0
        self._conn = None
        if local_hostname is not None:
            self.local_hostname = local_hostname
        else:
            fqdn = socket.getfqdn()
            if "." in fqdn:
                self.local_hostname = fqdn
            else:
                addr = "127.0.0.1"
                try:
                    addr = socket.gethostbyname(socket.gethostname())
                except socket.gaierror:
                    pass
                self.local_hostname = "[%s]" % addr
        if host:
            (code, msg) = self.connect(host, port)
            if code != 220:
                self.close()
                raise SMTPConnectError(code, msg)

    def __enter__(self):
        return self

    def __exit__(self, *args):
        try:
            code, message = self.docmd("QUIT")
            if code != 221:
                raise SMTPResponseException(code, message)
        except SMTPServerDisconnected:
            pass
        finally:
            self.close()

    def set_debuglevel(self, debuglevel):
        """1 prints the conversation to stderr, 2 adds timestamps (AUTH secrets are masked)."""
        self.debuglevel = debuglevel
        if self._conn is not None:
            self._conn.set_recording(self._recording())

    def _recording(self):
        return self.debuglevel > 0 or _log.isEnabledFor(logging.DEBUG)

    def _print_debug(self, *args):
        if self.debuglevel > 1:
            print(datetime.datetime.now().time(), *args, file=sys.stderr)
        else:
            print(*args, file=sys.stderr)

    def _emit(self):
        """Prints what the engine recorded, in smtplib's debug format, and logs it."""
        if self._conn is None:
            return
        pending = []
        for direction, line in self._conn.take_transcript():
            if _log.isEnabledFor(logging.DEBUG):
                _log.debug("%s %s", direction, line if direction != "data" else "<%d bytes>" % len(line))
            if not self.debuglevel:
                continue
            if direction == "send":
                self._print_debug("send:", repr(line + CRLF))
            elif direction == "data":
                self._print_debug("send:", repr(_fix_eols(line).encode("utf-8", "replace")))
            elif direction == "reply":
                self._print_debug("reply:", repr(line.encode("utf-8", "replace") + bCRLF))
                pending.append(line[4:])
                if len(line) < 4 or line[3] != "-":
                    msg = "\n".join(pending).encode("utf-8", "replace")
                    self._print_debug("reply: retcode (%s); Msg: %a" % (line[:3], msg))
                    pending = []
            elif direction == "info" and self.debuglevel > 1:
                self._print_debug("info:", line)

    @property
    def sock(self):
        """The live session (an engine object, not a socket), or None once closed."""
        return self._conn

    @sock.setter
    def sock(self, value):
        if value is None:
            self.close()

    def _call(self, fn, *args, **kwargs):
        if self._conn is None:
            raise SMTPServerDisconnected("please run connect() first")
        try:
            return fn(*args, **kwargs)
        finally:
            self._emit()
            # The server closed the session (a 421, a drop): closed here too, as smtplib does.
            if self._conn is not None and not self._conn.usable:
                self.close()

    def connect(self, host="localhost", port=0, source_address=None):
        """Connects (with implicit TLS for SMTP_SSL) and returns the greeting ``(code, msg)``."""
        if source_address:
            self.source_address = source_address
        if not port and (host.find(":") == host.rfind(":")):
            i = host.rfind(":")
            if i >= 0:
                host, port = host[:i], host[i + 1 :]
                try:
                    port = int(port)
                except ValueError:
                    raise OSError("nonnumeric port")
        if not port:
            port = self.default_port
        try:
            port = int(port)
        except ValueError:
            raise OSError("nonnumeric port")
        if self.timeout is not None and self.timeout is not socket._GLOBAL_DEFAULT_TIMEOUT and not self.timeout:
            raise ValueError("Non-blocking socket (timeout=0) is not supported")
        sys.audit("smtplib.connect", self, host, port)
        return self._open(host, port)

    def _open(self, host, port, unix_socket=None):
        if self.debuglevel > 0:
            self._print_debug("connect: to", (host, port), self.source_address)
        if self._conn is not None:
            self.close()
        self._host = host
        tls = from_context(self._context, host) if self._implicit_tls else None
        if self._implicit_tls and tls is None:
            tls = {"server_hostname": None}
        self._conn, (code, msg) = _native.Connection.open(
            host,
            int(port),
            timeout=_timeout(self.timeout),
            local_hostname=None,
            source_address=tuple(self.source_address) if self.source_address else None,
            implicit_tls=self._implicit_tls,
            tls=tls,
            record=self._recording(),
            lmtp=self._lmtp,
            unix_socket=unix_socket,
        )
        self._emit()
        if self.debuglevel > 0:
            self._print_debug("connect:", repr(msg))
        return code, msg

    def send(self, s):
        """Sends ``s`` (str or bytes) as it is."""
        if isinstance(s, str):
            s = s.encode(self.command_encoding)
        sys.audit("smtplib.send", self, s)
        self._call(lambda: self._conn.send(bytes(s)))

    def putcmd(self, cmd, args=""):
        """Sends a command line; CR or LF in it raise ValueError."""
        self.send("%s%s" % (_checked(f"{cmd} {args}" if args else cmd), CRLF))

    def getreply(self):
        """Reads a reply: ``(code, msg)``, multi-line text joined with newlines."""
        return self._call(lambda: self._conn.getreply())

    def docmd(self, cmd, args=""):
        """Sends a command and returns the reply ``(code, msg)``."""
        line = _checked("%s %s" % (cmd, args) if args else cmd)
        line.encode(self.command_encoding)
        return self._call(lambda: self._conn.docmd(line))

    def helo(self, name=""):
        self.helo_resp = None
        name = name or self.local_hostname
        _checked("helo %s" % name)
        code, msg = self._call(lambda: self._conn.helo(name))
        self.helo_resp = msg
        return code, msg

    def ehlo(self, name=""):
        self.esmtp_features = {}
        name = name or self.local_hostname
        _checked("%s %s" % (self.ehlo_msg, name))
        code, msg = self._call(lambda: self._conn.ehlo(name))
        self.ehlo_resp = msg
        if code != 250:
            return code, msg
        self.does_esmtp = True
        for keyword, params in self._conn.features():
            if keyword == "AUTH" or keyword.startswith("AUTH="):
                extra = params if keyword == "AUTH" else keyword[5:] + (" " + params if params else "")
                self.esmtp_features["auth"] = self.esmtp_features.get("auth", "") + " " + extra
            elif _FEATURE.match(keyword):
                self.esmtp_features[keyword.lower()] = params
        return code, msg

    def has_extn(self, opt):
        return opt.lower() in self.esmtp_features

    def help(self, args=""):
        return self.docmd("help", args)[1]

    def rset(self):
        self.command_encoding = "ascii"
        return self.docmd("rset")

    def _rset(self):
        try:
            self.rset()
        except SMTPServerDisconnected:
            pass

    def noop(self):
        return self.docmd("noop")

    def mail(self, sender, options=()):
        optionlist = ""
        if options and self.does_esmtp:
            if any(x.lower() == "smtputf8" for x in options):
                if not self.has_extn("smtputf8"):
                    raise SMTPNotSupportedError("SMTPUTF8 not supported by server")
                self.command_encoding = "utf-8"
            optionlist = " " + " ".join(options)
        return self.docmd("mail", "FROM:%s%s" % (quoteaddr(sender), optionlist))

    def rcpt(self, recip, options=()):
        optionlist = (" " + " ".join(options)) if options and self.does_esmtp else ""
        return self.docmd("rcpt", "TO:%s%s" % (quoteaddr(recip), optionlist))

    def data(self, msg):
        """DATA and the content (normalised to CRLF and dot-stuffed by the engine)."""
        code, repl = self.docmd("data")
        if code != 354:
            raise SMTPDataError(code, repl)
        if isinstance(msg, str):
            msg = _fix_eols(msg).encode("ascii")
        return self._call(lambda: self._conn.data(msg))

    def verify(self, address):
        return self.docmd("vrfy", _addr_only(address))

    vrfy = verify

    def expn(self, address):
        return self.docmd("expn", _addr_only(address))

    def ehlo_or_helo_if_needed(self):
        if self.helo_resp is None and self.ehlo_resp is None:
            if not (200 <= self.ehlo()[0] <= 299):
                (code, resp) = self.helo()
                if not (200 <= code <= 299):
                    raise SMTPHeloError(code, resp)

    def auth(self, mechanism, authobject, *, initial_response_ok=True):
        """AUTH driven by ``authobject(challenge)``, as the standard library's (the lines carrying
        responses are masked in the debug output)."""
        mechanism = mechanism.upper()
        initial_response = authobject() if initial_response_ok else None
        if initial_response is not None:
            response = encode_base64(initial_response.encode("ascii"), eol="")
            code, resp = self._call(lambda: self._conn.auth_line("AUTH %s %s" % (mechanism, response)))
            self._auth_challenge_count = 1
        else:
            code, resp = self.docmd("AUTH", mechanism)
            self._auth_challenge_count = 0
        while code == 334:
            self._auth_challenge_count += 1
            challenge = base64.decodebytes(resp)
            response = encode_base64(authobject(challenge).encode("ascii"), eol="")
            code, resp = self._call(lambda: self._conn.auth_line(response))
            if self._auth_challenge_count > _MAXCHALLENGE:
                raise SMTPException("Server AUTH mechanism infinite loop. Last response: " + repr((code, resp)))
        if code in (235, 503):
            return (code, resp)
        raise SMTPAuthenticationError(code, resp)

    def auth_cram_md5(self, challenge=None):
        """Authobject for CRAM-MD5 (``self.user`` and ``self.password``)."""
        if challenge is None:
            return None
        return self.user + " " + hmac.HMAC(self.password.encode("ascii"), challenge, "md5").hexdigest()

    def auth_plain(self, challenge=None):
        """Authobject for PLAIN (``self.user`` and ``self.password``)."""
        return "\0%s\0%s" % (self.user, self.password)

    def auth_login(self, challenge=None):
        """Authobject for LOGIN (``self.user`` and ``self.password``)."""
        if challenge is None or self._auth_challenge_count < 2:
            return self.user
        return self.password

    def login(self, user, password, *, initial_response_ok=True):
        """Tries CRAM-MD5, PLAIN and LOGIN, those the server offers, until one succeeds (the
        engine runs the exchange; secrets are masked in debug output)."""
        self.ehlo_or_helo_if_needed()
        if not self.has_extn("auth"):
            raise SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        self.user, self.password = user, password
        return self._call(lambda: self._conn.login(user, password, None, initial_response_ok))

    def auth_xoauth2(self, user, token):
        """AUTH XOAUTH2 with an OAuth2 access token."""
        self.ehlo_or_helo_if_needed()
        return self._call(lambda: self._conn.login(user, token, "XOAUTH2"))

    def starttls(self, *, context=None):
        """Upgrades to TLS. Without ``context`` the certificate IS verified (system roots)."""
        self.ehlo_or_helo_if_needed()
        if not self.has_extn("starttls"):
            raise SMTPNotSupportedError("STARTTLS extension not supported by server.")
        reply = self._call(lambda: self._conn.starttls(from_context(context, self._host) or {}))
        self.helo_resp = None
        self.ehlo_resp = None
        self.esmtp_features = {}
        self.does_esmtp = False
        return reply

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        """Returns the dict of refused recipients ``{addr: (code, msg)}``, as smtplib does."""
        self.ehlo_or_helo_if_needed()
        args = self._sendmail_args(from_addr, to_addrs, msg, mail_options, rcpt_options)
        try:
            refused, self._data_reply = self._call(lambda: self._conn.sendmail(*args))
        except SMTPSenderRefused:
            # smtplib resets after a refused MAIL (the engine needs not: no transaction is open);
            # kept for its effect: a server that refused and hung up is noticed here.
            if self._conn is not None:
                self._rset()
            raise
        return refused

    def _sendmail_args(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        """``sendmail``'s arguments as the engine takes them (after EHLO)."""
        if isinstance(msg, str):
            msg = _fix_eols(msg).encode("ascii")
        if isinstance(to_addrs, str):
            to_addrs = [to_addrs]
        mail_options = list(mail_options) if self.does_esmtp else []
        if not any(o.lower() == "smtputf8" for o in mail_options):
            for address in (from_addr, *to_addrs):
                _ascii_local_part(address)
        return from_addr, list(to_addrs), bytes(msg), mail_options, list(rcpt_options)

    def send_message(self, msg, from_addr=None, to_addrs=None, mail_options=(), rcpt_options=()):
        """Sends an ``email.message.Message`` with smtplib's envelope rules (Sender/From,
        Resent-* blocks, To+Cc+Bcc; Bcc and Resent-Bcc stripped)."""
        self.ehlo_or_helo_if_needed()
        return self.sendmail(*self._message_args(msg, from_addr, to_addrs, mail_options, rcpt_options))

    def _message_args(self, msg, from_addr=None, to_addrs=None, mail_options=(), rcpt_options=()):
        """``send_message``'s envelope and bytes, as ``sendmail`` arguments (after EHLO)."""
        resent = msg.get_all("Resent-Date")
        if resent is not None and len(resent) > 1:
            raise ValueError("message has more than one 'Resent-' header block")
        flat = flatten(msg, international=True)
        header_from, header_to, stripped = _native.prepare_raw(flat)
        if from_addr is None:
            from_addr = header_from or ""
        if to_addrs is None:
            to_addrs = header_to
        international = False
        try:
            "".join([from_addr, *to_addrs]).encode("ascii")
        except UnicodeEncodeError:
            if not self.has_extn("smtputf8"):
                raise SMTPNotSupportedError(
                    "One or more source or delivery addresses require internationalized email support, "
                    "but the server does not advertise the required SMTPUTF8 capability"
                )
            international = True
        if not international and not stripped.isascii():
            # Without SMTPUTF8, non-ASCII headers go RFC 2047-encoded, as the stdlib sends them.
            _, _, stripped = _native.prepare_raw(flatten(msg))
        if international:
            mail_options = (*mail_options, "SMTPUTF8", "BODY=8BITMIME")
        return from_addr, to_addrs, stripped, mail_options, rcpt_options

    def _sendmail_many(self, arg_list):
        """Several ``_sendmail_args`` results in one pipelined batch: per item ``(refused,
        final reply)`` or the exception ``sendmail`` would raise."""
        return self._call(lambda: self._conn.sendmail_many(arg_list))

    def close(self):
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def quit(self):
        res = self.docmd("quit")
        self.ehlo_resp = self.helo_resp = None
        self.esmtp_features = {}
        self.does_esmtp = False
        self.close()
        return res


class LMTP(SMTP):
    """LMTP (RFC 2033) over TCP or a Unix-domain socket: LHLO, and after the content one reply
    per recipient, so ``sendmail`` returns those refused at delivery too."""

    ehlo_msg = "lhlo"
    _lmtp = True

    def __init__(
        self, host="", port=LMTP_PORT, local_hostname=None, source_address=None, timeout=socket._GLOBAL_DEFAULT_TIMEOUT
    ):
        super().__init__(host, port, local_hostname=local_hostname, source_address=source_address, timeout=timeout)

    def connect(self, host="localhost", port=0, source_address=None):
        """Connects over TCP, or to the Unix-domain socket at ``host`` when it starts with '/'."""
        if host[:1] != "/":
            return super().connect(host, port, source_address=source_address)
        if self.timeout is not None and self.timeout is not socket._GLOBAL_DEFAULT_TIMEOUT and not self.timeout:
            raise ValueError("Non-blocking socket (timeout=0) is not supported")
        return self._open(host, LMTP_PORT, unix_socket=host)  # the port is not used


class SMTP_SSL(SMTP):
    """SMTP over implicit TLS (port 465). Without ``context`` the certificate is verified."""

    default_port = SMTP_SSL_PORT
    _implicit_tls = True

    def __init__(
        self,
        host="",
        port=0,
        local_hostname=None,
        *,
        timeout=socket._GLOBAL_DEFAULT_TIMEOUT,
        source_address=None,
        context=None,
    ):
        self._context = context
        super().__init__(host, port, local_hostname, timeout, source_address)
