"""Stream doubles shared by the sequencing tests."""

from __future__ import annotations

import io


class OnlyRead:
    """A non-seekable stream exposing nothing but read(n); remembers the largest request."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.largest_request = 0

    def read(self, size: int) -> bytes:
        assert size is not None and size > 0, "asked for the whole stream at once"
        self.largest_request = max(self.largest_request, size)
        return self._data.read(size)
