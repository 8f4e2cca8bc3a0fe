"""polymailer.smtplib against real servers, compared with what the standard library does."""

import email
import email.policy
import os
import smtplib as std
import ssl
import subprocess
import sys
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from polymailer import smtplib

SNIPPET = """
from polymailer import smtplib
from email.mime.text import MIMEText

smtp_server = "localhost"
port = {port}
username = "user@example.com"
password = "yourpassword"
receiver = "receiver@example.com"

msg = MIMEText("This is a test email sent using Python.")
msg["Subject"] = "Hello from Python"
msg["From"] = username
msg["To"] = receiver

with smtplib.SMTP(smtp_server, port) as server:
    server.starttls()
    server.login(username, password)
    server.send_message(msg)
"""


def test_reference_snippet_verbatim(capture, certs):
    srv = capture("--starttls", "--user", "user@example.com:yourpassword")
    # The CA is the only other change: trusted through SSL_CERT_FILE, since starttls() verifies.
    env = dict(os.environ, SSL_CERT_FILE=os.path.join(certs, "ca.pem"))
    subprocess.run([sys.executable, "-c", SNIPPET.format(port=srv.port)], check=True, env=env)
    (got,) = srv.wait_for(1)
    assert got["meta"]["tls"] is True
    assert got["meta"]["auth"] == "user@example.com"
    assert got["meta"]["mail_from"] == "user@example.com"
    assert got["meta"]["rcpt_tos"] == ["receiver@example.com"]
    received = email.message_from_bytes(got["data"], policy=email.policy.default)
    assert received["Subject"] == "Hello from Python"
    assert received.get_content().rstrip() == "This is a test email sent using Python."


def test_starttls_without_context_verifies_the_certificate(capture):
    srv = capture("--starttls")
    with smtplib.SMTP("localhost", srv.port) as server:
        with pytest.raises(ssl.SSLError):
            server.starttls()
    assert srv.messages() == []


def test_multipart_arrives_byte_for_byte(capture, ca_context):
    srv = capture("--starttls", "--user", "u:p")
    msg = MIMEMultipart()
    msg["Subject"] = "Report"
    msg["From"] = "Sender <sender@example.com>"
    msg["To"] = "a@example.com, b@example.com"
    msg["Bcc"] = "hidden@example.com"
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText("plain body\n.leading dot\n", "plain"))
    alt.attach(MIMEText("<p>html body</p>", "html"))
    msg.attach(alt)
    msg.attach(MIMEApplication(bytes(range(256)) * 40, Name="data.bin"))
    with smtplib.SMTP("localhost", srv.port) as server:
        server.starttls(context=ca_context)
        server.login("u", "p")
        assert server.send_message(msg) == {}
    (got,) = srv.wait_for(1)
    assert got["meta"]["rcpt_tos"] == ["a@example.com", "b@example.com", "hidden@example.com"]
    del msg["Bcc"]
    expected = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
    assert got["data"] == expected
    received = email.message_from_bytes(got["data"])
    parts = [p for p in received.walk() if not p.is_multipart()]
    originals = [p for p in email.message_from_bytes(expected).walk() if not p.is_multipart()]
    assert [p.get_payload(decode=True) for p in parts] == [p.get_payload(decode=True) for p in originals]
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html", "application/octet-stream"]


def test_partial_refusal_returns_refused_dict(capture):
    srv = capture("--refuse", "nobody@example.com")
    with smtplib.SMTP("127.0.0.1", srv.port) as server:
        refused = server.sendmail(
            "s@example.com", ["ok@example.com", "nobody@example.com"], b"Subject: x\r\n\r\nhi\r\n"
        )
    assert list(refused) == ["nobody@example.com"]
    code, text = refused["nobody@example.com"]
    assert code == 550 and b"User unknown" in text
    (got,) = srv.wait_for(1)
    assert got["meta"]["rcpt_tos"] == ["ok@example.com"]


def test_sendmail_str_and_bytes(capture):
    srv = capture()
    with smtplib.SMTP("127.0.0.1", srv.port) as server:
        server.sendmail("s@example.com", "r@example.com", "Subject: str\n\nline\n.dot\n")
        server.sendmail("s@example.com", ["r@example.com"], b"Subject: bytes\r\n\r\nbody\r\n")
    got = srv.wait_for(2)
    assert got[0]["data"] == b"Subject: str\r\n\r\nline\r\n.dot\r\n"
    assert got[1]["data"] == b"Subject: bytes\r\n\r\nbody\r\n"


def test_auth_failure_is_stdlib_exception_with_attributes(capture, ca_context):
    srv = capture("--starttls", "--user", "u:right")
    with smtplib.SMTP("localhost", srv.port) as server:
        server.starttls(context=ca_context)
        with pytest.raises(std.SMTPAuthenticationError) as exc:
            server.login("u", "wrong-secret")
    assert exc.value.smtp_code == 535
    assert b"Authentication credentials invalid" in exc.value.smtp_error
    assert exc.value.kind == "auth" and exc.value.enhanced_status == "5.7.8"
    assert "wrong-secret" not in str(exc.value)


def test_sender_refused_and_all_recipients_refused(sink, capture):
    s = sink("-f", "mail")
    with smtplib.SMTP("127.0.0.1", s.port) as server:
        with pytest.raises(std.SMTPSenderRefused) as exc:
            server.sendmail("s@example.com", ["r@example.com"], b"Subject: x\r\n\r\nx\r\n")
    assert exc.value.smtp_code // 100 == 5 and exc.value.sender == "s@example.com"

    srv = capture("--refuse", "a@example.com", "--refuse", "b@example.com")
    with smtplib.SMTP("127.0.0.1", srv.port) as server:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
            server.sendmail("s@example.com", ["a@example.com", "b@example.com"], b"Subject: x\r\n\r\nx\r\n")
        assert set(exc.value.recipients) == {"a@example.com", "b@example.com"}
        assert exc.value.recipients["a@example.com"][0] == 550
        # The session is still usable after the refused transaction.
        assert server.noop()[0] == 250
    assert srv.messages() == []


def test_421_disconnect(sink):
    s = sink("-Q", "mail")
    server = smtplib.SMTP("127.0.0.1", s.port)
    with pytest.raises(std.SMTPSenderRefused) as exc:
        server.sendmail("s@example.com", ["r@example.com"], b"Subject: x\r\n\r\nx\r\n")
    assert exc.value.smtp_code == 421 and exc.value.transient
    with pytest.raises(std.SMTPServerDisconnected):
        server.noop()
    server.close()


def test_stdlib_except_clauses_catch_ours_and_vice_versa(capture):
    srv = capture("--refuse", "x@example.com")
    try:
        with smtplib.SMTP("127.0.0.1", srv.port) as server:
            server.sendmail("s@example.com", ["x@example.com"], b"x")
    except std.SMTPException as e:
        assert isinstance(e, std.SMTPRecipientsRefused)
    else:
        pytest.fail("no exception")
    assert smtplib.SMTPException is std.SMTPException


def test_invalid_input_is_value_error_before_connecting(capture):
    srv = capture()
    with smtplib.SMTP("127.0.0.1", srv.port) as server:
        with pytest.raises(ValueError):
            server.sendmail("s@example.com", ["bad\r\nRCPT TO:<x@example.com>"], b"x")
        with pytest.raises(ValueError):
            server.sendmail("s@example.com", ["not an address"], b"x")
    assert srv.messages() == []


def test_envelope_values_checked_as_given_and_nul_headers_refused(capture):
    srv = capture()
    smuggle = "victim@example.com>\r\n.\r\nMAIL FROM:<smuggle@evil.example>\r\nRCPT TO:<evil@evil.example"
    with smtplib.SMTP("127.0.0.1", srv.port) as server:
        for from_addr, to_addr in [
            (smuggle, "b@example.com"),
            ("a@example.com", smuggle),
            ("victim@example.com> <smuggle@evil.example>", "b@example.com"),
            ("a@example.com", "b@example.com> <smuggle@evil.example>"),
            ("a@example.com\0", "b@example.com"),
        ]:
            with pytest.raises(ValueError) as exc:
                server.sendmail(from_addr, [to_addr], b"Subject: x\r\n\r\nx\r\n")
            assert exc.value.kind == "invalid_input"
        for name in ("Subject", "X-Custom"):
            msg = email.message.Message()
            msg["From"] = "a@example.com"
            msg["To"] = "b@example.com"
            msg[name] = "before\0after"
            msg.set_payload("x")
            with pytest.raises(ValueError) as exc:
                server.send_message(msg)
            assert exc.value.kind == "invalid_input"
        assert srv.wait_for(0) == []
        # The stdlib's quoteaddr forms: a display name and the null sender.
        assert server.sendmail("Ann <a@example.com>", ["<b@example.com>"], b"Subject: x\r\n\r\nx\r\n") == {}
        assert server.sendmail("<>", ["b@example.com"], b"Subject: y\r\n\r\ny\r\n") == {}
    got = srv.wait_for(2)
    assert [(g["meta"]["mail_from"], g["meta"]["rcpt_tos"]) for g in got] == [
        ("a@example.com", ["b@example.com"]),
        ("<>", ["b@example.com"]),
    ]


def test_esmtp_features_and_low_level_commands(capture):
    srv = capture("--user", "u:p", "--size", "12345")
    with smtplib.SMTP("127.0.0.1", srv.port) as server:
        code, msg = server.ehlo()
        assert code == 250 and msg.startswith(b"capture.test")
        assert server.esmtp_features["size"] == "12345"
        assert server.has_extn("AUTH") and "PLAIN" in server.esmtp_features["auth"]
        assert server.verify("someone@example.com")[0] // 100 == 2
        assert server.noop() == (250, b"OK")
        assert server.mail("s@example.com")[0] == 250
        assert server.rcpt("r@example.com")[0] == 250
        assert server.data(b"Subject: low level\r\n\r\n.dot line\r\n")[0] == 250
        assert server.rset()[0] == 250
    (got,) = srv.wait_for(1)
    assert got["data"] == b"Subject: low level\r\n\r\n.dot line\r\n"


def test_debuglevel_prints_transcript_with_secret_masked(capture, capfd):
    srv = capture("--user", "u:hunter2")
    with smtplib.SMTP("127.0.0.1", srv.port) as server:
        server.set_debuglevel(1)
        server.login("u", "hunter2")
        server.sendmail("s@example.com", ["r@example.com"], b"Subject: dbg\r\n\r\nx\r\n")
    err = capfd.readouterr().err
    assert "send: 'ehlo " in err.lower()
    assert "reply: retcode (250); Msg: b'capture.test" in err
    assert "send: 'AUTH PLAIN ****\\r\\n'" in err
    assert "hunter2" not in err and "AHUAaHVudGVyMg" not in err


def test_smtp_ssl_with_context(capture, ca_context):
    srv = capture("--implicit-tls")
    with smtplib.SMTP_SSL("localhost", srv.port, context=ca_context) as server:
        server.sendmail("s@example.com", ["r@example.com"], b"Subject: ssl\r\n\r\nx\r\n")
    assert srv.wait_for(1)[0]["meta"]["tls"] is True


def test_send_message_resent_and_explicit_envelope(capture):
    srv = capture()
    msg = EmailMessage()
    msg["From"] = "orig@example.com"
    msg["To"] = "first@example.com"
    msg["Resent-Date"] = "Mon, 1 Jan 2024 00:00:00 +0000"
    msg["Resent-From"] = "resender@example.com"
    msg["Resent-To"] = "second@example.com"
    msg["Resent-Bcc"] = "secret@example.com"
    msg.set_content("resent")
    with smtplib.SMTP("127.0.0.1", srv.port) as server:
        server.send_message(msg)
        server.send_message(msg, from_addr="env@example.com", to_addrs=["third@example.com"])
    got = srv.wait_for(2)
    assert got[0]["meta"]["mail_from"] == "resender@example.com"
    assert got[0]["meta"]["rcpt_tos"] == ["second@example.com", "secret@example.com"]
    assert b"secret@" not in got[0]["data"]
    assert (got[1]["meta"]["mail_from"], got[1]["meta"]["rcpt_tos"]) == ("env@example.com", ["third@example.com"])


@pytest.fixture
def self_signed_leaf(tmp_path):
    """A self-signed CA:FALSE certificate for localhost (the shape of Debian's snakeoil)."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "extendedKeyUsage=serverAuth",
            "-keyout", str(tmp_path / "server.key"), "-out", str(tmp_path / "server.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return tmp_path


def test_self_signed_leaf_in_cafile_is_trusted_as_the_stdlib_trusts_it(capture, self_signed_leaf):
    srv = capture("--starttls", "--certs", str(self_signed_leaf))
    cafile = str(self_signed_leaf / "server.pem")
    context = ssl.create_default_context(cafile=cafile)
    assert context.get_ca_certs() == []  # why the context's CA list alone is not enough
    with std.SMTP("localhost", srv.port) as server:
        server.starttls(context=ssl.create_default_context(cafile=cafile))
    for ctx in (context, ssl.create_default_context(cadata=open(cafile).read())):
        with smtplib.SMTP("localhost", srv.port) as server:
            server.starttls(context=ctx)
            assert server.sendmail("a@example.com", ["b@example.com"], b"Subject: t\r\n\r\nx\r\n") == {}
    assert all(g["meta"]["tls"] for g in srv.wait_for(2))
    # Another certificate in the context: still refused.
    with smtplib.SMTP("localhost", srv.port) as server:
        with pytest.raises(ssl.SSLError):
            server.starttls(context=ssl.create_default_context())
