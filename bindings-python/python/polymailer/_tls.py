"""An ``ssl.SSLContext`` as the TLS options the engine takes (rustls, not OpenSSL, does the TLS)."""

import os
import re
import ssl

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_original_load_verify_locations = ssl.SSLContext.load_verify_locations


def _recording_load_verify_locations(self, cafile=None, capath=None, cadata=None):
    # SSLContext.get_ca_certs() lists only CA:TRUE certificates, so a self-signed CA:FALSE
    # certificate given as trusted would never reach the engine: remember what was loaded.
    result = _original_load_verify_locations(self, cafile, capath, cadata)
    try:
        # The file's content now: the context keeps it even if the file goes away.
        if cafile:
            cafile, cadata_now = None, _read(os.fspath(cafile)).decode("ascii", "replace")
            self.__dict__.setdefault("_polymailer_trust", []).append((None, None, cadata_now))
        self.__dict__.setdefault("_polymailer_trust", []).append((cafile, capath, cadata))
    except AttributeError:
        pass
    return result


_original_load_cert_chain = ssl.SSLContext.load_cert_chain


def _recording_load_cert_chain(self, certfile, keyfile=None, password=None):
    # The client certificate (mutual TLS): the files' content as loaded, for the engine.
    result = _original_load_cert_chain(self, certfile, keyfile, password)
    try:
        if callable(password):
            password = password()
        if isinstance(password, (bytes, bytearray)):
            password = bytes(password).decode("utf-8")
        self.__dict__["_polymailer_client_cert"] = (
            os.fspath(certfile),
            _read(os.fspath(certfile)),
            _read(os.fspath(keyfile)) if keyfile else None,
            password,
        )
    except AttributeError:
        pass
    return result


# Only records the arguments; loading is the standard library's own.
ssl.SSLContext.load_verify_locations = _recording_load_verify_locations
ssl.SSLContext.load_cert_chain = _recording_load_cert_chain


def _pem_certs(data):
    return [ssl.PEM_cert_to_DER_cert(m.decode("ascii")) for m in _PEM.findall(data)]


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _loaded_certs(context):
    """DER certificates the context was given, CA or not, in the order given."""
    out = list(context.get_ca_certs(binary_form=True))
    for cafile, capath, cadata in getattr(context, "_polymailer_trust", ()):
        if cafile:
            out.extend(_pem_certs(_read(os.fspath(cafile))))
        if capath:
            folder = os.fspath(capath)
            for name in sorted(os.listdir(folder)):
                full = os.path.join(folder, name)
                if os.path.isfile(full):
                    out.extend(_pem_certs(_read(full)))
        if isinstance(cadata, str):
            out.extend(_pem_certs(cadata.encode("ascii", "replace")))
        elif cadata:
            out.append(bytes(cadata))
    seen, unique = set(), []
    for der in out:
        if der not in seen:
            seen.add(der)
            unique.append(der)
    return unique


def from_context(context, server_hostname=None):
    """verify_mode, check_hostname and the CAs loaded into the context; None → verify with the system roots."""
    if context is None:
        return {"server_hostname": server_hostname} if server_hostname else None
    certfile, certdata, keydata, password = getattr(context, "_polymailer_client_cert", (None, None, None, None))
    return {
        "certfile": certfile,
        "certdata": certdata,
        "keydata": keydata,
        "keypassword": password,
        "verify": context.verify_mode != ssl.CERT_NONE,
        "check_hostname": bool(context.check_hostname),
        "cadata": _loaded_certs(context),
        "native_roots": True,
        "server_hostname": server_hostname,
    }
