"""RSS over COUNT messages through one pooled Mailer (send_many in batches of 1,000): start,
peak and end in MB, and msg/s. Flat start → end means no leak.

python soak.py PORT COUNT
"""

import sys
import time

import polymailer


def rss():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


port, count = (int(a) for a in sys.argv[1:3])
body = "The quick brown fox jumps over the lazy dog. " * 16
mailer = polymailer.Mailer("127.0.0.1", port, security="none", pool=1)
batch = 1000
msg = lambda i: polymailer.Message(  # noqa: E731
    from_="Bench Sender <sender@example.com>", to="rcpt@example.com", subject="soak %d" % i, text=body
)
mailer.send_many([msg(i) for i in range(batch)])
start_rss, _ = rss()
start = time.perf_counter()
sent = 0
while sent < count:
    results = mailer.send_many([msg(sent + i) for i in range(batch)])
    assert all(isinstance(r, polymailer.SendReport) for r in results), results[0]
    sent += batch
secs = time.perf_counter() - start
end_rss, peak = rss()
print("python start %.1f peak %.1f end %.1f rate %.0f" % (start_rss, peak, end_rss, sent / secs))
