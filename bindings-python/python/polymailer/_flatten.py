"""Stdlib ``email`` objects to bytes, as smtplib's ``send_message`` flattens them."""

import email.generator
import email.policy
import io


def flatten(msg, international=False):
    """The message as CRLF bytes; ``international`` keeps UTF-8 headers (SMTPUTF8)."""
    if isinstance(msg, (bytes, bytearray)):
        return bytes(msg)
    if isinstance(msg, str):
        return msg.encode("utf-8")
    if not hasattr(msg, "policy"):
        raise TypeError("expected a polymailer.Message, an email.message.Message or bytes, got %r" % type(msg).__name__)
    with io.BytesIO() as out:
        policy = msg.policy.clone(utf8=True) if international and hasattr(msg.policy, "utf8") else msg.policy
        email.generator.BytesGenerator(out, policy=policy).flatten(msg, linesep="\r\n")
        return out.getvalue()
