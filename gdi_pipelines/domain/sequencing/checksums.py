"""A pass-through reader that hashes and counts the bytes as they are read."""

from __future__ import annotations

import hashlib
import io
from typing import Protocol

DRAIN_BLOCK = 1 << 20


class BinaryStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class HashingReader(io.RawIOBase):
    """Wraps a binary stream (file, S3 body: anything with `read(n)`); never seeks.

    Each read fills the caller's buffer as far as the stream allows (short reads only at end
    of stream), so parsers see a file-like stream even over a network body.
    """

    def __init__(self, stream: BinaryStream) -> None:
        super().__init__()
        self._stream = stream
        self._sha256 = hashlib.sha256()
        self.size = 0

    @property
    def sha256_hex(self) -> str:
        return self._sha256.hexdigest()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            data = self._stream.read(len(view) - filled)
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
        self._sha256.update(view[:filled])
        self.size += filled
        return filled

    def drain(self) -> None:
        """Read (and hash) whatever the parser left, up to the end of the stream."""
        buffer = bytearray(DRAIN_BLOCK)
        while self.readinto(buffer):
            pass
