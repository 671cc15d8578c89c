"""The API key format.

A key looks like ``wag_<lookup id>_<secret><checksum>``:

- ``wag_`` marks it as a WhatsApp Gateway key (secret scanners match on it);
- the lookup id (12 base62 characters) finds the stored row without touching the secret;
- the secret is 22 base62 characters from ``secrets`` (about 131 bits);
- the checksum is CRC32 of everything before it, as 6 base62 characters, so a scanner
  (and the gateway, before any database query) can tell a real key from a look-alike.

Only the SHA-256 of the whole key is stored. The secret has full entropy, so a fast
hash is enough: there is nothing to brute-force that a slow hash would protect.
"""

import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

PREFIX = "wag_"
LOOKUP_LENGTH = 12
SECRET_LENGTH = 22
CHECKSUM_LENGTH = 6
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KEY_RE = re.compile(
    rf"^{PREFIX}(?P<lookup>[0-9A-Za-z]{{{LOOKUP_LENGTH}}})_"
    rf"(?P<secret>[0-9A-Za-z]{{{SECRET_LENGTH}}})(?P<checksum>[0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)


@dataclass(frozen=True)
class ParsedKey:
    lookup_id: str
    token: str


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(_ALPHABET[remainder])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate() -> tuple[str, str]:
    """Returns (lookup id, full key)."""
    lookup_id = _random_base62(LOOKUP_LENGTH)
    body = f"{PREFIX}{lookup_id}_{_random_base62(SECRET_LENGTH)}"
    return lookup_id, body + _checksum(body)


def parse(token: str) -> ParsedKey | None:
    """The key's parts, or None when it is not a well-formed key with a valid checksum."""
    match = _KEY_RE.fullmatch(token)
    if match is None:
        return None
    body = token[:-CHECKSUM_LENGTH]
    if not hmac.compare_digest(_checksum(body), match["checksum"]):
        return None
    return ParsedKey(lookup_id=match["lookup"], token=token)


def looks_like_key(token: str) -> bool:
    return token.startswith(PREFIX)


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(token), stored_hash)


def display(lookup_id: str) -> str:
    """How a key is shown once its secret is gone: enough to recognise it."""
    return f"{PREFIX}{lookup_id}_…"
