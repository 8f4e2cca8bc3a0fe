"""`polymailer.django.EmailBackend` under the real Django (PyPI), against the real test servers."""

import email
import email.policy
import email.utils
import os
import time

import pytest
from django.conf import settings

if not settings.configured:
    settings.configure(EMAIL_BACKEND="polymailer.django.EmailBackend", DEFAULT_CHARSET="utf-8")

import django  # noqa: E402
from django.core import mail  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

import polymailer  # noqa: E402
from polymailer import smtplib  # noqa: E402

django.setup()


def smtp_settings(port, **kw):
    base = dict(EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, EMAIL_USE_TLS=False, EMAIL_USE_SSL=False)
    base.update(kw)
    return override_settings(**base)


def test_send_mail_with_starttls_and_login(capture, certs):
    srv = capture("--starttls", "--user", "u:p", "--require-auth")
    ca = {"cafile": os.path.join(certs, "ca.pem")}
    with smtp_settings(srv.port, EMAIL_USE_TLS=True, EMAIL_HOST_USER="u", EMAIL_HOST_PASSWORD="p", POLYMAILER_TLS=ca):
        assert mail.send_mail("Hi", "Body é", "Me <me@example.com>", ["you@example.com"]) == 1
    (got,) = srv.wait_for(1)
    assert got["meta"]["tls"] is True and got["meta"]["auth"] == "u"
    assert got["meta"]["mail_from"] == "me@example.com" and got["meta"]["rcpt_tos"] == ["you@example.com"]
    parsed = email.message_from_bytes(got["data"])
    assert parsed["Subject"] == "Hi" and parsed.get_payload(decode=True).decode().rstrip() == "Body é"


def test_email_message_with_attachments_cc_bcc(capture, tmp_path):
    srv = capture()
    path = tmp_path / "report.csv"
    path.write_text("a,b\n1,2\n")
    with smtp_settings(srv.port):
        msg = mail.EmailMessage(
            "Report",
            "See attached.",
            "me@example.com",
            ["to@example.com"],
            bcc=["hidden@example.com"],
            cc=["cc@example.com"],
            headers={"X-Tag": "t1"},
        )
        msg.attach("notes.txt", b"plain notes", "text/plain")
        msg.attach_file(str(path))
        assert msg.send() == 1
    (got,) = srv.wait_for(1)
    assert got["meta"]["rcpt_tos"] == ["to@example.com", "cc@example.com", "hidden@example.com"]
    parsed = email.message_from_bytes(got["data"])
    assert parsed["Bcc"] is None and parsed["X-Tag"] == "t1"
    files = {p.get_filename(): p.get_payload(decode=True) for p in parsed.walk() if p.get_filename()}
    # text attachments go with CRLF line ends, as Django's own backend sends them (as_bytes(linesep))
    assert files == {"notes.txt": b"plain notes", "report.csv": b"a,b\r\n1,2\r\n"}


def test_send_mass_mail_uses_one_connection(capture):
    srv = capture("--pipelining")
    batch = [("Mass %d" % i, "body", "me@example.com", ["r%d@example.com" % i]) for i in range(25)]
    with smtp_settings(srv.port):
        assert mail.send_mass_mail(batch) == 25
    got = srv.wait_for(25)
    assert len(got) == 25 and len({m["meta"]["session"] for m in got}) == 1
    assert sorted(m["meta"]["rcpt_tos"][0] for m in got) == sorted("r%d@example.com" % i for i in range(25))


def test_fail_silently_and_the_raised_class(capture):
    srv = capture("--refuse", "no@example.com")
    with smtp_settings(srv.port):
        assert mail.send_mail("x", "y", "me@example.com", ["no@example.com"], fail_silently=True) == 0
        with pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
            mail.send_mail("x", "y", "me@example.com", ["no@example.com"])
        assert exc.value.kind == "recipients_refused"
        # A header injection is Django's own BadHeaderError, before anything reaches the engine.
        with pytest.raises(Exception) as bad:
            mail.send_mail("x\r\nBcc: evil@example.com", "y", "me@example.com", ["ok@example.com"])
        assert type(bad.value).__name__ == "BadHeaderError"
    assert srv.wait_for(0) == []


def test_use_ssl_with_a_client_certificate(capture, certs):
    srv = capture("--implicit-tls", "--client-ca", os.path.join(certs, "ca.pem"))
    with smtp_settings(
        srv.port,
        EMAIL_USE_SSL=True,
        EMAIL_SSL_CERTFILE=os.path.join(certs, "client.pem"),
        EMAIL_SSL_KEYFILE=os.path.join(certs, "client.key"),
        POLYMAILER_TLS={"cafile": os.path.join(certs, "ca.pem")},
    ):
        assert mail.send_mail("TLS", "on connect", "me@example.com", ["you@example.com"]) == 1
        with pytest.raises(ValueError):
            mail.get_connection(use_tls=True, use_ssl=True)
    (got,) = srv.wait_for(1)
    assert got["meta"]["tls"] is True and got["meta"]["client_cert"] == "polymailer client"


def test_untrusted_certificate_is_refused(capture):
    srv = capture("--starttls")
    with smtp_settings(srv.port, EMAIL_USE_TLS=True):
        with pytest.raises(Exception) as exc:
            mail.send_mail("x", "y", "me@example.com", ["you@example.com"])
    assert exc.value.kind == "tls"
    assert srv.wait_for(0) == []


def test_email_timeout_bounds_a_silent_server(sink):
    slow = sink("-W", "mail:5")
    with smtp_settings(slow.port, EMAIL_TIMEOUT=0.5):
        start = time.monotonic()
        with pytest.raises(Exception) as exc:
            mail.send_mail("x", "y", "me@example.com", ["you@example.com"])
    assert exc.value.kind == "timeout" and time.monotonic() - start < 4


def test_same_delivery_as_djangos_own_backend(capture):
    srv = capture()
    with smtp_settings(srv.port):
        for backend in ("polymailer.django.EmailBackend", "django.core.mail.backends.smtp.EmailBackend"):
            conn = mail.get_connection(backend)
            msg = mail.EmailMultiAlternatives(
                "Both",
                "text",
                "Sender Name <me@example.com>",
                ["A <a@example.com>"],
                bcc=["b@example.com"],
                connection=conn,
            )
            msg.attach_alternative("<p>html</p>", "text/html")
            assert msg.send() == 1
    ours, theirs = srv.wait_for(2)
    for key in ("mail_from", "rcpt_tos"):
        assert ours["meta"][key] == theirs["meta"][key]
    a, b = (email.message_from_bytes(m["data"], policy=email.policy.default) for m in (ours, theirs))
    assert [p.get_content_type() for p in a.walk()] == [p.get_content_type() for p in b.walk()]
    assert email.utils.parseaddr(a["From"]) == email.utils.parseaddr(b["From"]) == ("Sender Name", "me@example.com")
    assert email.utils.parseaddr(a["To"]) == email.utils.parseaddr(b["To"]) and a["Bcc"] is None
    assert a.get_body(("html",)).get_payload(decode=True).strip() == b"<p>html</p>"


def test_messages_django_must_build_go_as_bytes(capture):
    """A MIME part of the caller's and another charset take Django's own build (raw path)."""
    from email.mime.text import MIMEText

    srv = capture()
    with smtp_settings(srv.port):
        msg = mail.EmailMessage("Latin", "caf\xe9", "me@example.com", ["to@example.com"], bcc=["b@example.com"])
        msg.encoding = "iso-8859-1"
        msg.attach(MIMEText("part of mine", "plain"))
        assert msg.send() == 1
    (got,) = srv.wait_for(1)
    assert got["meta"]["rcpt_tos"] == ["to@example.com", "b@example.com"]
    parsed = email.message_from_bytes(got["data"])
    body = next(p for p in parsed.walk() if p.get_content_type() == "text/plain")
    assert body.get_content_charset() == "iso-8859-1" and body.get_payload(decode=True) == "caf\xe9".encode("latin-1")
    assert b"part of mine" in got["data"] and parsed["Bcc"] is None


def test_envelope_tuple_is_checked_by_the_engine(capture):
    """`(message, sender, recipients)` — the form the backend hands over — refuses CR/LF/NUL."""
    srv = capture()
    mailer = polymailer.Mailer("127.0.0.1", srv.port, security="none")
    raw = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: t\r\n\r\nx\r\n"
    for sender, rcpts in (
        ("a@example.com>\r\nRCPT TO:<evil@example.com", ["b@example.com"]),
        ("a@example.com", ["b@example.com\x00"]),
        ("a@example.com", ["b@example.com\nDATA"]),
    ):
        with pytest.raises(polymailer.InvalidInputError) as exc:
            mailer.send((raw, sender, rcpts))
        assert exc.value.kind == "invalid_input"
    assert mailer.send((raw, "Me <a@example.com>", ["c@example.com"])).accepted == ["c@example.com"]
    (got,) = srv.wait_for(1)
    assert got["meta"]["mail_from"] == "a@example.com" and got["meta"]["rcpt_tos"] == ["c@example.com"]
