"""A BGZF (blocked gzip) writer that compresses blocks on worker threads.

zlib releases the GIL, so blocks compress in parallel; block boundaries depend only on the
byte stream, so the output is identical whatever the thread count or write() sizes.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

BLOCK_INPUT = 0xFF00  # uncompressed bytes per block, as htslib
MAX_BLOCK = 0x10000
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def compress_block(data: bytes, level: int) -> bytes:
    deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
    payload = deflater.compress(data) + deflater.flush()
    if len(payload) + 26 > MAX_BLOCK:  # incompressible: store
        deflater = zlib.compressobj(0, zlib.DEFLATED, -15)
        payload = deflater.compress(data) + deflater.flush()
    header = struct.pack("<4BI2BH2BHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, len(payload) + 25)
    return header + payload + struct.pack("<II", zlib.crc32(data), len(data))


class BgzfWriter:
    def __init__(self, path: Path, level: int = 6, threads: int | None = None) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._level = level
        self._threads = threads or min(4, len(os.sched_getaffinity(0)))
        self._pool = ThreadPoolExecutor(self._threads)
        self._pending: deque[Future[bytes]] = deque()
        self._buffer = bytearray()

    def write(self, data: bytes) -> int:
        self._buffer += data
        while len(self._buffer) >= BLOCK_INPUT:
            self._submit(bytes(self._buffer[:BLOCK_INPUT]))
            del self._buffer[:BLOCK_INPUT]
        return len(data)

    def _submit(self, chunk: bytes) -> None:
        self._pending.append(self._pool.submit(compress_block, chunk, self._level))
        while len(self._pending) > 2 * self._threads:  # bounded memory
            self._file.write(self._pending.popleft().result())

    def close(self) -> None:
        if self._buffer:
            self._submit(bytes(self._buffer))
            self._buffer.clear()
        while self._pending:
            self._file.write(self._pending.popleft().result())
        self._file.write(EOF_BLOCK)
        self._pool.shutdown()
        self._file.close()

    def __enter__(self) -> BgzfWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
