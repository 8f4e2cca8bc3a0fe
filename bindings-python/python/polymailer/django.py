"""A Django email backend on polymailer's engine.

``EMAIL_BACKEND = "polymailer.django.EmailBackend"`` — it reads the settings Django's SMTP backend
reads (``EMAIL_HOST``, ``EMAIL_PORT``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD``,
``EMAIL_USE_TLS``, ``EMAIL_USE_SSL``, ``EMAIL_TIMEOUT``, ``EMAIL_SSL_CERTFILE``,
``EMAIL_SSL_KEYFILE``) and takes the same arguments in ``get_connection(...)``. Two more, optional:
``POLYMAILER_TLS`` (the ``tls`` option of ``polymailer.Mailer``, e.g. ``{"cafile": ...}`` to trust
a private CA) and ``POLYMAILER_POOL`` (connections open at once, default 1).

``send_messages`` (so ``send_mass_mail``) hands all messages to the engine at once: one
connection, pipelined when the server offers PIPELINING. A plain ``EmailMessage`` /
``EmailMultiAlternatives`` (text or HTML body, an HTML alternative, file attachments, extra
headers other than the address ones) is handed to the engine as fields and built in Rust; any
other message (MIME parts of its own, a subclass with its own ``message()``, another charset) is
built by Django and sent as bytes. Differences from Django's backend:
every message of the batch is attempted; with ``fail_silently=False`` the first failure is raised
after the batch (Django stops at it). Certificates are verified (system roots, or
``POLYMAILER_TLS``) for STARTTLS and implicit TLS, as Django does; with neither TLS setting the
session is plain, and the engine refuses to send a password in clear text to a non-loopback host.
"""

import threading

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage, EmailMultiAlternatives, sanitize_address

import polymailer

__all__ = ["EmailBackend"]


class EmailBackend(BaseEmailBackend):
    def __init__(
        self,
        host=None,
        port=None,
        username=None,
        password=None,
        use_tls=None,
        fail_silently=False,
        use_ssl=None,
        timeout=None,
        ssl_keyfile=None,
        ssl_certfile=None,
        tls=None,
        pool=None,
        **kwargs,
    ):
        super().__init__(fail_silently=fail_silently)
        pick = lambda given, name, default=None: getattr(settings, name, default) if given is None else given  # noqa: E731
        self.host = host or settings.EMAIL_HOST
        self.port = port or settings.EMAIL_PORT
        self.username = pick(username, "EMAIL_HOST_USER")
        self.password = pick(password, "EMAIL_HOST_PASSWORD")
        self.use_tls = pick(use_tls, "EMAIL_USE_TLS")
        self.use_ssl = pick(use_ssl, "EMAIL_USE_SSL")
        self.timeout = pick(timeout, "EMAIL_TIMEOUT")
        self.ssl_keyfile = pick(ssl_keyfile, "EMAIL_SSL_KEYFILE")
        self.ssl_certfile = pick(ssl_certfile, "EMAIL_SSL_CERTFILE")
        self.tls = pick(tls, "POLYMAILER_TLS")
        self.pool = pick(pool, "POLYMAILER_POOL", 1)
        if self.use_ssl and self.use_tls:
            raise ValueError(
                "EMAIL_USE_TLS/EMAIL_USE_SSL are mutually exclusive, so only set one of those settings to True."
            )
        self.connection = None
        self._lock = threading.RLock()

    def open(self):
        """Makes the engine's mailer (it connects on the first send). True when it is new."""
        if self.connection is not None:
            return False
        tls = dict(self.tls or {})
        if self.ssl_certfile:
            tls["certfile"] = self.ssl_certfile
        if self.ssl_keyfile:
            tls["keyfile"] = self.ssl_keyfile
        try:
            self.connection = polymailer.Mailer(
                self.host,
                int(self.port),
                security="tls" if self.use_ssl else "starttls" if self.use_tls else "none",
                username=self.username or None,
                password=self.password or None,
                timeout=self.timeout,
                tls=tls or None,
                pool=int(self.pool),
            )
        except Exception:
            if not self.fail_silently:
                raise
            return False
        return True

    def close(self):
        """QUITs the open connection(s)."""
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:
                if not self.fail_silently:
                    raise

    def send_messages(self, email_messages):
        """Sends the messages and returns how many were sent."""
        if not email_messages:
            return 0
        with self._lock:
            new_connection = self.open()
            if self.connection is None:
                return 0
            try:
                batch = [self._envelope(m) for m in email_messages if m.recipients()]
                results = self.connection.send_many(batch) if batch else []
            finally:
                if new_connection:
                    self.close()
        failures = [r for r in results if isinstance(r, Exception)]
        if failures and not self.fail_silently:
            raise failures[0]
        return len(results) - len(failures)

    @staticmethod
    def _envelope(message):
        fields = _fields(message)
        if fields is not None:
            return polymailer.Message(**fields)
        encoding = message.encoding or settings.DEFAULT_CHARSET
        sender = sanitize_address(message.from_email, encoding)
        recipients = [sanitize_address(a, encoding) for a in message.recipients()]
        return (message.message().as_bytes(linesep="\r\n"), sender, recipients)


_ADDRESS_HEADERS = {"from", "to", "cc", "bcc", "reply-to", "sender", "content-type", "mime-version"}


def _fields(m):
    """The message as ``polymailer.Message`` fields, or None when Django must build it."""
    if type(m) not in (EmailMessage, EmailMultiAlternatives) or (m.encoding or "utf-8").lower() != "utf-8":
        return None
    if settings.DEFAULT_CHARSET.lower() != "utf-8" or m.mixed_subtype != "mixed":
        return None
    if any(k.lower() in _ADDRESS_HEADERS for k in m.extra_headers):
        return None
    addresses = [m.from_email, *m.to, *m.cc, *m.bcc, *m.reply_to]
    header_values = [m.subject, *addresses, *map(str, m.extra_headers.values())]
    if any(not isinstance(v, str) or "\r" in v or "\n" in v for v in header_values):
        return None  # Django's own checks (BadHeaderError) apply
    fields = {"from_": m.from_email, "to": list(m.to), "cc": list(m.cc), "bcc": list(m.bcc), "subject": m.subject}
    if m.reply_to:
        fields["reply_to"] = list(m.reply_to)
    if m.content_subtype == "plain":
        fields["text"] = m.body
    elif m.content_subtype == "html":
        fields["html"] = m.body
    else:
        return None
    alternatives = getattr(m, "alternatives", [])
    if alternatives:
        if len(alternatives) > 1 or m.content_subtype != "plain" or m.alternative_subtype != "alternative":
            return None
        content, mimetype = alternatives[0]
        if mimetype != "text/html" or not isinstance(content, str):
            return None
        fields["html"] = content
    attachments = []
    for a in m.attachments:
        if not isinstance(a, tuple) or len(a) != 3:
            return None  # a MIMEBase part of the caller's
        filename, content, mimetype = a
        if not isinstance(content, (str, bytes)) or not filename:
            return None
        attachments.append({"filename": filename, "content": content, "content_type": mimetype})
    if attachments:
        fields["attachments"] = attachments
    headers = {str(k): str(v) for k, v in m.extra_headers.items()}
    for name, key in (("message-id", "message_id"),):
        for k in list(headers):
            if k.lower() == name:
                fields[key] = headers.pop(k).strip("<>")
    if any(k.lower() == "date" for k in headers):
        return None
    if headers:
        fields["headers"] = headers
    return fields
