"""The native API (polymailer.Mailer / Message) against real servers."""

import asyncio
import email
import logging
import os
import smtplib as std
import threading
from email.message import EmailMessage

import pytest

import harness
import polymailer


def message(i=0, **kw):
    fields = dict(
        from_='"Sender" <sender@example.com>', to="rcpt@example.com", subject="native %d" % i, text="body %d" % i
    )
    fields.update(kw)
    return polymailer.Message(**fields)


def test_send_reports_and_delivers(capture):
    srv = capture()
    mailer = polymailer.Mailer("127.0.0.1", srv.port, security="none")
    report = mailer.send(
        message(
            cc=["Carol <carol@example.com>"],
            bcc="hidden@example.com",
            html="<b>hi</b>",
            attachments=[{"filename": "a.txt", "content": b"attached"}],
            headers={"X-Tag": "t1"},
        )
    )
    assert report.code == 250 and report.response.startswith("250 ")
    assert report.accepted == ["rcpt@example.com", "carol@example.com", "hidden@example.com"]
    assert report.rejected == []
    (got,) = srv.wait_for(1)
    parsed = email.message_from_bytes(got["data"])
    assert parsed["Message-ID"] == report.message_id
    assert parsed["X-Tag"] == "t1" and parsed["Bcc"] is None
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/plain",
    ]


def test_addresses_in_any_python_shape_reach_the_envelope(capture):
    srv = capture()
    mailer = polymailer.Mailer("127.0.0.1", srv.port, security="none")
    report = mailer.send(
        message(
            to=("Ann Example", "ann@example.com"),
            cc={"cc@example.com"},
            bcc=(a for a in ["b1@example.com", ("B Two", "b2@example.com")]),
            reply_to=[{"name": "Desk", "address": "desk@example.com"}],
        )
    )
    want = ["ann@example.com", "cc@example.com", "b1@example.com", "b2@example.com"]
    assert report.accepted == want
    (got,) = srv.wait_for(1)
    assert got["meta"]["rcpt_tos"] == want
    parsed = email.message_from_bytes(got["data"])
    assert parsed["To"] == '"Ann Example" <ann@example.com>' or parsed["To"] == "Ann Example <ann@example.com>"
    assert "desk@example.com" in parsed["Reply-To"] and parsed["Bcc"] is None
    for bad in (dict(to=42.5), dict(to=object()), dict(cc=[("x", "not an address")])):
        with pytest.raises((TypeError, ValueError)) as exc:
            message(**bad)
        assert isinstance(exc.value, TypeError) or exc.value.kind == "invalid_input"
    assert srv.wait_for(1, timeout=1) == [got]


def test_partial_refusal_in_report_and_all_refused_raises(capture):
    srv = capture("--refuse", "no@example.com")
    mailer = polymailer.Mailer("127.0.0.1", srv.port, security="none")
    report = mailer.send(message(to=["rcpt@example.com", "no@example.com"]))
    assert report.rejected[0][:2] == ("no@example.com", 550)
    with pytest.raises(std.SMTPRecipientsRefused) as exc:
        mailer.send(message(to="no@example.com"))
    assert exc.value.kind == "recipients_refused" and exc.value.stage == "rcpt"
    assert len(srv.wait_for(1)) == 1


def test_stdlib_email_message_accepted(capture):
    srv = capture()
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg["To"] = "b@example.com"
    msg["Bcc"] = "c@example.com"
    msg["Subject"] = "stdlib object"
    msg.set_content("hello")
    report = polymailer.Mailer("127.0.0.1", srv.port, security="none").send(msg)
    assert report.accepted == ["b@example.com", "c@example.com"]
    (got,) = srv.wait_for(1)
    assert b"c@example.com" not in got["data"] and b"Subject: stdlib object" in got["data"]


def test_invalid_input_is_value_error_before_any_connection(capture):
    srv = capture()
    mailer = polymailer.Mailer("127.0.0.1", srv.port, security="none")
    with pytest.raises(ValueError) as exc:
        mailer.send(message(subject="Hi\r\nBcc: victim@example.com"))
    assert isinstance(exc.value, polymailer.InvalidInputError)
    assert isinstance(exc.value, std.SMTPException)
    with pytest.raises(ValueError):
        message(to="not an address")
    with pytest.raises(ValueError):
        mailer.send(message(attachments=["/nonexistent/file.pdf"]))
    assert srv.messages() == []


def test_starttls_auth_and_wrong_password(capture, certs):
    srv = capture("--starttls", "--user", "u:p")
    tls = {"cafile": os.path.join(certs, "ca.pem")}
    polymailer.Mailer("localhost", srv.port, security="starttls", username="u", password="p", tls=tls).send(message())
    (got,) = srv.wait_for(1)
    assert got["meta"]["tls"] and got["meta"]["auth"] == "u"
    bad = polymailer.Mailer("localhost", srv.port, username="u", password="nope", tls=tls)
    with pytest.raises(std.SMTPAuthenticationError) as exc:
        bad.send(message())
    assert exc.value.smtp_code == 535
    untrusted = polymailer.Mailer("localhost", srv.port, security="starttls")
    with pytest.raises(ssl_error()):
        untrusted.send(message())


def ssl_error():
    import ssl

    return ssl.SSLError


def test_from_url(capture):
    srv = capture("--user", "me@example.com:p@ss")
    mailer = polymailer.Mailer.from_url("smtp://me%%40example.com:p%%40ss@127.0.0.1:%d?tls=none" % srv.port)
    mailer.send(message())
    assert srv.wait_for(1)[0]["meta"]["auth"] == "me@example.com"


@pytest.mark.parametrize(
    "key,record", [("dkim-rsa.pkcs8.pem", "dkim-rsa.txt"), ("dkim-ed25519.pem", "dkim-ed25519.txt")]
)
def test_dkim_verifies_with_dkimpy(capture, certs, key, record):
    srv = capture()
    dkim = {"domain": "example.com", "selector": "sel", "private_key_file": os.path.join(certs, key)}
    polymailer.Mailer("127.0.0.1", srv.port, security="none", dkim=dkim).send(message(html="<p>signed</p>"))
    (got,) = srv.wait_for(1)
    assert got["data"].startswith(b"DKIM-Signature:")
    assert harness.dkim_verify(got["data"], os.path.join(certs, record))
    assert not harness.dkim_verify(got["data"].replace(b"body 0", b"body X"), os.path.join(certs, record))


def test_send_many_500_each_arrives_once(capture):
    srv = capture()
    mailer = polymailer.Mailer("127.0.0.1", srv.port, security="none", pool=4)
    results = mailer.send_many([message(i) for i in range(500)])
    assert all(isinstance(r, polymailer.SendReport) for r in results)
    got = srv.wait_for(500)
    subjects = sorted(email.message_from_bytes(g["data"])["Subject"] for g in got)
    assert subjects == sorted("native %d" % i for i in range(500))
    assert len({g["meta"]["session"] for g in got}) <= 4
    assert mailer.idle_connections <= 4


def test_send_many_returns_exceptions_in_place(capture):
    srv = capture("--refuse", "no@example.com")
    mailer = polymailer.Mailer("127.0.0.1", srv.port, security="none")
    ok, bad = mailer.send_many([message(1), message(2, to="no@example.com")])
    assert isinstance(ok, polymailer.SendReport)
    assert isinstance(bad, std.SMTPRecipientsRefused)


def test_gil_is_released_while_waiting(sink):
    slow = sink("-p", "-W", "mail:1")
    mailer = polymailer.Mailer("127.0.0.1", slow.port, security="none")
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.01)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        mailer.send(message())
    finally:
        done.set()
        t.join()
    # A held GIL would have frozen the ticker for the whole second-long wait.
    assert len(ticks) > 20


def test_send_async_does_not_block_the_loop(sink):
    slow = sink("-p", "-W", "mail:1")
    mailer = polymailer.Mailer("127.0.0.1", slow.port, security="none")

    async def main():
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        t = asyncio.create_task(tick())
        report = await mailer.send_async(message())
        t.cancel()
        return report, ticks

    report, ticks = asyncio.run(main())
    assert report.code == 250 and ticks > 20


def test_transcript_goes_to_logging_with_secrets_masked(capture, caplog):
    srv = capture("--user", "u:topsecret")
    with caplog.at_level(logging.DEBUG, logger="polymailer"):
        polymailer.Mailer("127.0.0.1", srv.port, security="none", username="u", password="topsecret").send(message())
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "C: AUTH PLAIN ****" in text and "S: 235" in text
    assert "topsecret" not in text


def test_service_presets_come_from_the_core_table():
    assert polymailer.service("SendGrid") == {
        "name": "SendGrid",
        "host": "smtp.sendgrid.net",
        "port": 587,
        "security": "starttls",
        "notes": 'user "apikey", password: an API key',
    }
    assert polymailer.service("someone@googlemail.com")["host"] == "smtp.gmail.com"
    assert polymailer.service("ses-eu-west-1")["security"] == "tls"
    with pytest.raises(polymailer.InvalidInputError) as e:
        polymailer.Mailer.for_service("NoSuchService", username="u", password="p")
    assert e.value.kind == "invalid_input" and "SendGrid" in str(e.value)


def test_for_service_uses_the_preset_and_passes_options_through():
    # No connection is made at construction. Gmail's preset (implicit TLS) may carry
    # credentials; the caller's security="none" overrides it and the plain-text AUTH rule refuses.
    polymailer.Mailer.for_service("Gmail", username="u", password="p").close()
    with pytest.raises(polymailer.InvalidInputError) as e:
        polymailer.Mailer.for_service("Gmail", security="none", username="u", password="p")
    assert e.value.kind == "invalid_input"


def test_pool_counts_a_reused_connection_against_max_messages_and_spreads_the_queue(capture):
    """The core's pool accounting, seen from the server: a connection reused for a later batch
    counts what it already carried against max_messages; a queue is shared by the connections."""
    from collections import Counter

    srv = capture()
    capped = polymailer.Mailer("127.0.0.1", srv.port, security="none", pool=1, max_messages=5)
    capped.send(message(0))
    assert all(r.code == 250 for r in capped.send_many([message(i) for i in range(1, 23)]))
    capped.close()
    per_session = Counter(m["meta"]["session"] for m in srv.wait_for(23))
    assert sum(per_session.values()) == 23 and max(per_session.values()) <= 5, per_session

    srv2 = capture()
    spread = polymailer.Mailer("127.0.0.1", srv2.port, security="none", pool=5)
    assert all(r.code == 250 for r in spread.send_many([message(i) for i in range(100)]))
    spread.close()
    shares = sorted(Counter(m["meta"]["session"] for m in srv2.wait_for(100)).values())
    assert len(shares) == 5 and shares[0] >= 10, shares
