#!/usr/bin/env python3
"""Prints one line per message the server received in OUTDIR (waiting up to 10 s for N);
exit 1 if fewer than N.

show_received.py OUTDIR [N]
"""

import email
import email.policy
import glob
import json
import os
import sys
import time


def main():
    outdir = sys.argv[1]
    want = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    # A real MTA delivers after it accepted: wait up to 10 s for the expected count.
    deadline = time.monotonic() + 10
    while len(glob.glob(os.path.join(outdir, "*.json"))) < want and time.monotonic() < deadline:
        time.sleep(0.05)
    metas = sorted(glob.glob(os.path.join(outdir, "*.json")))
    for path in metas:
        meta = json.load(open(path))
        msg = email.message_from_binary_file(open(path[:-5] + ".eml", "rb"), policy=email.policy.default)
        print(
            "  from=<%s> to=%s tls=%s auth=%s subject=%r message-id=%s"
            % (
                meta["mail_from"],
                ",".join("<%s>" % r for r in meta["rcpt_tos"]),
                "yes" if meta["tls"] else "no",
                "yes" if meta["auth"] else "no",
                str(msg.get("Subject", "")),
                msg.get("Message-ID", "(none)"),
            )
        )
    print("%d message(s) received, %d expected" % (len(metas), want))
    return 0 if len(metas) >= want else 1


if __name__ == "__main__":
    sys.exit(main())
