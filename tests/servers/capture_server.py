#!/usr/bin/env python3
"""aiosmtpd capture server for polymailer's tests, shared by every language's suite.

Prints "READY <port>" on stdout once listening. Each accepted message is written to OUTDIR as
NNNNNN.eml (the bytes received) and NNNNNN.json (envelope, TLS and AUTH flags). Stop it by PID
(SIGTERM).

    capture_server.py --outdir DIR [--port 0] [--starttls|--implicit-tls] --certs DIR
                      [--user NAME:PASS ...] [--require-auth] [--refuse ADDR ...] [--size N] [--pipelining]
                      [--close-every N]   (every Nth MAIL, counted across sessions: 421 and close)
"""

import argparse
import asyncio
import base64
import logging
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from lifecycle import write_capture

# Quiet: aiosmtpd warns about its own deprecated Session.login_data on every AUTH and logs
# the TLS failures the tests provoke on purpose.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


def _peer_cn(ssl_object):
    """The client certificate's common name, when the client presented one."""
    cert = ssl_object.getpeercert() if ssl_object is not None else None
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


class Capture:
    def __init__(self, outdir, refuse, users, pipelining=False, close_every=0):
        self.pipelining = pipelining
        self.close_every = close_every
        self.mails = 0
        self.outdir = outdir
        self.refuse = {a.lower() for a in refuse}
        self.users = users
        self.count = 0
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            # aiosmtpd reads pipelined commands one at a time; announcing it is enough.
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.mails += 1
            closing = self.close_every and self.mails % self.close_every == 0
        if closing:
            # The reply is flushed before the transport closes.
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.3.2 Service shutting down, closing transmission channel"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        login = getattr(session.auth_data, "login", None)
        meta = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "rcpt_options": envelope.rcpt_options,
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "auth": login.decode() if isinstance(login, bytes) else login,
            "helo": session.host_name,
            "session": "%x" % id(session),
            "client_cert": _peer_cn(
                server.transport.get_extra_info("ssl_object") or (session.ssl or {}).get("ssl_object")
            ),
        }
        write_capture(self.outdir, n, meta, envelope.original_content)
        return "250 2.0.0 Ok: queued as %06d" % n

    async def auth_XOAUTH2(self, server, args):
        if len(args) < 2:
            return AuthResult(success=False)
        raw = base64.b64decode(args[1]).decode()
        fields = dict(p.split("=", 1) for p in raw.split("\x01") if "=" in p)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        ok = self.users.get(user) == token
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(user.encode(), b"") if ok else None)

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = self.users.get(auth_data.login.decode()) == auth_data.password.decode()
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--detached", action="store_true", help="keep running when the starting process exits")
    ap.add_argument("--certs")
    ap.add_argument("--starttls", action="store_true")
    ap.add_argument("--cert", default="server", help="certificate NAME.pem in --certs (key: server.key)")
    ap.add_argument("--client-ca", help="require a client certificate issued by this CA file")
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--user", action="append", default=[])
    ap.add_argument("--require-auth", action="store_true")
    ap.add_argument("--refuse", action="append", default=[])
    ap.add_argument("--pipelining", action="store_true", help="announce PIPELINING")
    ap.add_argument("--size", type=int, default=33554432, help="SIZE limit announced and enforced")
    ap.add_argument("--close-every", type=int, default=0, help="421 and close at every Nth MAIL")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)

    if args.port == 0:
        import socket

        s = socket.socket()
        s.bind((args.host, 0))
        args.port = s.getsockname()[1]
        s.close()

    ctx = None
    if args.starttls or args.implicit_tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.path.join(args.certs, args.cert + ".pem"), os.path.join(args.certs, "server.key"))
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.client_ca)
    users = dict(u.split(":", 1) for u in args.user)
    handler = Capture(args.outdir, args.refuse, users, args.pipelining, args.close_every)
    kwargs = dict(
        authenticator=handler.authenticator if users else None,
        auth_required=args.require_auth,
        auth_require_tls=False,
        enable_SMTPUTF8=True,
        data_size_limit=args.size,
    )
    if args.starttls:
        kwargs["tls_context"] = ctx
    controller = Controller(
        handler,
        hostname=args.host,
        port=args.port,
        server_hostname="capture.test",
        ssl_context=ctx if args.implicit_tls else None,
        **kwargs,
    )
    controller.start()
    print("READY %d" % args.port, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    while not stop.wait(1):
        if not args.detached and os.getppid() != parent:  # our test process died without stopping us
            break
    controller.stop()


if __name__ == "__main__":
    sys.exit(main())
