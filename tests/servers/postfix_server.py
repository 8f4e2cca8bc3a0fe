"""A real Postfix (master, smtpd, cleanup, qmgr, virtual) with Dovecot SASL, in its own
directories, on a 127.0.0.1 high port: a submission service with STARTTLS (the test CA's
localhost certificate), AUTH PLAIN/LOGIN, PIPELINING, SIZE, 8BITMIME, SMTPUTF8 and DSN,
delivering every recipient in example.com / example.net to one Maildir; mail to bounce.example
is accepted and bounces (Postfix's DSN comes back to a local sender).

    python postfix_server.py --outdir DIR --certs CERTS [--user NAME:PASS ...] [--require-tls]

Prints `READY PORT` once it accepts connections. Each delivered message is read from the
Maildir and written to DIR as NNNNNN.eml + NNNNNN.json (mail_from, rcpt_tos, tls, auth taken
from the headers Postfix added), the layout capture_server.py writes, so every harness reads
both alike. Stops Postfix and Dovecot by PID on SIGTERM or when stdin closes.
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

SERVICES_KEPT = re.compile(
    r"^(pickup|cleanup|qmgr|tlsmgr|rewrite|bounce|defer|trace|verify|flush|proxymap|proxywrite|"
    r"smtp|relay|showq|error|retry|discard|virtual|anvil|scache|postlog)\s+(unix|unix-dgram|fifo)\s"
)


def master_cf(port, args):
    lines = []
    with open("/etc/postfix/master.cf") as f:
        for line in f:
            if SERVICES_KEPT.match(line):
                cols = line.split()
                cols[4] = "n"  # no chroot: the queue lives in a temporary directory
                lines.append(" ".join(cols))
    level = "encrypt" if args.require_tls else "may" if args.starttls else "none"
    options = [
        "-o smtpd_tls_security_level=%s" % level,
        "-o smtpd_sasl_auth_enable=%s" % ("yes" if args.user else "no"),
    ]
    if args.implicit_tls:
        options = ["-o smtpd_tls_wrappermode=yes", "-o smtpd_sasl_auth_enable=%s" % ("yes" if args.user else "no")]
    lines.append("127.0.0.1:%d inet n - n - - smtpd %s" % (port, " ".join(options)))
    return "\n".join(lines) + "\n"


def main_cf(d, certs, nobody, refuse):
    return "\n".join(
        [
            "compatibility_level = 3.6",
            "queue_directory = %s/queue" % d,
            "data_directory = %s/data" % d,
            "mail_owner = postfix",
            "setgid_group = postdrop",
            "maillog_file = %s/maillog" % d,
            "maillog_file_prefixes = %s" % d,
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "myhostname = postfix.test",
            "mydomain = postfix.test",
            "mydestination =",
            "relayhost =",
            "alias_maps =",
            "alias_database =",
            "local_recipient_maps =",
            "biff = no",
            "virtual_mailbox_domains = example.com example.net xn--bcher-kva.example",
            "virtual_mailbox_base = %s/mail" % d,
            "virtual_mailbox_maps = static:inbox/",
            "virtual_uid_maps = static:%d" % nobody.pw_uid,
            "virtual_gid_maps = static:%d" % nobody.pw_gid,
            "virtual_mailbox_limit = 0",
            "message_size_limit = 33554432",
            "smtputf8_enable = yes",
            "smtpd_tls_cert_file = %s/server.pem" % certs,
            "smtpd_tls_key_file = %s/server.key" % certs,
            "smtpd_tls_received_header = yes",
            "smtpd_sasl_type = dovecot",
            "smtpd_sasl_path = private/auth",
            "smtpd_sasl_authenticated_header = yes",
            "smtpd_tls_auth_only = no",
            # Nothing ever leaves this machine: other domains are refused or bounce at once.
            "smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination",
            "smtpd_recipient_restrictions = %s"
            % (
                "check_recipient_access inline:{ %s }" % ", ".join("{%s=550 5.1.1 refused}" % r for r in refuse)
                if refuse
                else ""
            ),
            "mynetworks = 127.0.0.0/8",
            # bounce.example is accepted, then every delivery to it fails: Postfix's own bounce
            # (a DSN) goes back to the sender, in the Maildir when the sender is local.
            "relay_domains = bounce.example",
            "smtpd_reject_unlisted_recipient = no",
            "transport_maps = inline:{ {bounce.example=error:5.1.1 mailbox does not exist} }",
            "default_transport = error:5.7.1 test server delivers to example.com and example.net only",
            "relay_transport = error:5.7.1 test server delivers to example.com and example.net only",
            "smtp_dns_support_level = disabled",
            "disable_dns_lookups = yes",
            "",
        ]
    )


def dovecot_conf(d, users_file):
    return """base_dir = %(d)s/dovecot
state_dir = %(d)s/dovecot-state
log_path = %(d)s/dovecot.log
protocols =
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %(users)s
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=%(d)s/mail
}
service auth {
  unix_listener %(d)s/queue/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service anvil {
  chroot =
}
default_internal_user = nobody
default_login_user = nobody
""" % {"d": d, "users": users_file}


def split_trace(raw):
    """(the headers Postfix prepended, the message as the client sent it, CRLF restored)."""
    lines = raw.split(b"\n")
    i = 0
    while i < len(lines) and re.match(rb"(?i)(Return-Path|X-Original-To|Delivered-To):", lines[i]):
        i += 1
    if i < len(lines) and lines[i].lower().startswith(b"received:"):
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
    trace = b"\n".join(lines[:i]).decode("utf-8", "replace")
    return re.sub(r"\n[ \t]+", " ", trace), b"\r\n".join(lines[i:])


def collect(maildir, outdir, stop):
    """Writes each delivered message to outdir as N.eml + N.json (json last, atomically). Postfix
    delivers a copy per recipient: copies with one queue id are one message, written once no
    copy of it arrived for 0.3 s."""
    seen, groups, n = set(), {}, 0
    new = os.path.join(maildir, "new")
    while not stop.is_set():
        try:
            names = sorted(os.listdir(new), key=lambda x: os.stat(os.path.join(new, x)).st_mtime_ns)
        except FileNotFoundError:
            names = []
        for name in names:
            if name in seen:
                continue
            seen.add(name)
            with open(os.path.join(new, name), "rb") as f:
                trace, body = split_trace(f.read())
            queue_id = (re.search(r"with E?SMTPS?A? id (\w+)", trace) or re.search(r"id (\w+)", trace) or [None, name])[
                1
            ]
            if groups.get(queue_id, 0) is None:
                continue  # a copy after its message was written (not seen with this settle time)
            g = groups.setdefault(queue_id, {"trace": trace, "body": body, "rcpts": [], "t": 0})
            g["rcpts"] += [r.strip() for r in re.findall(r"(?im)^X-Original-To: (.+)$", trace)]
            g["t"] = time.monotonic()
        for queue_id, g in list(groups.items()):
            if g is None or time.monotonic() - g["t"] < 0.3:
                continue
            n += 1
            trace = g["trace"]
            ret = re.search(r"(?im)^Return-Path: <([^>]*)>", trace)
            auth = re.search(r"\(Authenticated sender: ([^)]+)\)", trace)
            meta = {
                "mail_from": ret.group(1) if ret else None,
                "rcpt_tos": g["rcpts"],
                "tls": "(using TLS" in trace,
                "auth": auth.group(1) if auth else None,
                "queue_id": queue_id,
                "rcpt_order": "unknown",
            }
            write_capture(outdir, n, meta, g["body"])
            groups[queue_id] = None
        time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--detached", action="store_true", help="keep running when the starting process exits")
    ap.add_argument("--certs", required=True)
    ap.add_argument("--user", action="append", default=[], help="NAME:PASS for AUTH (Dovecot SASL)")
    ap.add_argument("--starttls", action="store_true", help="offer STARTTLS")
    ap.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte (smtps)")
    ap.add_argument("--require-tls", action="store_true", help="refuse mail before STARTTLS")
    ap.add_argument("--refuse", action="append", default=[], help="refuse this recipient (550 5.1.1)")
    args = ap.parse_args()
    nobody = pwd.getpwnam("nobody")
    d = tempfile.mkdtemp(prefix="pm-postfix-")
    os.chmod(d, 0o755)
    port = free_port()
    for sub in ("mail", "data", "queue", "dovecot", "dovecot-state"):
        os.makedirs(os.path.join(d, sub))
    os.chown(os.path.join(d, "mail"), nobody.pw_uid, nobody.pw_gid)
    os.chown(os.path.join(d, "data"), pwd.getpwnam("postfix").pw_uid, -1)
    users = os.path.join(d, "users")
    with open(users, "w") as f:
        for u in args.user:
            name, password = u.split(":", 1)
            f.write("%s:{PLAIN}%s\n" % (name, password))
    with open(os.path.join(d, "main.cf"), "w") as f:
        f.write(main_cf(d, os.path.abspath(args.certs), nobody, args.refuse))
    with open(os.path.join(d, "master.cf"), "w") as f:
        f.write(master_cf(port, args))
    with open(os.path.join(d, "dovecot.conf"), "w") as f:
        f.write(dovecot_conf(d, users))
    errors = open(os.path.join(d, "start.err"), "w+")

    def run(*cmd):
        # Not a pipe: the daemons keep the descriptors they inherit open.
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=errors, stderr=errors)

    stop = threading.Event()
    try:
        # `postfix start` creates the queue directories with their owners, then starts master.
        run("postfix", "-c", d, "start")
        run("dovecot", "-c", os.path.join(d, "dovecot.conf"))
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                if os.path.exists(os.path.join(d, "queue", "private", "auth")):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("postfix did not start: " + open(os.path.join(d, "maillog")).read()[-2000:])
            time.sleep(0.05)
        threading.Thread(
            target=collect, args=(os.path.join(d, "mail", "inbox"), args.outdir, stop), daemon=True
        ).start()
        print("READY %d" % port, flush=True)
        wait_until_stopped(args.detached)
    except subprocess.CalledProcessError:
        errors.seek(0)
        print("postfix did not start: %s" % errors.read()[-2000:], file=sys.stderr, flush=True)
        print("FAILED", flush=True)
    finally:
        stop.set()
        time.sleep(0.05)
        subprocess.run(["postfix", "-c", d, "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pid = os.path.join(d, "dovecot", "master.pid")
        if os.path.exists(pid):
            try:
                os.kill(int(open(pid).read().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
        if not os.environ.get("POLYMAILER_KEEP_POSTFIX"):
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
