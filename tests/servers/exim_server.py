"""A real Exim 4 daemon (Debian's exim4-daemon-light, unpacked by scripts/setup.sh beside
Postfix, which the exim4 package would replace) in its own directory on a 127.0.0.1 high port:
STARTTLS (the test CA's localhost certificate) or TLS on connect, AUTH PLAIN/LOGIN, PIPELINING,
CHUNKING (BDAT), 8BITMIME, SMTPUTF8. Messages stay in its spool (queue_only), which is read back.

    python exim_server.py --outdir DIR --certs CERTS [--starttls] [--user NAME:PASS ...] ...

Prints `READY PORT`. Each accepted message is read from the spool (-H: envelope and headers,
-D: body) and written to DIR as NNNNNN.eml + NNNNNN.json, the capture server's layout. Stops
the daemon by PID on SIGTERM or when stdin (a pipe) closes.
"""

import argparse
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from lifecycle import free_port, wait_until_stopped, write_capture

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNPACKED = os.path.join(ROOT, "tests", ".state", "exim", "root")
EXIM = os.environ.get("POLYMAILER_EXIM", os.path.join(UNPACKED, "usr", "sbin", "exim4"))
USER = "Debian-exim"  # compiled into Debian's binary


def config(d, port, args):
    users = dict(u.split(":", 1) for u in args.user)
    refuse = "".join(
        "  deny condition = ${if eqi{$local_part@$domain}{%s}}\n       message = 5.1.1 refused\n" % r
        for r in args.refuse
    )
    # The password given must be the one listed for the name (an unknown name never matches).
    check = "${if and {{!eq{$auth%s}{}}{eq{${lookup{$auth%s}lsearch{%s/users}{$value}{}}}{$auth%s}}}}"
    out = [
        "primary_hostname = exim.test",
        "spool_directory = %s/spool" % d,
        "log_file_path = %s/spool/%%slog" % d,
        "keep_environment =",
        "queue_only = true",
        "exim_user = %s" % USER,
        "exim_group = %s" % USER,
        "never_users =",
        "daemon_smtp_ports = %d" % port,
        "local_interfaces = 127.0.0.1",
        "host_lookup =",
        "rfc1413_hosts =",
        "domainlist local_domains = example.com : example.net : xn--bcher-kva.example",
        "tls_certificate = %s/spool/server.pem" % d,
        "tls_privatekey = %s/spool/server.key" % d,
        "tls_advertise_hosts = %s" % ("*" if args.starttls or args.implicit_tls else ""),
        "smtputf8_advertise_hosts = *",
        "chunking_advertise_hosts = *",
        "pipelining_advertise_hosts = *",
        "auth_advertise_hosts = %s" % ("*" if users else ""),
        "message_size_limit = 32M",
        "acl_smtp_mail = acl_mail",
        "acl_smtp_rcpt = acl_rcpt",
    ]
    if args.implicit_tls:
        out.append("tls_on_connect_ports = %d" % port)
    out += [
        "begin acl",
        "acl_mail:",
        "  deny condition = %s\n       !encrypted = *\n       message = 5.7.0 STARTTLS first"
        % ("true" if args.require_tls else "false"),
        "  accept",
        "acl_rcpt:",
        refuse + "  accept domains = +local_domains",
        "  deny message = 5.7.1 relay not permitted",
        "begin routers",
        "begin transports",
        "begin authenticators",
        "plain:\n  driver = plaintext\n  public_name = PLAIN\n  server_prompts = :\n"
        "  server_condition = %s\n  server_set_id = $auth2" % (check % ("3", "2", d, "3")),
        "login:\n  driver = plaintext\n  public_name = LOGIN\n  server_prompts = Username:: : Password::\n"
        "  server_condition = %s\n  server_set_id = $auth1" % (check % ("2", "1", d, "2")),
    ]
    return "\n".join(out) + "\n"


def read_spool(header_file):
    """(meta, message bytes) from an -H file and its -D file."""
    with open(header_file, "rb") as f:
        lines = f.read().split(b"\n")
    sender = lines[2].decode().strip("<>")
    i = lines.index(b"XX") + 1
    count = int(lines[i])
    rcpts = [line.decode() for line in lines[i + 1 : i + 1 + count]]
    options = [line.decode("utf-8", "replace") for line in lines[3 : i - 1]]
    auth = next((o.split(" ", 1)[1] for o in options if o.startswith("--auth_id ")), None)
    headers, raw = [], b"\n".join(lines[i + 2 + count :])
    pos = 0
    while pos < len(raw):
        m = re.match(rb"(\d+)(.) ", raw[pos:])
        if not m:
            break
        start = pos + m.end()
        text = raw[start : start + int(m.group(1))]
        if m.group(2) not in (b"P", b"*"):  # P: the Received Exim added; *: deleted
            headers.append(text)
        pos = start + int(m.group(1))
    with open(header_file[:-2] + "-D", "rb") as f:
        body = f.read().split(b"\n", 1)[1]
    message = (b"".join(headers) + b"\n" + body).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    meta = {
        "mail_from": sender,
        "rcpt_tos": rcpts,
        "tls": any(o.startswith("-tls_cipher ") for o in options),
        "auth": auth,
        "mail_options": ["SMTPUTF8"] if "-smtputf8" in options else [],
    }
    return meta, message


def collect(input_dir, outdir, stop):
    seen, n = set(), 0
    while not stop.is_set():
        try:
            names = sorted(
                (x for x in os.listdir(input_dir) if x.endswith("-H")),
                key=lambda x: os.stat(os.path.join(input_dir, x)).st_mtime_ns,
            )
        except FileNotFoundError:
            names = []
        for name in names:
            if name in seen:
                continue
            seen.add(name)
            meta, message = read_spool(os.path.join(input_dir, name))
            n += 1
            write_capture(outdir, n, meta, message)
        time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--detached", action="store_true", help="keep running when the starting process exits")
    ap.add_argument("--certs", required=True)
    ap.add_argument("--user", action="append", default=[], help="NAME:PASS for AUTH")
    ap.add_argument("--starttls", action="store_true")
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--require-tls", action="store_true")
    ap.add_argument("--refuse", action="append", default=[])
    args = ap.parse_args()
    if not os.path.exists(EXIM):
        print("FAILED exim is not unpacked (scripts/setup.sh)", flush=True)
        return 1
    exim = pwd.getpwnam(USER)
    d = tempfile.mkdtemp(prefix="pm-exim-")
    os.chmod(d, 0o755)
    port = free_port()
    spool = os.path.join(d, "spool")
    os.makedirs(spool)
    for name in ("server.pem", "server.key"):
        shutil.copy(os.path.join(args.certs, name), spool)
    with open(os.path.join(d, "users"), "w") as f:
        for u in args.user:
            name, password = u.split(":", 1)
            f.write("%s: %s\n" % (name, password))
    for path in [spool] + [os.path.join(spool, x) for x in os.listdir(spool)]:
        os.chown(path, exim.pw_uid, exim.pw_gid)
    conf = os.path.join(d, "exim.conf")
    with open(conf, "w") as f:
        f.write(config(d, port, args))
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(UNPACKED, "usr", "lib", "x86_64-linux-gnu"))
    pid_file = os.path.join(d, "exim.pid")
    stop = threading.Event()
    try:
        subprocess.run([EXIM, "-C", conf, "-bd", "-oP", pid_file], check=True, env=env, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    print("FAILED exim did not start", flush=True)
                    return 1
                time.sleep(0.05)
        threading.Thread(target=collect, args=(os.path.join(spool, "input"), args.outdir, stop), daemon=True).start()
        print("READY %d" % port, flush=True)
        wait_until_stopped(args.detached)
    finally:
        stop.set()
        time.sleep(0.05)
        try:
            os.kill(int(open(pid_file).read().strip()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
        if not os.environ.get("POLYMAILER_KEEP_EXIM"):
            shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
