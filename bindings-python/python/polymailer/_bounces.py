"""Bounces (DSN), complaints (ARF), DMARC aggregate reports and VERP, parsed by the engine (one
implementation for every language and ``polymailer parse-bounce``); this module only gives the
report Python types."""

import json
import os
from dataclasses import dataclass, field
from typing import List, Optional

from . import _native


@dataclass(frozen=True)
class VerpAddress:
    address: str
    prefix: str
    recipient: str  # whom the bounce is about
    message_tag: str  # 8 characters of the Message-ID's SHA-256
    verified: bool  # made with this secret (False without a secret: decoded, not checked)


@dataclass(frozen=True)
class BounceEvent:
    recipient: Optional[str]
    original_recipient: Optional[str]
    action: str  # failed, delayed, delivered, relayed, expanded, complaint
    status: Optional[str]  # enhanced status code, "5.1.1"
    bounce_class: Optional[str]  # "hard", "soft", or None (delivered, complaint)
    smtp_code: Optional[int]
    diagnostic: Optional[str]
    remote_mta: Optional[str]
    original_message_id: Optional[str]
    verp: Optional[VerpAddress]
    message_matches: Optional[bool]  # the VERP tag matches original_message_id
    feedback_type: Optional[str]  # ARF: abuse, fraud, virus, other, not-spam, auth-failure
    source_ip: Optional[str]
    user_agent: Optional[str]


@dataclass(frozen=True)
class DmarcRecord:
    source_ip: Optional[str]
    count: int
    disposition: str
    dkim: str
    spf: str
    header_from: str
    envelope_from: str
    dkim_domains: List[str]
    spf_domains: List[str]


@dataclass(frozen=True)
class DmarcAggregate:
    org_name: str
    email: str
    report_id: str
    domain: str
    policy: str
    begin: int
    end: int
    messages: int
    passed: int
    records: List[DmarcRecord]


@dataclass(frozen=True)
class BounceReport:
    kind: str  # "dsn", "arf", "dmarc", or "none" (not a report; see note)
    standard: bool  # False: a bounce recognised from its text
    reporting_mta: Optional[str]
    original_envelope_id: Optional[str]
    subject: Optional[str]
    events: List[BounceEvent] = field(default_factory=list)
    dmarc: Optional[DmarcAggregate] = None
    note: Optional[str] = None
    table: str = field(default="", repr=False, compare=False)

    def __bool__(self):
        """True for a DSN, ARF or DMARC report."""
        return self.kind != "none"

    def __str__(self):
        return self.table


def _verp(d):
    return VerpAddress(**d) if d else None


def _event(e):
    return BounceEvent(**{**e, "verp": _verp(e["verp"])})


def _dmarc(d):
    if not d:
        return None
    return DmarcAggregate(**{**d, "records": [DmarcRecord(**r) for r in d["records"]]})


def parse_bounce(raw, *, verp_secret=None, max_size=None):
    """Parses a bounce, a complaint or a DMARC aggregate report: ``raw`` is the message as bytes
    or str (a DMARC report may also be the XML, gzip or zip file's bytes), or an
    ``email.message.Message``. Never raises for bad input: a message that is not a report comes
    back with ``kind == "none"`` and a ``note``. ``verp_secret`` verifies VERP addresses."""
    if hasattr(raw, "as_bytes"):
        raw = raw.as_bytes()
    elif isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    elif isinstance(raw, os.PathLike):
        raise TypeError("parse_bounce takes the message's bytes; read the file first")
    data, table = _native.parse_bounce(bytes(raw), verp_secret, max_size)
    d = json.loads(data)
    return BounceReport(
        **{**d, "events": [_event(e) for e in d["events"]], "dmarc": _dmarc(d["dmarc"]), "table": table}
    )


def decode_verp(address, secret=None):
    """``bounces+alice=example.com-<tag>-<mac>@domain`` → a VerpAddress (``verified`` only with
    the secret that made it), or None when the address is not a VERP address."""
    return _verp(json.loads(_native.decode_verp(address, secret)))
