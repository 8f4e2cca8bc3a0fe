"""A real DNS server for the deliverability checks: dnsmasq on 127.0.0.1, serving the test zone
(tests/dns/zone.conf) with the test DKIM keys filled in, UDP and TCP on one port.

    python dns_server.py --certs DIR [--zone FILE]   prints `READY PORT DIR` (DIR: the keys)

Runs until stdin closes or SIGTERM, then stops dnsmasq by PID. Nothing is forwarded: names
outside the zone are refused, so no public resolver is ever asked.
"""

import argparse
import base64
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lifecycle import free_port, wait_until_stopped  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ZONE = os.path.join(os.path.dirname(HERE), "dns", "zone.conf")
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
# {dkim:NAME} -> the key file in the certs directory
KEYS = {
    "good": "dkim-rsa.pkcs8.pem",
    "ed25519": "dkim-ed25519.pem",
    "other": "dkim-other.pem",
    "rsa1024": "dkim-rsa1024.pem",
    "rsa512": "dkim-rsa512.pem",
}


def public_key_b64(path):
    der = subprocess.run(
        ["openssl", "pkey", "-in", path, "-pubout", "-outform", "DER"], check=True, capture_output=True
    ).stdout
    if "ed25519" in os.path.basename(path):
        der = der[-32:]  # DKIM publishes the bare Ed25519 key (RFC 8463)
    return base64.b64encode(der).decode()


def query_a(port, name):
    """One A query over UDP; the first address in the answer, or None."""
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    packet = struct.pack(">HHHHHH", 0x5053, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(packet, ("127.0.0.1", port))
            reply = s.recv(512)
        except OSError:
            return None
    if len(reply) < 12 or struct.unpack(">H", reply[6:8])[0] == 0 or reply[-6:-4] != b"\x00\x04":
        return None
    return ".".join(str(b) for b in reply[-4:])


def render(zone_text, certs):
    def key(m):
        b64 = public_key_b64(os.path.join(certs, KEYS[m.group(1)]))
        return ",".join('"%s"' % b64[i : i + 250] for i in range(0, len(b64), 250))

    lines = zone_text.splitlines()
    return "\n".join(ln if ln.startswith("#") else re.sub(r"\{dkim:(\w+)\}", key, ln) for ln in lines) + "\n"


class DnsServer:
    def __init__(self, certs, zone=ZONE):
        self.dir = tempfile.mkdtemp(prefix="pm-dns-")
        conf = os.path.join(self.dir, "zone.conf")
        with open(zone) as f, open(conf, "w") as g:
            g.write(render(f.read(), certs))
        self.certs = certs
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen(
                [
                    DNSMASQ,
                    "--keep-in-foreground",
                    "--conf-file=" + conf,
                    "--port=%d" % self.port,
                    "--listen-address=127.0.0.1",
                    "--bind-interfaces",
                    "--no-resolv",
                    "--no-hosts",
                    "--no-poll",
                    "--pid-file=",
                    "--user=nobody",
                    "--log-facility=" + os.path.join(self.dir, "dnsmasq.log"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
            if self._answers():
                return
            self.proc.kill()
            self.proc.wait()
        self.stop()
        raise RuntimeError("dnsmasq did not start (see %s)" % DNSMASQ)

    def _answers(self):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if query_a(self.port, "mx.good.test") == "192.0.2.25":
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        if getattr(self, "proc", None) and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--certs", required=True)
    ap.add_argument("--zone", default=ZONE)
    ap.add_argument("--detached", action="store_true")
    args = ap.parse_args()
    server = DnsServer(args.certs, args.zone)
    try:
        print("READY %d %s" % (server.port, args.certs), flush=True)
        wait_until_stopped(args.detached)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
