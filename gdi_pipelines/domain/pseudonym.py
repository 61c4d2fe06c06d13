"""Keyed pseudonyms: the same person gets the same pseudonym in every table of a node.

HMAC-SHA256 over `country:sample_id` with the node's secret key; without the key a pseudonym
can't be linked back to the national id, and nodes with different keys never collide.
"""

from __future__ import annotations

import hashlib
import hmac
import re

PSEUDONYM_PATTERN = re.compile(r"^[A-Z]{2}-[0-9a-f]{24}$")


def pseudonymise(key: bytes, country: str, sample_id: str) -> str:
    digest = hmac.new(key, f"{country}:{sample_id}".encode(), hashlib.sha256).hexdigest()
    return f"{country}-{digest[:24]}"


def is_pseudonym(value: str) -> bool:
    return bool(PSEUDONYM_PATTERN.match(value))
