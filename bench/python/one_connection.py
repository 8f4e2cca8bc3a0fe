"""msg/s over one connection: stdlib smtplib vs polymailer.smtplib vs polymailer's native API.

python one_connection.py PORT COUNT   -> one "name msg/s" line per sender
"""

import smtplib as std_smtplib
import sys
import time
from email.message import EmailMessage

import polymailer
from polymailer import smtplib as pm_smtplib

BODY = "The quick brown fox jumps over the lazy dog. " * 16


def email_message(i):
    msg = EmailMessage()
    msg["From"] = "Bench Sender <sender@example.com>"
    msg["To"] = "rcpt@example.com"
    msg["Subject"] = "bench message %d" % i
    msg.set_content(BODY)
    return msg


def via_smtplib(module, port, count):
    with module.SMTP("127.0.0.1", port) as server:
        server.send_message(email_message(0))
        start = time.perf_counter()
        for i in range(count):
            server.send_message(email_message(i))
        return count / (time.perf_counter() - start)


def via_smtplib_prebuilt(module, port, messages):
    """send_message only: the EmailMessage objects are built before the clock starts."""
    with module.SMTP("127.0.0.1", port) as server:
        server.send_message(messages[0])
        start = time.perf_counter()
        for m in messages:
            server.send_message(m)
        return len(messages) / (time.perf_counter() - start)


def build_cost(count):
    """Microseconds per EmailMessage built (what the stdlib email package costs every sender)."""
    start = time.perf_counter()
    for i in range(count):
        email_message(i)
    return (time.perf_counter() - start) / count * 1e6


def via_native(port, count):
    mailer = polymailer.Mailer("127.0.0.1", port, security="none")
    make = lambda i: polymailer.Message(  # noqa: E731
        from_="Bench Sender <sender@example.com>", to="rcpt@example.com", subject="bench message %d" % i, text=BODY
    )
    mailer.send(make(0))
    start = time.perf_counter()
    for i in range(count):
        mailer.send(make(i))
    return count / (time.perf_counter() - start)


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    print("stdlib-smtplib %.0f" % via_smtplib(std_smtplib, port, count))
    print("polymailer-smtplib %.0f" % via_smtplib(pm_smtplib, port, count))
    print("polymailer-native %.0f" % via_native(port, count))
    messages = [email_message(i) for i in range(count)]
    print("stdlib-smtplib-prebuilt %.0f" % via_smtplib_prebuilt(std_smtplib, port, messages))
    print("polymailer-smtplib-prebuilt %.0f" % via_smtplib_prebuilt(pm_smtplib, port, messages))
    print("emailmessage-build-us %.0f" % build_cost(min(count, 500)))


if __name__ == "__main__":
    main()
