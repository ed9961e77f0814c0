"""API keys: how a request presents one, exactly one way to read it, and the id its limits are kept under.

A key comes as `X-API-Key: <key>` or `Authorization: Bearer <key>` (the scheme in any case, one space).
Anything that could be read two ways is refused rather than guessed: the header twice, both headers with
different keys, another Authorization scheme, whitespace inside the key. So no spelling of a key can earn
a second bucket, and no junk can pass for a key (see the gateway's key check, `suite.py`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidParameter, Unauthorized

_KEY = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII, no spaces
_BEARER = re.compile(r"(?i)bearer ([\x21-\x7e]{1,256})")


def presented_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The one key a request presents, None if it presents none; InvalidParameter if it is malformed or
    ambiguous."""
    api_keys, authorizations = [], []
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"x-api-key":
            api_keys.append(value.decode("latin-1"))
        elif lowered == b"authorization":
            authorizations.append(value.decode("latin-1"))
    if len(api_keys) > 1 or len(authorizations) > 1:
        raise InvalidParameter("Send one API key, in one header.")
    keys = {_from_header(api_keys[0])} if api_keys else set()
    if authorizations:
        keys.add(_from_bearer(authorizations[0]))
    if len(keys) > 1:
        raise InvalidParameter("X-API-Key and Authorization carry different keys; send one.")
    return keys.pop() if keys else None


def _from_header(value: str) -> str:
    if not _KEY.fullmatch(value):
        raise InvalidParameter("X-API-Key must be the key alone: printable characters, no spaces.")
    return value


def _from_bearer(value: str) -> str:
    match = _BEARER.fullmatch(value)
    if match is None:
        raise InvalidParameter("Authorization must be `Bearer <key>` (one space, no other scheme).")
    return match.group(1)


def client_id(key: str) -> str:
    """The id a verified key's limits are kept under (a digest, so logs and headers never carry the key)."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class KeyRing:
    """The keys this deployment accepts: client keys and admin keys (which are client keys too)."""

    clients: frozenset[str]
    admins: frozenset[str]

    @property
    def enabled(self) -> bool:
        return bool(self.clients or self.admins)

    def verify(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The request's valid key (None: no key); Unauthorized for an unknown key, InvalidParameter for a
        malformed or ambiguous one. With no keys configured, key headers are ignored (there is no keyed tier)."""
        if not self.enabled:
            return None
        key = presented_key(headers)
        if key is not None and key not in self.clients and key not in self.admins:
            raise Unauthorized("Unknown API key.")
        return key

    def is_admin(self, key: str | None) -> bool:
        return key is not None and key in self.admins
