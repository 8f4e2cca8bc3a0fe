"""Messages built per second (html + text + a 20 KB attachment), no sending:
polymailer's native Message vs the standard library's email package.

    python build_speed.py COUNT
"""

import sys
import time
from email.message import EmailMessage

import polymailer

ATTACHMENT = bytes(range(256)) * 80  # 20 KB
HTML = "<p>Hello <b>there</b>, this is the HTML part.</p>" * 4
TEXT = "Hello there, this is the text part.\n" * 4


def stdlib(i):
    msg = EmailMessage()
    msg["From"] = "Sender <sender@example.com>"
    msg["To"] = "rcpt@example.com"
    msg["Subject"] = "build %d" % i
    msg.set_content(TEXT)
    msg.add_alternative(HTML, subtype="html")
    msg.add_attachment(ATTACHMENT, maintype="application", subtype="octet-stream", filename="data.bin")
    return msg.as_bytes()


def native(i):
    return polymailer.Message(
        from_="Sender <sender@example.com>",
        to="rcpt@example.com",
        subject="build %d" % i,
        text=TEXT,
        html=HTML,
        attachments=[{"filename": "data.bin", "content": ATTACHMENT}],
    ).as_bytes()


def rate(fn, count):
    fn(0)
    start = time.perf_counter()
    for i in range(count):
        fn(i)
    return count / (time.perf_counter() - start)


count = int(sys.argv[1])
print("stdlib-email %.0f" % rate(stdlib, count))
print("polymailer-native %.0f" % rate(native, count))
