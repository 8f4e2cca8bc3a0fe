"""The shared scenario corpus (tests/scenarios/*.json) through the native Python API."""

import glob
import json
import os
import sys

import pytest

import harness
import polymailer

SCENARIOS = os.path.join(harness.ROOT, "tests", "scenarios")
sys.path.insert(0, SCENARIOS)
import check  # noqa: E402

FILES = sorted(glob.glob(os.path.join(SCENARIOS, "*.json")))


def content(att):
    if "pattern" in att:
        return check.pattern_bytes(att["pattern"])
    return att["content"].encode()


def mailboxes(items):
    return [(m.get("name"), m["address"]) for m in items or []]


def attachment(a, tmp):
    """Bytes in memory, or (with "source": "file") a file given by path."""
    out = {"filename": a["filename"], "content_type": a.get("content_type"), "cid": a.get("cid")}
    if a.get("source") == "file":
        path = os.path.join(tmp, a["filename"])
        with open(path, "wb") as f:
            f.write(content(a))
        out["path"] = path
    else:
        out["content"] = content(a)
    return out


def message(spec, tmp):
    return polymailer.Message(
        from_=mailboxes([spec["from"]]),
        to=mailboxes(spec.get("to")),
        cc=mailboxes(spec.get("cc")),
        bcc=mailboxes(spec.get("bcc")),
        reply_to=mailboxes(spec.get("reply_to")),
        subject=spec.get("subject"),
        text=spec.get("text"),
        html=spec.get("html"),
        headers=spec.get("headers"),
        attachments=[attachment(a, tmp) for a in spec.get("attachments", [])],
    )


def mailer(transport, port, certs):
    kw = {"security": transport["security"], "timeout": 10}
    if transport.get("ca"):
        kw["tls"] = {"cafile": os.path.join(certs, "ca.pem"), "native_roots": False}
    if "auth" in transport:
        kw.update(username=transport["auth"]["user"], password=transport["auth"]["pass"])
    if "dkim" in transport:
        d = transport["dkim"]
        kw["dkim"] = {
            "domain": d["domain"],
            "selector": d["selector"],
            "private_key_file": os.path.join(certs, d["key"]),
        }
    return polymailer.Mailer("localhost", port, **kw)


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f)[:-5] for f in FILES])
def test_scenario(path, certs, tmp_path):
    scn = json.load(open(path))
    server = (harness.CaptureServer if scn["server"]["kind"] == "capture" else harness.SmtpSink)(scn["server"]["args"])
    try:
        expect = scn["expect"]
        try:
            report = mailer(scn["transport"], server.port, certs).send(message(scn["message"], str(tmp_path)))
        except Exception as e:  # noqa: BLE001 — the scenario says which kind it must be
            assert "error" in expect, "unexpected %s: %s" % (type(e).__name__, e)
            assert getattr(e, "kind", None) == expect["error"], "%s (%s): %s" % (
                getattr(e, "kind", None),
                type(e).__name__,
                e,
            )
        else:
            assert "error" not in expect, "expected a %s error, got %s" % (expect.get("error"), report)
            assert [r[0] for r in report.rejected] == expect.get("rejected", [])
        if scn["server"]["kind"] == "capture":
            server.wait_for(1 if expect["delivered"] else 0, timeout=2 if not expect["delivered"] else 10)
            assert check.check(scn, server.outdir) == []
    finally:
        server.stop()
