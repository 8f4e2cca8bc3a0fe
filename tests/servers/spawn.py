"""The one test-server spawner: every harness (Rust, Python, Node, PHP) starts servers through it.

    python spawn.py capture [capture_server.py flags]   aiosmtpd capture server (tests/servers)
    python spawn.py sink [smtp-sink flags]              Postfix smtp-sink
    python spawn.py postfix [postfix_server.py flags]   a real Postfix + Dovecot (Maildir read back)
    python spawn.py exim [exim_server.py flags]         a real Exim (spool read back)
    python spawn.py dns                                 dnsmasq serving tests/dns/zone.conf

Prints `READY PORT DIR` once the server accepts connections (DIR: where the capture server writes
N.json + N.eml per message; empty for smtp-sink; for dns, where the test DKIM keys are). Runs
until its stdin closes or it gets SIGTERM, then stops the server by PID and removes DIR (the
capture servers' own). Python's harness uses the same classes in-process.
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dns_server import DnsServer  # noqa: E402

from harness import CaptureServer, SmtpSink, certs  # noqa: E402


def main(argv):
    if not argv or argv[0] not in ("capture", "sink", "postfix", "exim", "dns"):
        sys.exit("usage: spawn.py capture|sink|postfix|exim|dns [server flags]")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    kind, args = argv[0], argv[1:]
    if kind == "dns":
        server = DnsServer(certs())
        server.outdir = server.certs
    elif kind == "sink":
        server = SmtpSink(args)
    else:
        server = CaptureServer(args, mta=kind if kind in ("postfix", "exim") else None)
    try:
        print("READY %d %s" % (server.port, server.outdir), flush=True)
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
