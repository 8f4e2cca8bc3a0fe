"""Deliverability checks and DKIM keys, computed by the engine (one implementation for every
language and the ``polymailer`` command); this module only gives the report Python types."""

import asyncio
import json
from dataclasses import dataclass, field
from typing import List, Optional

from . import _native

STATUSES = ("pass", "warn", "missing", "fail", "error")


@dataclass(frozen=True)
class Finding:
    check: str  # "mx", "spf", "spf_lookups", "spf_ip", "dkim", "dkim_key_match", "dmarc", ...
    subject: str  # the name looked up, or "IP in zone" for a blacklist
    status: str  # one of STATUSES
    record: Optional[str]
    detail: str
    fix: Optional[str]

    @property
    def ok(self):
        return self.status in ("pass", "warn")


@dataclass(frozen=True)
class DomainReport:
    domain: str
    ok: bool  # no fail, no error, no missing MX/SPF/DMARC/DKIM
    elapsed: float  # seconds
    findings: List[Finding] = field(default_factory=list)
    table: str = field(default="", repr=False, compare=False)

    def __getitem__(self, check):
        """The findings of one check: ``report["dkim"]`` (a list; empty when not run)."""
        return [f for f in self.findings if f.check == check]

    def __str__(self):
        return self.table


def _report(result):
    data, table = result
    d = json.loads(data)
    return DomainReport(
        domain=d["domain"],
        ok=d["ok"],
        elapsed=d["elapsed_ms"] / 1000,
        findings=[Finding(**f) for f in d["findings"]],
        table=table,
    )


def check_domain(domain, *, dkim=None, **options):
    """Checks ``domain`` as a sending domain. Options: ``selector`` (str or list), ``ip``,
    ``host``, ``envelope_domain``, ``dnsbl`` / ``domain_dnsbl`` (zone lists; none is asked unless
    given), ``nameserver`` (``"127.0.0.1:5353"``; default the system resolver), ``timeout``
    (seconds per answer), ``tcp``, ``probe_starttls`` (connect to the MX hosts; ``probe_port``);
    ``dkim`` as ``Mailer`` takes it (the published key must match).
    Bad input raises ``InvalidInputError``; a resolver that answers nothing, ``TimeoutError``."""
    if dkim is not None:
        options["dkim"] = dkim
    return _report(_native.check_domain(domain, options))


async def check_domain_async(domain, **options):
    """``check_domain`` for asyncio: the loop keeps running while the lookups do."""
    return await asyncio.get_running_loop().run_in_executor(None, lambda: check_domain(domain, **options))


@dataclass(frozen=True)
class DkimKey:
    algorithm: str
    bits: int
    private_key_pem: str = field(repr=False)
    record_name: str
    record_value: str
    record_strings: List[str]
    zone_line: str


def dkim_keygen(domain, selector, algorithm="rsa"):
    """A new DKIM key pair (``"rsa"`` 2048 bits, ``"rsa3072"``, ``"rsa4096"``, ``"ed25519"``)
    and the TXT record to publish on ``selector._domainkey.domain``."""
    return DkimKey(**_native.dkim_keygen(domain, selector, algorithm))


def cli():
    """The ``polymailer`` console script."""
    import sys

    sys.exit(_native.cli_main(["polymailer", *sys.argv[1:]]))
