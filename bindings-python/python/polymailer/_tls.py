"""An ``ssl.SSLContext`` as the TLS options the engine takes (rustls, not OpenSSL, does the TLS)."""

import ssl


def from_context(context, server_hostname=None):
    """verify_mode, check_hostname and the CAs loaded into the context; None → verify with the system roots."""
    if context is None:
        return {"server_hostname": server_hostname} if server_hostname else None
    return {
        "verify": context.verify_mode != ssl.CERT_NONE,
        "check_hostname": bool(context.check_hostname),
        "cadata": context.get_ca_certs(binary_form=True),
        "native_roots": True,
        "server_hostname": server_hostname,
    }
