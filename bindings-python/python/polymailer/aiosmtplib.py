"""Drop-in for aiosmtplib (3.x–5.x API), on polymailer's engine.

Change ``import aiosmtplib`` to ``from polymailer import aiosmtplib``; ``send()``, the async
``SMTP`` class (``connect``, ``starttls``, ``login``, ``sendmail``, ``send_message``, ``quit``,
``async with``, the single commands) and aiosmtplib's exception classes keep their names,
arguments and return values (``(errors, message)`` from ``sendmail``/``send``).

How it runs: each ``SMTP`` object drives one session of the engine on a worker thread of its
own, so its commands keep their order, concurrent calls on one object queue as they do in
aiosmtplib, and the event loop is never blocked (the engine releases the GIL while it waits for
the server). For many concurrent sends use ``polymailer.Mailer(...).send_async``: it sends on the
engine's runtime over a pool, with no thread per call.

Differences, deliberate: ``socket_path`` and ``sock`` (a connection the caller opened) are
refused with ``ValueError`` — the engine opens its own connections; bad input (CR/LF/NUL in an
address or header, an invalid address) raises ``polymailer.InvalidInputError`` (a
``ValueError``) before anything is sent, as in ``polymailer.smtplib``.
"""

import asyncio
import email.message
import enum
import smtplib as _std
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from . import smtplib as _smtplib
from .errors import InvalidInputError

__all__ = (
    "send",
    "SMTP",
    "SMTPResponse",
    "SMTPStatus",
    "SMTPAuthenticationError",
    "SMTPConnectError",
    "SMTPDataError",
    "SMTPException",
    "SMTPHeloError",
    "SMTPNotSupported",
    "SMTPRecipientRefused",
    "SMTPRecipientsRefused",
    "SMTPResponseException",
    "SMTPSenderRefused",
    "SMTPServerDisconnected",
    "SMTPTimeoutError",
    "SMTPConnectTimeoutError",
    "SMTPReadTimeoutError",
    "SMTPConnectResponseError",
)

DEFAULT_TIMEOUT = 60


class SMTPResponse(NamedTuple):
    """A reply: ``code`` and ``message`` (lines joined by newlines)."""

    code: int
    message: str

    def __str__(self):
        return "{0.code} {0.message}".format(self)


class SMTPStatus(enum.IntEnum):
    invalid_response = -1
    system_status_ok = 211
    help_message = 214
    ready = 220
    closing = 221
    auth_successful = 235
    completed = 250
    will_forward = 251
    cannot_vrfy = 252
    auth_continue = 334
    start_input = 354
    domain_unavailable = 421
    mailbox_unavailable = 450
    error_processing = 451
    insufficient_storage = 452
    tls_not_available = 454
    unrecognized_command = 500
    unrecognized_parameters = 501
    command_not_implemented = 502
    bad_command_sequence = 503
    parameter_not_implemented = 504
    domain_does_not_accept_mail = 521
    access_denied = 530
    auth_failed = 535
    mailbox_does_not_exist = 550
    user_not_local = 551
    storage_exceeded = 552
    mailbox_name_invalid = 553
    transaction_failed = 554
    syntax_error = 555


# aiosmtplib's exception tree (same names, bases and attributes).
class SMTPException(Exception):
    def __init__(self, message, /):
        self.message = message
        self.args = (message,)


class SMTPServerDisconnected(SMTPException, ConnectionError):
    pass


class SMTPConnectError(SMTPException, ConnectionError):
    pass


class SMTPTimeoutError(SMTPException, TimeoutError):
    pass


class SMTPConnectTimeoutError(SMTPTimeoutError, SMTPConnectError):
    pass


class SMTPReadTimeoutError(SMTPTimeoutError):
    pass


class SMTPNotSupported(SMTPException):
    pass


class SMTPResponseException(SMTPException):
    def __init__(self, code, message, /):
        self.code = code
        self.message = message
        self.args = (code, message)


class SMTPConnectResponseError(SMTPResponseException, SMTPConnectError):
    pass


class SMTPHeloError(SMTPResponseException):
    pass


class SMTPDataError(SMTPResponseException):
    pass


class SMTPAuthenticationError(SMTPResponseException):
    pass


class SMTPSenderRefused(SMTPResponseException):
    def __init__(self, code, message, sender, /):
        self.code = code
        self.message = message
        self.sender = sender
        self.args = (code, message, sender)


class SMTPRecipientRefused(SMTPResponseException):
    def __init__(self, code, message, recipient, /):
        self.code = code
        self.message = message
        self.recipient = recipient
        self.args = (code, message, recipient)


class SMTPRecipientsRefused(SMTPException):
    def __init__(self, recipients, /):
        self.recipients = recipients
        self.args = (recipients,)


def _text(msg):
    return msg.decode("utf-8", "replace") if isinstance(msg, (bytes, bytearray)) else str(msg)


def _response(reply):
    code, msg = reply
    return SMTPResponse(code, _text(msg))


def _translate(exc, connecting):
    """The engine's (stdlib-class) exception as the aiosmtplib class for the same case."""
    if isinstance(exc, InvalidInputError) or isinstance(exc, (SMTPException, ValueError, TypeError)):
        return exc
    if isinstance(exc, _std.SMTPRecipientsRefused):
        new = SMTPRecipientsRefused(
            [SMTPRecipientRefused(code, _text(msg), rcpt) for rcpt, (code, msg) in exc.recipients.items()]
        )
    elif isinstance(exc, _std.SMTPSenderRefused):
        new = SMTPSenderRefused(exc.smtp_code, _text(exc.smtp_error), exc.sender)
    elif isinstance(exc, _std.SMTPConnectError):
        new = SMTPConnectResponseError(exc.smtp_code, _text(exc.smtp_error))
    elif isinstance(exc, _std.SMTPResponseException):
        cls = {
            _std.SMTPHeloError: SMTPHeloError,
            _std.SMTPDataError: SMTPDataError,
            _std.SMTPAuthenticationError: SMTPAuthenticationError,
        }.get(type(exc), SMTPResponseException)
        new = cls(exc.smtp_code, _text(exc.smtp_error))
    elif isinstance(exc, _std.SMTPNotSupportedError):
        new = SMTPNotSupported(str(exc))
    elif isinstance(exc, _std.SMTPServerDisconnected):
        new = SMTPServerDisconnected(str(exc))
    elif isinstance(exc, TimeoutError):
        new = (SMTPConnectTimeoutError if connecting else SMTPReadTimeoutError)(str(exc) or "Timed out")
    elif isinstance(exc, ssl.SSLError):
        return exc  # aiosmtplib lets the ssl module's errors through too
    elif isinstance(exc, _std.SMTPException):
        new = SMTPException(str(exc))
    elif isinstance(exc, OSError) and connecting:
        new = SMTPConnectError("Error connecting to the server: %s" % exc)
    else:
        return exc
    for attr in ("kind", "stage", "enhanced_status", "transient"):
        if hasattr(exc, attr):
            setattr(new, attr, getattr(exc, attr))
    return new


_SETTINGS = (
    "hostname",
    "port",
    "username",
    "password",
    "oauth_token_generator",
    "local_hostname",
    "source_address",
    "timeout",
    "use_tls",
    "start_tls",
    "validate_certs",
    "client_cert",
    "client_key",
    "tls_context",
    "cert_bundle",
    "socket_path",
    "sock",
)


class SMTP:
    """An SMTP client, as ``aiosmtplib.SMTP``."""

    def __init__(
        self,
        *,
        hostname=None,
        port=None,
        username=None,
        password=None,
        oauth_token_generator=None,
        local_hostname=None,
        source_address=None,
        timeout=DEFAULT_TIMEOUT,
        use_tls=False,
        start_tls=None,
        validate_certs=True,
        client_cert=None,
        client_key=None,
        tls_context=None,
        cert_bundle=None,
        socket_path=None,
        sock=None,
    ):
        self.hostname = hostname or "localhost"
        self.port = port
        self.username = username
        self.password = password
        self.oauth_token_generator = oauth_token_generator
        self.local_hostname = local_hostname
        self.source_address = source_address
        self.timeout = timeout
        self.use_tls = use_tls
        self._start_tls_on_connect = start_tls
        self.validate_certs = validate_certs
        self.client_cert = client_cert
        self.client_key = client_key
        self.tls_context = tls_context
        self.cert_bundle = cert_bundle
        self.socket_path = socket_path
        self.sock = sock
        self._session = None
        self._worker = None
        self._queued = []
        self._queue_lock = threading.Lock()
        self._draining = False
        self._lock = None
        self.last_ehlo_response = None
        self._validate()

    def _validate(self):
        if self.socket_path is not None or self.sock is not None:
            raise ValueError("polymailer.aiosmtplib: socket_path and sock are not supported (the engine connects)")
        if self.use_tls and self._start_tls_on_connect:
            raise ValueError("The start_tls and use_tls options are not compatible.")
        if self.tls_context is not None and (self.client_cert or self.client_key):
            raise ValueError("Either a TLS context or a certificate/key must be provided")
        if self.password is not None and self.oauth_token_generator is not None:
            raise ValueError("password and oauth_token_generator are mutually exclusive")

    # -- plumbing -------------------------------------------------------------------------

    async def _run(self, fn, *args, connecting=False):
        """Runs one blocking engine call on this object's worker thread, in call order."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), fn, *args)
        except BaseException as exc:
            new = _translate(exc, connecting)
            if new is exc:
                raise
            raise new from None

    def _executor(self):
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="polymailer-aiosmtplib")
        return self._worker

    def _need_session(self):
        if self._session is None or self._session._conn is None:
            raise SMTPServerDisconnected("Not connected to SMTP server")
        return self._session

    def _context(self, tls_context=None, validate_certs=None, client_cert=None, client_key=None, cert_bundle=None):
        if tls_context is not None:
            return tls_context
        validate = self.validate_certs if validate_certs is None else validate_certs
        ctx = ssl.create_default_context(cafile=cert_bundle)
        if not validate:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if client_cert:
            ctx.load_cert_chain(client_cert, keyfile=client_key)
        return ctx

    async def __aenter__(self):
        if not self.is_connected:
            await self.connect()
        return self

    async def __aexit__(self, exc_type, exc, tb):
        if isinstance(exc, (ConnectionError, TimeoutError)):
            self.close()
            return
        try:
            await self.quit()
        except (SMTPServerDisconnected, SMTPResponseException, SMTPTimeoutError):
            pass
        finally:
            self.close()

    @property
    def is_connected(self):
        return self._session is not None and self._session._conn is not None

    @property
    def is_ehlo_or_helo_needed(self):
        s = self._session
        return s is None or (getattr(s, "ehlo_resp", None) is None and getattr(s, "helo_resp", None) is None)

    @property
    def supported_auth_methods(self):
        s = self._session
        return [m.lower() for m in (s.esmtp_features.get("auth", "") if s else "").split()]

    @property
    def esmtp_extensions(self):
        return dict(self._session.esmtp_features) if self._session else {}

    def supports_extension(self, extension, /):
        return self._session is not None and extension.lower() in self._session.esmtp_features

    # -- connection -------------------------------------------------------------------------

    async def connect(self, **kwargs):
        """Connects, says EHLO, upgrades with STARTTLS (when ``start_tls`` is true, or when the
        server offers it and ``start_tls`` is None) and logs in when a username was given.
        Returns the server's greeting."""
        unknown = set(kwargs) - set(_SETTINGS)
        if unknown:
            raise TypeError("connect() got unexpected keyword arguments: %s" % ", ".join(sorted(unknown)))
        for key, value in kwargs.items():
            if key == "start_tls":
                self._start_tls_on_connect = value
            elif key in ("use_tls", "validate_certs") and value is None:
                continue
            else:
                setattr(self, key, value)
        self._validate()
        port = self.port or (465 if self.use_tls else 587 if self._start_tls_on_connect else 25)
        timeout = socket._GLOBAL_DEFAULT_TIMEOUT if self.timeout is None else self.timeout
        local = self.local_hostname

        def open_session():
            if self.use_tls:
                context = self._context(self.tls_context, None, self.client_cert, self.client_key, self.cert_bundle)
                s = _smtplib.SMTP_SSL(local_hostname=local, timeout=timeout, context=context)
            else:
                s = _smtplib.SMTP(local_hostname=local, timeout=timeout, source_address=self.source_address)
            code, msg = s.connect(self.hostname, port, self.source_address)
            if code != 220:
                s.close()
                raise _std.SMTPConnectError(code, msg)
            return s, (code, msg)

        self._session, greeting = await self._run(open_session, connecting=True)
        await self._ehlo_or_helo_if_needed()
        if not self.use_tls and self._start_tls_on_connect is not False:
            if self._start_tls_on_connect or self.supports_extension("starttls"):
                await self.starttls()
        if self.username is not None and (self.password is not None or self.oauth_token_generator):
            if self.oauth_token_generator is not None:
                await self.auth_xoauth2(self.username, await self.oauth_token_generator())
            else:
                await self.login(self.username, self.password)
        return _response(greeting)

    def close(self):
        """Closes the connection without QUIT."""
        session, self._session = self._session, None
        if session is not None:
            session.close()
        self.last_ehlo_response = None

    async def quit(self, timeout=None):
        s = self._need_session()
        reply = await self._run(s.docmd, "QUIT")
        self.close()
        if reply[0] != 221:
            raise SMTPResponseException(reply[0], _text(reply[1]))
        return _response(reply)

    # -- commands ---------------------------------------------------------------------------

    async def execute_command(self, *args, timeout=None):
        """Sends one command (its parts joined by spaces) and returns the reply."""
        line = b" ".join(a if isinstance(a, bytes) else str(a).encode("ascii") for a in args).decode("ascii")
        s = self._need_session()
        return _response(await self._run(s.docmd, line))

    async def _simple(self, line, ok=(250,)):
        s = self._need_session()
        reply = _response(await self._run(s.docmd, line))
        if reply.code not in ok:
            raise SMTPResponseException(reply.code, reply.message)
        return reply

    async def ehlo(self, hostname=None, timeout=None):
        s = self._need_session()
        reply = _response(await self._run(s.ehlo, hostname or ""))
        if reply.code != 250:
            raise SMTPHeloError(reply.code, reply.message)
        self.last_ehlo_response = reply
        return reply

    async def helo(self, hostname=None, timeout=None):
        s = self._need_session()
        reply = _response(await self._run(s.helo, hostname or ""))
        if reply.code != 250:
            raise SMTPHeloError(reply.code, reply.message)
        return reply

    async def _ehlo_or_helo_if_needed(self):
        if self.is_ehlo_or_helo_needed:
            try:
                await self.ehlo()
            except SMTPHeloError as exc:
                if exc.code >= 500:  # a server without ESMTP
                    await self.helo()
                else:
                    raise

    async def help(self, timeout=None):
        return (await self._simple("HELP", ok=(211, 214))).message

    async def rset(self, timeout=None):
        return await self._simple("RSET")

    async def noop(self, timeout=None):
        return await self._simple("NOOP")

    async def vrfy(self, address, /, *, options=None, timeout=None):
        return await self._simple(" ".join(["VRFY", _std.quoteaddr(address), *(options or ())]), ok=(250, 251, 252))

    async def expn(self, address, /, *, options=None, timeout=None):
        return await self._simple(" ".join(["EXPN", _std.quoteaddr(address), *(options or ())]))

    async def mail(self, sender, /, *, options=None, encoding="ascii", timeout=None):
        await self._ehlo_or_helo_if_needed()
        s = self._need_session()
        reply = _response(await self._run(s.mail, sender, list(options or ())))
        if reply.code != 250:
            raise SMTPSenderRefused(reply.code, reply.message, sender)
        return reply

    async def rcpt(self, recipient, /, *, options=None, encoding="ascii", timeout=None):
        await self._ehlo_or_helo_if_needed()
        s = self._need_session()
        reply = _response(await self._run(s.rcpt, recipient, list(options or ())))
        if reply.code not in (250, 251):
            raise SMTPRecipientRefused(reply.code, reply.message, recipient)
        return reply

    async def data(self, message, /, *, timeout=None):
        await self._ehlo_or_helo_if_needed()
        s = self._need_session()
        if isinstance(message, str):
            message = message.encode("ascii")
        reply = _response(await self._run(s.data, message))
        if reply.code != 250:
            raise SMTPDataError(reply.code, reply.message)
        return reply

    async def starttls(
        self,
        *,
        server_hostname=None,
        validate_certs=None,
        client_cert=None,
        client_key=None,
        cert_bundle=None,
        tls_context=None,
        timeout=None,
    ):
        """STARTTLS; the certificate is verified unless ``validate_certs=False``."""
        await self._ehlo_or_helo_if_needed()
        if not self.supports_extension("starttls"):
            raise SMTPException("SMTP STARTTLS extension not supported by server.")
        context = self._context(
            tls_context or self.tls_context,
            validate_certs,
            client_cert or self.client_cert,
            client_key or self.client_key,
            cert_bundle or self.cert_bundle,
        )
        s = self._need_session()
        reply = _response(await self._run(lambda: s.starttls(context=context)))
        self.last_ehlo_response = None
        await self.ehlo()
        return reply

    async def login(self, username, password, /, *, timeout=None):
        await self._ehlo_or_helo_if_needed()
        if not self.supports_extension("auth"):
            raise SMTPException("SMTP AUTH extension not supported by server.")
        s = self._need_session()
        username = username.decode() if isinstance(username, bytes) else username
        password = password.decode() if isinstance(password, bytes) else password
        return _response(await self._run(s.login, username, password))

    async def auth_xoauth2(self, username, access_token, /, *, timeout=None):
        await self._ehlo_or_helo_if_needed()
        s = self._need_session()
        return _response(await self._run(s.auth_xoauth2, username, access_token))

    # -- transactions -------------------------------------------------------------------------

    async def _transaction(self, build):
        """Queues one transaction for this object's worker, which sends what is queued as one
        pipelined batch (one round trip per message) while later calls are still being built."""
        await self._ehlo_or_helo_if_needed()
        s = self._need_session()
        try:
            args = build(s)
        except Exception as exc:
            new = _translate(exc, False)
            if new is exc:
                raise
            raise new from None
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._queue_lock:
            self._queued.append((args, future))
            start, self._draining = not self._draining, True
        if start:
            self._executor().submit(self._drain, s, loop)
        refused, reply = await future
        errors = {rcpt: SMTPResponse(code, _text(msg)) for rcpt, (code, msg) in refused.items()}
        return errors, _response(reply).message

    def _drain(self, s, loop):
        """On the worker: sends the queued transactions, batch after batch, until none is left."""
        while True:
            with self._queue_lock:
                batch, self._queued = self._queued, []
                if not batch:
                    self._draining = False
                    return
            try:
                results = s._sendmail_many([args for args, _ in batch])
            except BaseException as exc:
                results = [exc] * len(batch)
            loop.call_soon_threadsafe(self._settle, batch, results)

    @staticmethod
    def _settle(batch, results):
        for (_, future), result in zip(batch, results):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(_translate(result, False))
            else:
                future.set_result(result)

    async def sendmail(self, sender, recipients, message, /, *, mail_options=None, rcpt_options=None, timeout=None):
        """One transaction. Returns ``({refused recipient: SMTPResponse}, final reply text)``;
        every recipient refused raises ``SMTPRecipientsRefused``."""
        if isinstance(recipients, str):
            recipients = [recipients]
        mail, rcpt = list(mail_options or ()), list(rcpt_options or ())
        return await self._transaction(lambda s: s._sendmail_args(sender, list(recipients), message, mail, rcpt))

    async def send_message(
        self, message, /, *, sender=None, recipients=None, mail_options=None, rcpt_options=None, timeout=None
    ):
        """An ``email.message.Message`` with its envelope from the headers (Sender/From,
        To/Cc/Bcc, Resent-*); Bcc is not transmitted."""
        if isinstance(recipients, str):
            recipients = [recipients]
        mail, rcpt = list(mail_options or ()), list(rcpt_options or ())
        return await self._transaction(
            lambda s: s._sendmail_args(*s._message_args(message, sender, recipients, mail, rcpt))
        )

    def sendmail_sync(self, *args, **kwargs):
        async def run():
            async with self:
                return await self.sendmail(*args, **kwargs)

        return asyncio.run(run())

    def send_message_sync(self, *args, **kwargs):
        async def run():
            async with self:
                return await self.send_message(*args, **kwargs)

        return asyncio.run(run())


async def send(
    message,
    /,
    *,
    sender=None,
    recipients=None,
    mail_options=None,
    rcpt_options=None,
    hostname="localhost",
    port=None,
    **kwargs,
):
    """Connects, sends one message, quits: ``aiosmtplib.send``. ``message`` is an
    ``email.message.Message`` (envelope from its headers unless given) or ``str``/``bytes``
    (then ``sender`` and ``recipients`` are required)."""
    if not isinstance(message, email.message.Message) and (not sender or not recipients):
        raise ValueError("Message must be a Message object, or sender and recipients must be provided")
    client = SMTP(hostname=hostname, port=port, **kwargs)
    async with client:
        if isinstance(message, email.message.Message):
            return await client.send_message(
                message, sender=sender, recipients=recipients, mail_options=mail_options, rcpt_options=rcpt_options
            )
        return await client.sendmail(sender, recipients, message, mail_options=mail_options, rcpt_options=rcpt_options)
