"""polymailer: one fast, safe SMTP engine written in Rust.

Drop-in for the standard library::

    from polymailer import smtplib

Native API for new code::

    import polymailer
    mailer = polymailer.Mailer("smtp.example.com", 587, username="me", password="secret")
    report = mailer.send(polymailer.Message(from_="me@example.com", to="you@example.com",
                                            subject="Hi", text="Hello"))
"""

import asyncio as _asyncio

from . import _native, _tls  # noqa: F401  (_tls records what SSLContexts are told to trust)
from ._bounces import BounceEvent, BounceReport, DmarcAggregate, DmarcRecord, VerpAddress, decode_verp, parse_bounce
from ._deliverability import DkimKey, DomainReport, Finding, check_domain, check_domain_async, dkim_keygen
from ._deliverability import _report as _check_report
from ._native import Message, SendReport, service
from .errors import InvalidInputError

__version__ = _native.__version__


def _settle(future, report, error):
    if not future.done():  # a cancelled await leaves the send running; its outcome is dropped
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(report)


class Mailer(_native.Mailer):
    """Sends over a pool of connections (``pool=`` at most open at once).

    ``security``: ``"none"``, ``"opportunistic"`` (default, STARTTLS when offered), ``"starttls"``
    (required) or ``"tls"`` (implicit, default on port 465). ``tls``: ``{"cafile": ...,
    "cadata": [...], "verify": True, "check_hostname": True}``. ``dkim``: ``{"domain", "selector",
    "private_key" (PEM) or "private_key_file"}``. ``rate_limit``: ``(messages, seconds)``.
    ``verp``: ``{"domain", "secret", "prefix"}`` — each recipient gets its own envelope sender
    ``bounces+alice=example.com-…@domain`` (one transaction each); read bounces back with
    ``parse_bounce(raw, verp_secret=...)``. Messages may be ``polymailer.Message``, stdlib
    ``email.message.Message`` or bytes.
    """

    @classmethod
    def for_service(cls, name, **options):
        """A mailer for a known provider (``"Gmail"``, ``"SendGrid"``, ``"SES-EU-WEST-1"``, or an
        address such as ``"me@gmail.com"``): host, port and security from the engine's table;
        ``username=``, ``password=`` and the other options as ``Mailer`` takes them. An unknown
        name raises ``InvalidInputError`` listing the known ones."""
        s = _native.service(name)
        return cls(s["host"], s["port"], **{"security": s["security"], **options})

    async def send_async(self, message):
        """``send`` for asyncio. The message is built on the calling thread, then sent on the
        engine's own runtime: no Python thread waits for the server, the event loop keeps running,
        and concurrent calls share the pool (``pool=`` connections, pipelined when offered)."""
        loop = _asyncio.get_running_loop()
        future = loop.create_future()

        def done(report, error):
            try:
                loop.call_soon_threadsafe(_settle, future, report, error)
            except RuntimeError:  # the loop was closed before the server answered
                pass

        self._send_callback(message, done)
        return await future

    async def send_many_async(self, messages):
        """Every message concurrently; a SendReport, or the exception (not raised), per message."""
        return list(await _asyncio.gather(*(self.send_async(m) for m in messages), return_exceptions=True))

    def preflight(self, domain=None, **options):
        """Checks the domain this mailer sends as: its DKIM key (published and matching), its
        server as the sending host (SPF), and ``domain`` (default: the DKIM domain) for MX, SPF,
        DMARC alignment, MTA-STS, TLS-RPT; options as ``check_domain`` takes them."""
        return _check_report(self._preflight(domain, options))

    async def preflight_async(self, domain=None, **options):
        return await _asyncio.get_running_loop().run_in_executor(None, lambda: self.preflight(domain, **options))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


__all__ = [
    "Mailer",
    "Message",
    "SendReport",
    "InvalidInputError",
    "service",
    "check_domain",
    "check_domain_async",
    "dkim_keygen",
    "DomainReport",
    "Finding",
    "DkimKey",
    "parse_bounce",
    "decode_verp",
    "BounceReport",
    "BounceEvent",
    "DmarcAggregate",
    "DmarcRecord",
    "VerpAddress",
]
