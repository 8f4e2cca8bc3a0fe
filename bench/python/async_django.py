"""msg/s of the asyncio and Django paths against their peers, on one connection each.

python async_django.py PORT COUNT [RUNS]

Rows (median of RUNS alternating runs, default 3):
  aiosmtplib-c1 / polymailer-aiosmtplib-c1      COUNT sequential awaits of SMTP.send_message
  aiosmtplib-c100 / polymailer-aiosmtplib-c100  COUNT sends, 100 in flight on one SMTP object
  polymailer-send_async-c100                    Mailer(pool=1).send_async, 100 in flight
  django-smtp-mass / polymailer-django-mass     send_mass_mail of 1,000 messages
"""

import asyncio
import statistics
import sys
import time
from email.message import EmailMessage

import aiosmtplib as real
from django.conf import settings

settings.configure(EMAIL_HOST="127.0.0.1", EMAIL_USE_TLS=False, DEFAULT_CHARSET="utf-8")
import django  # noqa: E402
from django.core import mail  # noqa: E402

import polymailer  # noqa: E402
from polymailer import aiosmtplib as ours  # noqa: E402

django.setup()
port, count = int(sys.argv[1]), int(sys.argv[2])
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
settings.EMAIL_PORT = port
body = "The quick brown fox jumps over the lazy dog. " * 16


def message(i):
    m = EmailMessage()
    m["From"] = "Bench Sender <sender@example.com>"
    m["To"] = "rcpt@example.com"
    m["Subject"] = "bench %d" % i
    m.set_content(body)
    return m


async def smtp_rate(lib, in_flight):
    msgs = [message(i) for i in range(count)]
    async with lib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
        start = time.perf_counter()
        if in_flight == 1:
            for m in msgs:
                await smtp.send_message(m)
        else:
            for i in range(0, count, in_flight):
                await asyncio.gather(*(smtp.send_message(m) for m in msgs[i : i + in_flight]))
        return count / (time.perf_counter() - start)


async def native_rate(in_flight):
    mailer = polymailer.Mailer("127.0.0.1", port, security="none", pool=1)
    msgs = [message(i) for i in range(count)]
    await mailer.send_async(msgs[0])
    start = time.perf_counter()
    for i in range(0, count, in_flight):
        await asyncio.gather(*(mailer.send_async(m) for m in msgs[i : i + in_flight]))
    rate = count / (time.perf_counter() - start)
    mailer.close()
    return rate


def django_rate(backend, n=1000):
    batch = [("bench %d" % i, body, "sender@example.com", ["rcpt@example.com"]) for i in range(n)]
    conn = mail.get_connection(backend)
    start = time.perf_counter()
    sent = mail.send_mass_mail(batch, connection=conn)
    assert sent == n
    return n / (time.perf_counter() - start)


rows = {
    "aiosmtplib-c1": lambda: asyncio.run(smtp_rate(real, 1)),
    "polymailer-aiosmtplib-c1": lambda: asyncio.run(smtp_rate(ours, 1)),
    "aiosmtplib-c100": lambda: asyncio.run(smtp_rate(real, 100)),
    "polymailer-aiosmtplib-c100": lambda: asyncio.run(smtp_rate(ours, 100)),
    "polymailer-send_async-c100": lambda: asyncio.run(native_rate(100)),
    "django-smtp-mass": lambda: django_rate("django.core.mail.backends.smtp.EmailBackend"),
    "polymailer-django-mass": lambda: django_rate("polymailer.django.EmailBackend"),
}
samples = {k: [] for k in rows}
for _ in range(runs):
    for name, fn in rows.items():
        samples[name].append(fn())
for name, values in samples.items():
    print("%s %.0f" % (name, statistics.median(values)))
