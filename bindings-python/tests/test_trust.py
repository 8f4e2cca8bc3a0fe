"""The TLS trust matrix: for each certificate shape a server presents, the drop-in accepts exactly
what the standard library (OpenSSL) accepts with the same ``ssl.SSLContext``."""

import os
import smtplib as std
import ssl

import pytest

from polymailer import smtplib as drop_in


def context(certs, cafile=None, check_hostname=True, verify=True):
    ctx = ssl.create_default_context(cafile=os.path.join(certs, cafile) if cafile else None)
    ctx.check_hostname = check_hostname
    if not verify:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


CASES = [
    # (server certificate, context options, expected: delivered?)
    ("server", dict(cafile="ca.pem"), True),
    ("server", dict(cafile="untrusted-ca.pem"), False),
    ("selfsigned-ca", dict(cafile="selfsigned-ca.pem"), True),
    ("selfsigned-ca", dict(cafile="ca.pem"), False),
    ("snakeoil", dict(cafile="snakeoil.pem"), True),
    ("snakeoil", dict(cafile="ca.pem"), False),
    ("expired", dict(cafile="ca.pem"), False),
    ("expired", dict(cafile="ca.pem", check_hostname=False, verify=False), True),
    ("expired-selfsigned", dict(cafile="expired-selfsigned.pem"), False),
    ("wronghost", dict(cafile="ca.pem"), False),
    ("wronghost", dict(cafile="ca.pem", check_hostname=False), True),
    ("untrusted", dict(cafile="ca.pem"), False),
]


def attempt(module, port, ctx):
    try:
        with module.SMTP("localhost", port, timeout=10) as s:
            s.starttls(context=ctx)
            s.sendmail("a@example.com", ["b@example.com"], b"Subject: trust\r\n\r\nx\r\n")
        return True
    except (ssl.SSLError, OSError, std.SMTPException):
        return False


@pytest.mark.parametrize("cert,options,expected", CASES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_drop_in_trusts_what_openssl_trusts(capture, certs, cert, options, expected):
    srv = capture("--starttls", "--cert", cert)
    got_std = attempt(std, srv.port, context(certs, **options))
    got_ours = attempt(drop_in, srv.port, context(certs, **options))
    assert (got_std, got_ours) == (expected, expected)
    assert len(srv.wait_for(2 if expected else 0)) == (2 if expected else 0)


def test_client_certificate_from_load_cert_chain(capture, certs):
    srv = capture("--starttls", "--client-ca", os.path.join(certs, "ca.pem"))
    for module in (std, drop_in):
        ctx = context(certs, cafile="ca.pem")
        assert attempt(module, srv.port, ctx) is False, module.__name__  # no certificate
        ctx.load_cert_chain(os.path.join(certs, "client.pem"), os.path.join(certs, "client.key"))
        assert attempt(module, srv.port, ctx) is True, module.__name__
    combined = context(certs, cafile="ca.pem")
    combined.load_cert_chain(os.path.join(certs, "client-combined.pem"))
    assert attempt(drop_in, srv.port, combined) is True
    for password in ("key secret", b"key secret", lambda: "key secret"):  # the stdlib's three forms
        encrypted = context(certs, cafile="ca.pem")
        encrypted.load_cert_chain(
            os.path.join(certs, "client.pem"), os.path.join(certs, "client-encrypted.key"), password=password
        )
        assert attempt(drop_in, srv.port, encrypted) is True
    got = srv.wait_for(6)
    assert [g["meta"]["client_cert"] for g in got] == ["polymailer client"] * 6


def test_native_mailer_client_certificate_and_a_mismatched_key(capture, certs):
    import polymailer

    srv = capture("--starttls", "--client-ca", os.path.join(certs, "ca.pem"))
    tls = {"cafile": os.path.join(certs, "ca.pem"), "certfile": os.path.join(certs, "client.pem")}
    msg = polymailer.Message(from_="a@example.com", to="b@example.com", subject="mtls", text="x")
    with polymailer.Mailer(
        "localhost", srv.port, security="starttls", tls={**tls, "keyfile": os.path.join(certs, "client.key")}
    ) as m:
        m.send(msg)
    with pytest.raises(ssl.SSLError) as e:  # TLS failures are the stdlib's SSLError
        polymailer.Mailer(
            "localhost", srv.port, security="starttls", tls={**tls, "keyfile": os.path.join(certs, "other.key")}
        )
    assert e.value.kind == "tls"
    assert len(srv.wait_for(1)) == 1
