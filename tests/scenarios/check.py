#!/usr/bin/env python3
"""Checks what the capture server received against a scenario's expectations.

    check.py SCENARIO.json OUTDIR   -> prints "ok" (exit 0) or one line per mismatch (exit 1)

Used by every language's scenario runner, so a delivered message is judged the same way
whichever binding sent it. Errors (expect.error) are checked by the runners themselves.
"""

import email
import email.policy
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CERTS = os.path.join(HERE, "..", ".state", "certs")


def pattern_bytes(p):
    if p.get("bytes") == "all":
        return bytes(i % 256 for i in range(p["count"]))
    raise ValueError("unknown pattern %r" % p)


def leaves(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


def check(scenario, outdir):
    expect = scenario["expect"]
    metas = sorted(glob.glob(os.path.join(outdir, "*.json")))
    problems = []
    if not expect["delivered"]:
        return ["%d message(s) delivered, none expected" % len(metas)] if metas else []
    if len(metas) != 1:
        return ["%d message(s) delivered, one expected" % len(metas)]
    meta = json.load(open(metas[0]))
    raw = open(metas[0][:-5] + ".eml", "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    env = expect.get("envelope")
    # A real MTA's Maildir holds a copy per recipient and not the RCPT order: compare as sets.
    unordered = meta.get("rcpt_order") == "unknown"
    got_to = sorted(meta["rcpt_tos"]) if unordered else meta["rcpt_tos"]
    if env and (meta["mail_from"], got_to) != (env["from"], sorted(env["to"]) if unordered else env["to"]):
        problems.append(
            "envelope %r %r, expected %r %r" % (meta["mail_from"], meta["rcpt_tos"], env["from"], env["to"])
        )
    if "tls" in expect and meta["tls"] != expect["tls"]:
        problems.append("tls=%s, expected %s" % (meta["tls"], expect["tls"]))
    if "auth" in expect and meta["auth"] != expect["auth"]:
        problems.append("auth=%r, expected %r" % (meta["auth"], expect["auth"]))
    for name, value in expect.get("headers", {}).items():
        got = msg.get(name)
        if got is None or str(got) != value:
            problems.append("header %s=%r, expected %r" % (name, None if got is None else str(got), value))
    for name in expect.get("absent_headers", []):
        if msg.get(name) is not None:
            problems.append("header %s present" % name)
    head, _, _ = raw.partition(b"\r\n\r\n")
    for text in expect.get("absent_text", []):
        if text.encode() in raw:
            problems.append("%r appears in the message" % text)
    if expect.get("ascii_headers") and not head.isascii():
        problems.append("raw header section is not ASCII (RFC 2047 expected)")
    if "max_line" in expect and max(len(line) for line in raw.split(b"\r\n")) > expect["max_line"]:
        problems.append("a line is longer than %d" % expect["max_line"])
    if "parts" in expect:
        got = leaves(msg)
        if len(got) != len(expect["parts"]):
            problems.append(
                "%d parts %r, expected %d" % (len(got), [p.get_content_type() for p in got], len(expect["parts"]))
            )
        for part, want in zip(got, expect["parts"]):
            if part.get_content_type() != want["content_type"]:
                problems.append("part %s, expected %s" % (part.get_content_type(), want["content_type"]))
            if "filename" in want and part.get_filename() != want["filename"]:
                problems.append("filename %r, expected %r" % (part.get_filename(), want["filename"]))
            if "cid" in want and (part.get("Content-ID") or "").strip("<>") != want["cid"]:
                problems.append("Content-ID %r, expected <%s>" % (part.get("Content-ID"), want["cid"]))
            payload = part.get_payload(decode=True) or b""
            if "text" in want:
                text = payload.decode(part.get_content_charset() or "utf-8").replace("\r\n", "\n")
                if text.rstrip("\n") != want["text"].rstrip("\n"):
                    problems.append("part body %r, expected %r" % (text[:80], want["text"][:80]))
            if "pattern" in want and payload != pattern_bytes(want["pattern"]):
                problems.append(
                    "binary part differs (%d bytes, expected %d)" % (len(payload), want["pattern"]["count"])
                )
    if "dkim" in expect:
        import dkim

        record = open(os.path.join(CERTS, expect["dkim"]), "rb").read().strip()
        if not raw.startswith(b"DKIM-Signature:") or not dkim.verify(raw, dnsfunc=lambda name, timeout=5: record):
            problems.append("DKIM signature does not verify")
    return problems


def main():
    scenario = json.load(open(sys.argv[1]))
    problems = check(scenario, sys.argv[2])
    print("\n".join(problems) if problems else "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
