"""GitHub webhook signatures: HMAC-SHA256 over the raw body, compared in constant time.

GitHub sends `X-Hub-Signature-256: sha256=<hex>`. The signature covers the exact bytes on the wire,
so it is checked before any parsing. Several secrets may be valid at once during a rotation.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

PREFIX = "sha256="


def sign(body: bytes, secret: str) -> str:
    """The header value GitHub would send for `body` signed with `secret`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """True when `header` is a valid signature of `body` under any of `secrets`."""
    if not header or not header.startswith(PREFIX):
        return False
    try:
        expected = bytes.fromhex(header[len(PREFIX) :])
    except ValueError:
        return False
    valid = False
    for secret in secrets:
        digest = hmac.digest(secret.encode(), body, "sha256")
        # No early exit: the time taken does not tell which secret (if any) matched.
        valid |= hmac.compare_digest(digest, expected)
    return valid
