"""`from polymailer import aiosmtplib` against real servers, side by side with the real aiosmtplib
(PyPI) where the answer must be the same; and the native `Mailer.send_async`."""

import asyncio
import email
import os
import threading
from email.message import EmailMessage

import aiosmtplib as real
import pytest

import polymailer
from polymailer import aiosmtplib


def mail(to="rcpt@example.com", subject="async"):
    msg = EmailMessage()
    msg["From"] = "sender@example.com"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("hello from asyncio\n")
    return msg


def test_fastapi_pattern_starttls_login(capture, certs):
    srv = capture("--starttls", "--user", "u:p", "--require-auth")
    ca = os.path.join(certs, "ca.pem")
    kw = dict(hostname="127.0.0.1", port=srv.port, start_tls=True, username="u", password="p", cert_bundle=ca)
    ours = asyncio.run(aiosmtplib.send(mail(subject="ours"), **kw))
    theirs = asyncio.run(real.send(mail(subject="theirs"), **kw))
    got = srv.wait_for(2)
    assert [m["meta"]["tls"] for m in got] == [True, True]
    assert [m["meta"]["auth"] for m in got] == ["u", "u"]
    assert {email.message_from_bytes(m["data"])["Subject"] for m in got} == {"ours", "theirs"}
    assert ours[0] == theirs[0] == {}
    assert ours[1] == "2.0.0 Ok: queued as 000001" and theirs[1] == "2.0.0 Ok: queued as 000002"


def test_bytes_need_an_envelope_and_bcc_is_not_sent(capture):
    srv = capture()
    with pytest.raises(ValueError):
        asyncio.run(aiosmtplib.send(b"Subject: x\r\n\r\nbody\r\n", hostname="127.0.0.1", port=srv.port))
    msg = mail()
    msg["Bcc"] = "hidden@example.com"
    asyncio.run(aiosmtplib.send(msg, hostname="127.0.0.1", port=srv.port, start_tls=False))
    (got,) = srv.wait_for(1)
    assert got["meta"]["rcpt_tos"] == ["rcpt@example.com", "hidden@example.com"]
    assert b"hidden@example.com" not in got["data"]


def test_smtp_class_partial_and_total_refusal_match_aiosmtplib(capture):
    srv = capture("--refuse", "no@example.com")

    async def run(lib):
        async with lib.SMTP(hostname="127.0.0.1", port=srv.port, start_tls=False) as smtp:
            assert smtp.is_connected
            partial = await smtp.sendmail(
                "a@example.com", ["rcpt@example.com", "no@example.com"], b"Subject: p\r\n\r\nx\r\n"
            )
            noop = await smtp.noop()
            try:
                await smtp.send_message(mail(to="no@example.com"))
            except lib.SMTPRecipientsRefused as exc:
                total = exc
        return partial, noop, total

    ours, theirs = asyncio.run(run(aiosmtplib)), asyncio.run(run(real))
    assert list(ours[0][0]) == list(theirs[0][0]) == ["no@example.com"]
    assert ours[0][0]["no@example.com"].code == theirs[0][0]["no@example.com"].code == 550
    assert ours[1].code == theirs[1].code == 250
    (r,) = ours[2].recipients
    assert isinstance(r, aiosmtplib.SMTPRecipientRefused) and (r.code, r.recipient) == (550, "no@example.com")
    assert len(srv.wait_for(2)) == 2  # the two partial sends; the refused ones delivered nothing


def test_errors_are_aiosmtplib_classes(capture, certs):
    srv = capture("--user", "u:p")

    async def bad_password():
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=srv.port, start_tls=False)
        await smtp.connect()
        try:
            await smtp.login("u", "wrong")
        finally:
            smtp.close()

    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as exc:
        asyncio.run(bad_password())
    assert exc.value.code == 535 and exc.value.kind == "auth"

    srv.stop()  # nothing listens on that port now
    with pytest.raises(aiosmtplib.SMTPConnectError):
        asyncio.run(aiosmtplib.send(mail(), hostname="127.0.0.1", port=srv.port))

    with pytest.raises(ValueError):
        aiosmtplib.SMTP(hostname="127.0.0.1", sock=object())


def test_untrusted_certificate_and_injection_are_refused_before_sending(capture):
    srv = capture("--starttls")
    with pytest.raises(Exception) as exc:
        asyncio.run(aiosmtplib.send(mail(), hostname="127.0.0.1", port=srv.port, start_tls=True))
    assert getattr(exc.value, "kind", None) == "tls"
    with pytest.raises(polymailer.InvalidInputError):
        asyncio.run(
            aiosmtplib.send(
                b"Subject: x\r\n\r\nx\r\n",
                sender="a@example.com\r\nRCPT TO:<evil@example.com>",
                recipients=["rcpt@example.com"],
                hostname="127.0.0.1",
                port=srv.port,
                validate_certs=False,
            )
        )
    assert srv.wait_for(0) == []


def test_concurrent_sends_on_one_smtp_object_keep_order(capture):
    srv = capture()

    async def main():
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=srv.port, start_tls=False) as smtp:
            return await asyncio.gather(*(smtp.send_message(mail(subject="n%d" % i)) for i in range(20)))

    results = asyncio.run(main())
    assert all(r[0] == {} for r in results)
    got = srv.wait_for(20)
    assert len(got) == 20 and len({m["meta"]["session"] for m in got}) == 1


def test_send_async_runs_on_the_engine_runtime_without_python_threads(capture):
    srv = capture()
    mailer = polymailer.Mailer("127.0.0.1", srv.port, security="none", pool=4)

    async def main():
        before = set(threading.enumerate())
        reports = await asyncio.gather(*(mailer.send_async(mail(subject="c%d" % i)) for i in range(40)))
        return reports, [
            t for t in threading.enumerate() if t not in before and not isinstance(t, threading._DummyThread)
        ]

    reports, new_threads = asyncio.run(main())
    assert all(r.code == 250 for r in reports)
    assert new_threads == []  # no executor: the engine's runtime did the waiting
    got = srv.wait_for(40)
    assert len(got) == 40 and len({m["meta"]["session"] for m in got}) <= 4
    mailer.close()


def test_send_async_errors_are_raised_with_their_kind(capture):
    srv = capture("--refuse", "no@example.com")
    mailer = polymailer.Mailer("127.0.0.1", srv.port, security="none")
    with pytest.raises(polymailer.smtplib.SMTPRecipientsRefused) as exc:
        asyncio.run(mailer.send_async(mail(to="no@example.com")))
    assert exc.value.kind == "recipients_refused"
    with pytest.raises(polymailer.InvalidInputError):
        bad = polymailer.Message(from_="a@example.com", to="b@example.com\r\nBcc: x@example.com", text="x")
        asyncio.run(mailer.send_async(bad))
    results = asyncio.run(mailer.send_many_async([mail(), mail(to="no@example.com")]))
    assert results[0].code == 250 and isinstance(results[1], polymailer.smtplib.SMTPRecipientsRefused)


def test_context_keeps_what_it_loaded_after_the_files_are_gone(capture, certs, tmp_path):
    """trustme-style contexts: CA and client certificate loaded from files deleted before use."""
    import shutil
    import ssl

    srv = capture("--starttls", "--client-ca", os.path.join(certs, "ca.pem"))
    names = {n: tmp_path / n for n in ("ca.pem", "client.pem", "client.key")}
    for n, p in names.items():
        shutil.copy(os.path.join(certs, n), p)
    ctx = ssl.create_default_context(cafile=str(names["ca.pem"]))
    ctx.load_cert_chain(str(names["client.pem"]), str(names["client.key"]))
    for p in names.values():
        p.unlink()
    asyncio.run(aiosmtplib.send(mail(), hostname="127.0.0.1", port=srv.port, start_tls=True, tls_context=ctx))
    (got,) = srv.wait_for(1)
    assert got["meta"]["tls"] is True and got["meta"]["client_cert"] == "polymailer client"


def test_concurrent_sends_are_batched_and_each_gets_its_own_outcome(capture):
    """100 calls in flight on one SMTP object go out as pipelined batches; a refusal in the
    middle of a batch fails that call only."""
    srv = capture("--refuse", "no@example.com")

    async def main():
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=srv.port, start_tls=False) as smtp:
            calls = [
                smtp.send_message(mail(to="no@example.com" if i == 50 else "rcpt@example.com", subject="n%d" % i))
                for i in range(100)
            ]
            return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(main())
    refused = [i for i, r in enumerate(results) if isinstance(r, Exception)]
    assert refused == [50]
    assert isinstance(results[50], aiosmtplib.SMTPRecipientsRefused)
    assert results[50].kind == "recipients_refused"
    assert all(r[0] == {} and r[1] for i, r in enumerate(results) if i != 50)
    got = srv.wait_for(99)
    subjects = {email.message_from_bytes(m["data"])["Subject"] for m in got}
    assert subjects == {"n%d" % i for i in range(100) if i != 50}
    assert len({m["meta"]["session"] for m in got}) == 1


def test_implicit_tls_uses_the_given_context_cert_bundle_and_client_cert(capture, certs):
    """use_tls=True honours tls_context, cert_bundle and client_cert (seen in aiosmtplib's
    test_tls_connection: the implicit-TLS path built a default context instead)."""
    import ssl

    ca = os.path.join(certs, "ca.pem")
    srv = capture("--implicit-tls", "--client-ca", ca)
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(os.path.join(certs, "client.pem"), os.path.join(certs, "client.key"))

    async def run():
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=srv.port, use_tls=True, tls_context=ctx) as s:
            await s.send_message(mail(subject="context"))
        await aiosmtplib.send(
            mail(subject="bundle"),
            hostname="127.0.0.1",
            port=srv.port,
            use_tls=True,
            cert_bundle=ca,
            client_cert=os.path.join(certs, "client.pem"),
            client_key=os.path.join(certs, "client.key"),
        )

    asyncio.run(run())
    got = srv.wait_for(2)
    assert [m["meta"]["tls"] for m in got] == [True, True]
    assert [m["meta"]["client_cert"] for m in got] == ["polymailer client", "polymailer client"]
