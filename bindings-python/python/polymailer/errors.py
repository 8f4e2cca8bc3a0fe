"""polymailer's exceptions: smtplib's own classes, so ``except smtplib.SMTPException`` clauses
catch what polymailer raises whichever module they imported, plus ``InvalidInputError`` for input
refused before any connection (a ``ValueError`` too).

Every exception raised by polymailer also carries ``kind`` (e.g. ``"auth"``), ``stage`` (e.g.
``"rcpt"``), ``enhanced_status`` (``"5.1.1"`` or None) and ``transient`` (bool).
"""

from smtplib import (
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
)


class InvalidInputError(SMTPException, ValueError):
    """Bad input (CR/LF in a header, an invalid address, an unreadable attachment): nothing was sent."""


__all__ = [
    "InvalidInputError",
    "SMTPAuthenticationError",
    "SMTPConnectError",
    "SMTPDataError",
    "SMTPException",
    "SMTPHeloError",
    "SMTPNotSupportedError",
    "SMTPRecipientsRefused",
    "SMTPResponseException",
    "SMTPSenderRefused",
    "SMTPServerDisconnected",
]
