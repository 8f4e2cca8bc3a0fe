"""Starts the shared real test servers and reads what they got; spawn.py runs these classes for
the Rust, Node and PHP harnesses.

with CaptureServer(["--starttls", "--user", "u:p"]) as srv:
    ... srv.port ...
    msgs = srv.wait_for(1)   # [{"meta": {...}, "data": b"..."}]
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CERTS = os.path.join(ROOT, "tests", ".state", "certs")
SMTP_SINK = os.environ.get("SMTP_SINK", "/usr/sbin/smtp-sink")


def certs():
    subprocess.run([os.path.join(HERE, "make-certs.sh"), CERTS], check=True)
    return CERTS


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CaptureServer:
    """tests/servers/capture_server.py in a child process, stopped by PID. With
    POLYMAILER_MTA=postfix or =exim, a real Postfix or Exim (postfix_server.py, exim_server.py)
    takes the same flags instead."""

    def __init__(self, args=(), mta=None):
        self.outdir = tempfile.mkdtemp(prefix="pm-capture-")
        mta = mta or os.environ.get("POLYMAILER_MTA")
        server = {"postfix": "postfix_server.py", "exim": "exim_server.py"}.get(mta, "capture_server.py")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                os.path.join(HERE, server),
                "--outdir",
                self.outdir,
                "--certs",
                certs(),
                *args,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError("capture server did not start: %r" % line)
        self.port = int(line.split()[1])

    def messages(self):
        out = []
        for name in sorted(os.listdir(self.outdir)):
            if name.endswith(".json"):
                base = os.path.join(self.outdir, name[:-5])
                with open(base + ".json") as f, open(base + ".eml", "rb") as g:
                    out.append({"meta": json.load(f), "data": g.read(), "eml": base + ".eml"})
        return out

    def wait_for(self, n, timeout=10):
        """At least n messages, or what arrived by the timeout. n=0 ("nothing arrives") waits
        a settle time (at most 1 s), so a late delivery is still seen."""
        if n == 0:
            time.sleep(min(timeout, 1))
            return self.messages()
        deadline = time.monotonic() + timeout
        while True:
            got = self.messages()
            if len(got) >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.02)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.terminate()  # both servers stop cleanly (Postfix and Dovecot by PID) on SIGTERM
            self.proc.wait(20)
        shutil.rmtree(self.outdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class SmtpSink:
    """Postfix smtp-sink with fault flags (e.g. ["-Q", "mail"]), stopped by PID."""

    def __init__(self, args=()):
        self.outdir = tempfile.mkdtemp(prefix="pm-sink-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [SMTP_SINK, "-u", "nobody", *args, "127.0.0.1:%d" % self.port, "256"], stdout=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("smtp-sink did not start")
                time.sleep(0.02)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.outdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def dkim_verify(eml_bytes, record_file):
    import dkim

    record = open(record_file, "rb").read().strip()
    return dkim.verify(eml_bytes, dnsfunc=lambda name, timeout=5: record)
