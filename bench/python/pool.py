"""msg/s for COUNT messages with Mailer.send_many over a pool of CONNECTIONS.

python pool.py PORT COUNT CONNECTIONS
"""

import sys
import time

import polymailer

port, count, connections = (int(a) for a in sys.argv[1:4])
body = "The quick brown fox jumps over the lazy dog. " * 16
mailer = polymailer.Mailer("127.0.0.1", port, security="none", pool=connections)
messages = [
    polymailer.Message(
        from_="Bench Sender <sender@example.com>", to="rcpt@example.com", subject="bench %d" % i, text=body
    )
    for i in range(count)
]
mailer.send_many(messages[: connections * 2])
start = time.perf_counter()
results = mailer.send_many(messages)
rate = count / (time.perf_counter() - start)
assert all(isinstance(r, polymailer.SendReport) for r in results)
print("polymailer-native-pool %.0f" % rate)
