"""Deterministic random streams: one independent generator per (seed, purpose, ...) label path."""

from __future__ import annotations

import hashlib

import numpy as np


def stream_entropy(seed: int, *labels: object) -> int:
    """A 128-bit integer that depends only on the seed and the labels."""
    text = "\x1f".join([str(seed), *(str(label) for label in labels)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=16).digest(), "big")


def rng_for(seed: int, *labels: object) -> np.random.Generator:
    """A generator for one purpose; independent of how many other streams were drawn."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(stream_entropy(seed, *labels)))
    )
