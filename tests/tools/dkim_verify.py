#!/usr/bin/env python3
"""Verifies a message's DKIM signature with dkimpy, the DNS TXT record read from a file.

dkim_verify.py MESSAGE.eml RECORD.txt   -> prints "pass" (exit 0) or "fail: ..." (exit 1)
"""

import sys

import dkim


def main():
    message = open(sys.argv[1], "rb").read()
    record = open(sys.argv[2], "rb").read().strip()

    def dnsfunc(name, timeout=5):
        return record

    ok = dkim.verify(message, dnsfunc=dnsfunc)
    print("pass" if ok else "fail: signature did not verify")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
