"""One 25 MB file attachment over one connection: seconds and peak RSS above the bare interpreter.

python large.py PORT FILE stdlib|polymailer|baseline   -> "name seconds rss_mb"
"""

import resource
import sys
import time
from email.message import EmailMessage

port, path, which = int(sys.argv[1]), sys.argv[2], sys.argv[3]
start = time.perf_counter()
if which == "stdlib":
    import smtplib

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "sender@example.com", "rcpt@example.com", "large"
    msg.set_content("see attachment")
    with open(path, "rb") as f:
        msg.add_attachment(f.read(), maintype="application", subtype="octet-stream", filename="large.bin")
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.send_message(msg)
elif which == "polymailer":
    import polymailer

    polymailer.Mailer("127.0.0.1", port, security="none").send(
        polymailer.Message(
            from_="sender@example.com",
            to="rcpt@example.com",
            subject="large",
            text="see attachment",
            attachments=[path],
        )
    )
secs = time.perf_counter() - start
print("%s %.2f %.1f" % (which, secs, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
