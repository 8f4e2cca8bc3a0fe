"""What every test server script shares: a free port, and waiting until it is asked to stop."""

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
