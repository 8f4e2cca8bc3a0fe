"""What CPython's fake-socket tests check (see test_cpython_smtplib.FAKE_SOCKET), and LMTP,
against real sockets: a scripted server on 127.0.0.1 or a Unix socket, and aiosmtpd's LMTP."""

import contextlib
import os
import re
import socket
import tempfile
import threading
import time

import pytest
from aiosmtpd.controller import Controller, UnixSocketController
from aiosmtpd.lmtp import LMTP

import harness
from polymailer import smtplib


class Scripted:
    """A real socket server: sends `greeting`, then answers each line from `replies` (a dict of
    verb -> reply; None = stay silent), recording what it got and the client's address."""

    def __init__(self, greeting=b"220 scripted ESMTP\r\n", replies=None, unix_path=None):
        self.replies = {"EHLO": b"250-scripted\r\n250 AUTH PLAIN\r\n", "QUIT": b"221 bye\r\n", **(replies or {})}
        self.greeting, self.lines, self.peer = greeting, [], None
        family = socket.AF_UNIX if unix_path else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(unix_path or ("127.0.0.1", 0))
        self.address = unix_path or self.sock.getsockname()
        self.sock.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.address[1]

    def _serve(self):
        conn, self.peer = self.sock.accept()
        conn.settimeout(10)
        with conn, conn.makefile("rb") as f:
            conn.sendall(self.greeting)
            for raw in f:
                line = raw.rstrip(b"\r\n").decode()
                self.lines.append(line)
                reply = self.replies.get(line.split(" ")[0].upper(), b"250 ok\r\n")
                if reply is not None:
                    conn.sendall(reply)
                if line.upper() == "QUIT":
                    return

    def close(self):
        self.sock.close()


@pytest.fixture
def scripted():
    servers = []

    def start(**kw):
        servers.append(Scripted(**kw))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


def test_connect_host_port(scripted):
    srv = scripted()
    client = smtplib.SMTP("127.0.0.1", srv.port)
    assert client.sock is not None
    client.quit()
    assert client.sock is None
    srv = scripted()
    client = smtplib.SMTP()
    assert client.connect("127.0.0.1:%d" % srv.port) == (220, b"scripted ESMTP")
    client.close()


def test_local_hostname_is_sent(scripted):
    srv = scripted()
    with smtplib.SMTP("127.0.0.1", srv.port, local_hostname="testhost") as client:
        client.ehlo()
    assert srv.lines[0] == "EHLO testhost"


def test_source_address_binds(scripted):
    srv = scripted()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with smtplib.SMTP("127.0.0.1", srv.port, source_address=("127.0.0.1", port)) as client:
        client.noop()
    assert srv.peer == ("127.0.0.1", port)


@pytest.mark.parametrize("how", ["argument", "socket default"])
def test_timeout_bounds_a_stall(scripted, how):
    srv = scripted(replies={"NOOP": None})
    started = time.monotonic()
    if how == "argument":
        client = smtplib.SMTP("127.0.0.1", srv.port, timeout=0.5)
    else:
        socket.setdefaulttimeout(0.5)
        try:
            client = smtplib.SMTP("127.0.0.1", srv.port)
        finally:
            socket.setdefaulttimeout(None)
    with pytest.raises(TimeoutError) as err:
        client.noop()
    assert err.value.kind == "timeout"
    assert time.monotonic() - started < 5
    with pytest.raises(ValueError):
        smtplib.SMTP("127.0.0.1", srv.port, timeout=0)


@pytest.mark.parametrize("level,pattern", [(1, r"^connect: "), (2, r"^\d{2}:\d{2}:\d{2}\.\d{6} connect: ")])
def test_debuglevel_prints_connect_lines(scripted, capsys, level, pattern):
    srv = scripted()
    client = smtplib.SMTP()
    client.set_debuglevel(level)
    client.connect("127.0.0.1", srv.port)
    client.close()
    assert re.search(pattern, capsys.readouterr().err, re.MULTILINE)


def test_non_220_greeting_is_smtp_connect_error(scripted):
    srv = scripted(greeting=b"421 too busy\r\n")
    with pytest.raises(smtplib.SMTPConnectError) as err:
        smtplib.SMTP("127.0.0.1", srv.port)
    assert (err.value.smtp_code, err.value.smtp_error) == (421, b"too busy")


class LmtpDelivery:
    """LMTP's per-recipient answer after DATA: refuses mailbox `full@…` at delivery."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "\r\n".join(
            "552 5.2.2 mailbox full" if r.startswith("full@") else "250 2.0.0 delivered" for r in envelope.rcpt_tos
        )


class LmtpController(Controller):
    def factory(self):
        return LMTP(self.handler)


class LmtpUnixController(UnixSocketController):
    def factory(self):
        return LMTP(self.handler)


def _lmtp_roundtrip(client, handler):
    assert client.ehlo()[0] == 250
    refused = client.sendmail("a@example.com", ["b@example.com", "full@example.com"], "Subject: x\r\n\r\nhi\r\n")
    assert refused == {"full@example.com": (552, b"5.2.2 mailbox full")}
    # The connection stayed in step: the next transaction gets its own replies.
    assert client.sendmail("a@example.com", ["c@example.com"], "Subject: y\r\n\r\nhi\r\n") == {}
    client.quit()
    assert [e.rcpt_tos for e in handler.envelopes] == [["b@example.com", "full@example.com"], ["c@example.com"]]


def test_lmtp_per_recipient_replies_over_tcp():
    handler = LmtpDelivery()
    port = harness.free_port()
    ctl = LmtpController(handler, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        _lmtp_roundtrip(smtplib.LMTP("127.0.0.1", port), handler)
    finally:
        ctl.stop()


def test_lmtp_over_a_unix_socket():
    handler = LmtpDelivery()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "lmtp.sock")
        ctl = LmtpUnixController(handler, unix_socket=path)
        ctl.start()
        try:
            _lmtp_roundtrip(smtplib.LMTP(path), handler)
        finally:
            with contextlib.suppress(Exception):
                ctl.stop()
        with pytest.raises(ValueError):
            smtplib.LMTP(path, timeout=0)
