"""What every test server script shares: a free port, the layout of what it received, and
waiting until it is asked to stop."""

import json
import os
import signal
import socket
import stat
import sys
import threading


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_capture(outdir, n, meta, message):
    """Message n as OUTDIR/NNNNNN.eml + NNNNNN.json. The metadata is written last and atomically:
    a reader that sees the .json sees the whole message."""
    base = os.path.join(outdir, "%06d" % n)
    with open(base + ".eml", "wb") as f:
        f.write(message)
    with open(base + ".json.tmp", "w") as f:
        json.dump(meta, f)
    os.rename(base + ".json.tmp", base + ".json")


def wait_until_stopped(detached=False):
    """Returns on SIGTERM or SIGINT, when stdin (a harness's pipe) closes, or — unless
    `detached` (the demo starts servers in the background) — when the parent process is gone."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())

    def until_stdin_closes():
        while sys.stdin.buffer.read(65536):
            pass
        done.set()

    if stat.S_ISFIFO(os.fstat(0).st_mode):
        threading.Thread(target=until_stdin_closes, daemon=True).start()
    parent = os.getppid()
    while not done.wait(1):
        if not detached and os.getppid() != parent:
            return
