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


class Redactor:
    """Replaces national sample ids inside free text (file names, URIs, messages) by pseudonyms."""

    def __init__(self, pseudonyms: dict[str, str]):
        self._pseudonyms = pseudonyms
        ordered = sorted(pseudonyms, key=len, reverse=True)  # "S1" must not clip "S10"
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str | None) -> str | None:
        if text is None or self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._pseudonyms[m.group(0)], text)
