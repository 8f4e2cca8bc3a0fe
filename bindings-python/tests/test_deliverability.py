"""check_domain, Mailer.preflight, dkim_keygen and the polymailer console script against a real
DNS server (dnsmasq serving tests/dns/zone.conf on 127.0.0.1)."""

import asyncio
import json
import os
import shutil
import subprocess
import sys

import pytest
from dns_server import DnsServer

import polymailer

BIN = os.path.join(os.path.dirname(sys.executable), "polymailer")


@pytest.fixture(scope="module")
def dns(certs):
    with DnsServer(certs) as server:
        yield server


def opts(dns, **extra):
    return {"nameserver": "127.0.0.1:%d" % dns.port, "timeout": 2, **extra}


def key_file(dns, name="dkim-rsa.pkcs8.pem"):
    return os.path.join(dns.certs, name)


def test_good_domain(dns):
    r = polymailer.check_domain(
        "good.test",
        dkim={"domain": "good.test", "selector": "s1", "private_key_file": key_file(dns)},
        **opts(dns, ip="192.0.2.10", dnsbl=["bl.test"], selector=["ed"]),
    )
    assert r.ok, str(r)
    statuses = {(f.check, f.subject): f.status for f in r.findings}
    assert statuses[("dkim_key_match", "s1._domainkey.good.test")] == "pass"
    assert statuses[("dkim", "ed._domainkey.good.test")] == "pass"
    assert statuses[("spf_ip", "192.0.2.10")] == "pass"
    assert statuses[("dnsbl", "192.0.2.10 in bl.test")] == "pass"
    assert r["spf_lookups"][0].detail == "1 of 10 DNS lookups"
    assert "good.test" in str(r) and "dkim_key_match" in str(r)


@pytest.mark.parametrize(
    "domain, check, status",
    [
        ("nospf.test", "spf", "missing"),
        ("nospf.test", "dmarc", "warn"),
        ("twospf.test", "spf", "fail"),
        ("toomany.test", "spf_lookups", "fail"),
        ("soft.test", "spf", "warn"),
        ("nomx.test", "mx", "missing"),
        ("deadmx.test", "mx", "fail"),
    ],
)
def test_zone_cases(dns, domain, check, status):
    r = polymailer.check_domain(domain, **opts(dns))
    assert [f.status for f in r[check]] == [status], str(r)


def test_listed_and_blocked(dns):
    r = polymailer.check_domain("good.test", **opts(dns, ip="192.0.2.66", dnsbl=["bl.test", "blocked.test"]))
    by_zone = {f.subject: f for f in r["dnsbl"]}
    assert by_zone["192.0.2.66 in bl.test"].status == "fail"
    assert "listed for testing" in by_zone["192.0.2.66 in bl.test"].detail
    assert by_zone["192.0.2.66 in blocked.test"].status == "error"
    assert not r.ok


def test_preflight_uses_the_mailers_dkim_key(dns):
    signing = {"domain": "mismatch.test", "selector": "s1", "private_key_file": key_file(dns)}
    mailer = polymailer.Mailer("mail.good.test", 587, dkim=signing)
    r = mailer.preflight(**opts(dns))
    assert r.domain == "mismatch.test"
    assert [f.status for f in r["dkim_key_match"]] == ["fail"]
    # The mailer's server is the sending host: mail.good.test's address is in good.test's SPF.
    r = polymailer.Mailer("mail.good.test", 587, dkim={**signing, "domain": "good.test"}).preflight(**opts(dns))
    assert [f.status for f in r["spf_ip"]] == ["pass"], str(r)
    assert [f.status for f in r["dkim_key_match"]] == ["pass"]
    with pytest.raises(polymailer.InvalidInputError):
        polymailer.Mailer("mail.good.test", 587).preflight(**opts(dns))


def test_async(dns):
    r = asyncio.run(polymailer.check_domain_async("good.test", **opts(dns)))
    assert r["dmarc"][0].status == "pass"


def test_bad_input_and_dead_resolver(dns):
    for bad in [{"ip": "1.2.3"}, {"nameserver": "nowhere"}, {"timeout": -1}, {"frobnicate": 1}]:
        with pytest.raises(polymailer.InvalidInputError):
            polymailer.check_domain("good.test", **opts(dns, **bad))
    with pytest.raises(polymailer.InvalidInputError):
        polymailer.check_domain("not a domain", **opts(dns))
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        with pytest.raises(TimeoutError) as e:
            polymailer.check_domain("good.test", nameserver="127.0.0.1:%d" % silent.getsockname()[1], timeout=0.5)
        assert e.value.kind == "timeout" and e.value.stage == "dns"


def test_keygen_roundtrip(dns):
    for algorithm, bits in [("rsa", 2048), ("ed25519", 256)]:
        key = polymailer.dkim_keygen("example.test", "k1", algorithm)
        assert key.bits == bits and key.record_name == "k1._domainkey.example.test"
        assert all(len(s) <= 255 for s in key.record_strings)
        assert "".join(key.record_strings) == key.record_value
        assert "PRIVATE" not in repr(key)
        # The key signs: a mailer accepts it.
        polymailer.Mailer(
            "localhost", 25, dkim={"domain": "example.test", "selector": "k1", "private_key": key.private_key_pem}
        )
    with pytest.raises(polymailer.InvalidInputError):
        polymailer.dkim_keygen("example.test", "k1", "dsa")


def test_console_script(dns, tmp_path):
    assert os.path.exists(BIN), "maturin develop installs the console script"
    ns = ["--nameserver", "127.0.0.1:%d" % dns.port, "--timeout", "2"]
    run = lambda *a: subprocess.run([BIN, *a], capture_output=True, text=True)  # noqa: E731
    ok = run("check", "good.test", *ns, "--ip", "192.0.2.10", "--no-dnsbl")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "no problems found" in ok.stdout and "\x1b[" not in ok.stdout
    bad = run("check", "twospf.test", *ns, "--json")
    assert bad.returncode == 1
    assert [f["status"] for f in json.loads(bad.stdout)["findings"] if f["check"] == "spf"] == ["fail"]
    assert run("check", "bad domain", *ns).returncode == 2
    keyfile = tmp_path / "k.pem"
    gen = run("dkim", "keygen", "-d", "good.test", "-s", "new", "-a", "ed25519", "-o", str(keyfile), "--json")
    assert gen.returncode == 0, gen.stderr
    assert oct(keyfile.stat().st_mode & 0o777) == "0o600"
    assert json.loads(gen.stdout)["record_name"] == "new._domainkey.good.test"
    if shutil.which("openssl"):
        subprocess.run(["openssl", "pkey", "-in", str(keyfile), "-noout"], check=True)
    # The published key for a selector that does not exist yet: missing, exit 1.
    miss = run("check", "good.test", *ns, "-s", "new", "--dkim-key", str(keyfile))
    assert miss.returncode == 1 and "missing" in miss.stdout
