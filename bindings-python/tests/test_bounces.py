"""parse_bounce over the sample corpus (tests/bounces/expected.json), VERP through a capture
server and a real Postfix (its own bounce read back and parsed), one-click unsubscribe headers,
and the console script's parse-bounce."""

import email
import json
import os
import subprocess
import sys

import pytest

import harness
import polymailer

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "bounces")
CORPUS = json.load(open(os.path.join(SAMPLES, "expected.json")))
SECRET = "a secret of at least 16 bytes"


def read(name):
    with open(os.path.join(SAMPLES, name), "rb") as f:
        return f.read()


def check(name, want, got):
    for k, v in want.items():
        if k == "events":
            assert len(got.events) == len(v), (name, got)
            for we, ge in zip(v, got.events):
                for ek, ev in we.items():
                    have = {
                        "verp_recipient": ge.verp and ge.verp.recipient,
                        "verified": ge.verp and ge.verp.verified,
                    }.get(ek, getattr(ge, ek, None))
                    assert have == ev, (name, ek, ge)
        elif k == "dmarc":
            for dk, dv in v.items():
                have = len(got.dmarc.records) if dk == "records" else getattr(got.dmarc, dk)
                assert have == dv, (name, dk)
        else:
            assert getattr(got, k) == v, (name, k, got)


@pytest.mark.parametrize("name", sorted(CORPUS["files"]))
def test_sample_corpus(name):
    raw = read(name)
    got = polymailer.parse_bounce(raw, verp_secret=CORPUS["secret"])
    check(name, CORPUS["files"][name], got)
    assert bool(got) == (got.kind != "none")
    if name.endswith(".eml"):
        # The same report as an email.message.Message and as str.
        msg = email.message_from_bytes(raw)
        assert polymailer.parse_bounce(msg, verp_secret=CORPUS["secret"]).kind == got.kind
        assert polymailer.parse_bounce(raw.decode(), verp_secret=CORPUS["secret"]).kind == got.kind


def test_not_a_report_never_raises():
    for raw in (b"", b"\x00\xff\xfe", b"garbage\r\n\r\n", read("dsn-hard.eml")[:100]):
        r = polymailer.parse_bounce(raw)
        assert r.kind in ("none", "dsn")
    r = polymailer.parse_bounce(read("plain.eml"))
    assert not r and r.note and r.events == []
    assert polymailer.parse_bounce(read("dsn-hard.eml"), max_size=10).kind == "none"


def test_decode_verp():
    addr = "bounces+nobody=example.net-7plvibmj-2wc4s6x7qu@bounces.example.org"
    v = polymailer.decode_verp(addr, CORPUS["secret"])
    assert v.recipient == "nobody@example.net" and v.verified and v.prefix == "bounces"
    assert not polymailer.decode_verp(addr, b"another secret, 16 bytes+").verified
    assert not polymailer.decode_verp(addr).verified
    assert polymailer.decode_verp("alice@example.com") is None


def test_verp_one_transaction_per_recipient(capture):
    server = capture("--refuse", "refused@example.net")
    mailer = polymailer.Mailer(
        "127.0.0.1", server.port, security="none", verp={"domain": "bounces.example.org", "secret": SECRET}
    )
    msg = polymailer.Message(
        from_="news@example.com",
        to=["a@example.com", "b@example.net", "refused@example.net"],
        subject="verp",
        text="hi",
        message_id="<py-verp@example.com>",
    )
    report = mailer.send(msg)
    assert sorted(report.accepted) == ["a@example.com", "b@example.net"]
    assert [(r[0], r[1]) for r in report.rejected] == [("refused@example.net", 550)]
    got = server.wait_for(2)
    assert len(got) == 2
    for g in got:
        v = polymailer.decode_verp(g["meta"]["mail_from"], SECRET)
        assert v.verified and [v.recipient] == g["meta"]["rcpt_tos"]
    with pytest.raises(polymailer.InvalidInputError):
        polymailer.Mailer("127.0.0.1", server.port, verp={"domain": "x.example", "secret": "short"})


def test_postfix_bounce_round_trip():
    """A real Postfix accepts mail for bounce.example, fails it, and returns its own DSN to the
    VERP sender (a local mailbox): parsed, it names the recipient and verifies."""
    with harness.CaptureServer(mta="postfix") as server:
        mailer = polymailer.Mailer(
            "127.0.0.1", server.port, security="none", verp={"domain": "example.com", "secret": SECRET}
        )
        mailer.send(
            polymailer.Message(
                from_="news@example.com",
                to=["nobody@bounce.example"],
                subject="bounces",
                text="hi",
                message_id="<py-pf-1@example.com>",
            )
        )
        got = server.wait_for(1)
        assert len(got) == 1 and got[0]["meta"]["mail_from"] == ""
        r = polymailer.parse_bounce(got[0]["data"], verp_secret=SECRET)
        assert r.kind == "dsn" and r.standard and r.reporting_mta == "postfix.test"
        (e,) = r.events
        assert (e.recipient, e.action, e.status, e.bounce_class) == ("nobody@bounce.example", "failed", "5.1.1", "hard")
        assert e.original_message_id == "py-pf-1@example.com"
        assert e.verp.verified and e.verp.recipient == "nobody@bounce.example" and e.message_matches


def test_list_headers_and_one_click(capture):
    server = capture()
    mailer = polymailer.Mailer("127.0.0.1", server.port, security="none")
    msg = polymailer.Message(
        from_="news@example.com",
        to="a@example.com",
        subject="list",
        text="hi",
        list={
            "unsubscribe": ["https://example.com/u/1", ("unsub@example.com", "Unsubscribe")],
            "id": {"url": "news.example.com", "comment": "News"},
        },
        one_click_unsubscribe=True,
    )
    mailer.send(msg)
    text = server.wait_for(1)[0]["data"].decode().replace("\r\n ", " ")
    assert "List-Unsubscribe: <https://example.com/u/1>, <mailto:unsub@example.com> (Unsubscribe)\r\n" in text
    assert 'List-ID: "News" <news.example.com>\r\n' in text
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in text
    with pytest.raises(polymailer.InvalidInputError):
        polymailer.Message(
            from_="a@example.com",
            to="b@example.com",
            list={"unsubscribe": "mailto:u@x.example"},
            one_click_unsubscribe=True,
        )
    with pytest.raises(polymailer.InvalidInputError):
        polymailer.Message(
            from_="a@example.com", to="b@example.com", list={"help": ("https://x.example/h", "a\r\nBcc: x@y")}
        )
    # An email.message with a one-click header but no https URL: refused, nothing sent.
    raw = email.message_from_string(
        "From: a@example.com\nTo: b@example.com\nSubject: x\nList-Unsubscribe: <mailto:u@x.example>\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n\nbody\n"
    )
    with pytest.raises(polymailer.InvalidInputError):
        mailer.send(raw)
    assert len(server.wait_for(0)) == 1


def test_console_script_parse_bounce():
    exe = os.path.join(os.path.dirname(sys.executable), "polymailer")
    env = {**os.environ, "PM_VERP": CORPUS["secret"]}
    out = subprocess.run(
        [exe, "parse-bounce", "--json", "--verp-secret-env", "PM_VERP", os.path.join(SAMPLES, "arf-abuse.eml")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["kind"] == "arf" and d["events"][0]["verp"]["verified"] is True
    out = subprocess.run([exe, "parse-bounce", os.path.join(SAMPLES, "autoreply.eml")], capture_output=True, text=True)
    assert out.returncode == 1 and "kind: none" in out.stdout
