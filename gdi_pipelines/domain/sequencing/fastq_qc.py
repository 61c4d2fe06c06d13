"""Read QC of a FASTQ stream (plain or gzip/BGZF) in one forward pass.

dnaio.read_chunks cuts the text into buffers of whole records; each buffer is checked and
measured with numpy, never per read or per base in Python. Gzip is decompressed by isal in a
background thread, so decompression overlaps the numpy work.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable

import dnaio
import numpy as np
from isal import igzip_threaded, isal_zlib

from gdi_pipelines.domain.sequencing.read_stats import ReadStats, ReadTally, SequenceFileError

CHUNK_BYTES = 16 << 20  # dnaio buffer: must hold two records, so reads up to ~4 Mbp
GZIP_BLOCK = 1 << 20  # isal hands over text in blocks this large; reads 8 times that at once
BATCH_BYTES = 1 << 20  # numpy works on batches of records this large, to stay in cache
PHRED_OFFSET = 33
_NL, _CR = ord("\n"), ord("\r")
_GZIP_MAGIC = b"\x1f\x8b"
_OTHER_COMPRESSION = {b"BZh": "bzip2", b"\x28\xb5\x2f\xfd": "zstd", b"\xfd7zX": "xz"}
_GZIP_ERRORS = (OSError, zlib.error, isal_zlib.error)  # gzip.BadGzipFile is an OSError
# sequence letters; '.', '-' and '*' also appear in the wild
_SEQ_OK = np.zeros(256, bool)
_SEQ_OK[[*range(ord("A"), ord("Z") + 1), *range(ord("a"), ord("z") + 1)]] = True
_SEQ_OK[list(b".-*")] = True
_QUAL_OK = np.zeros(256, bool)
_QUAL_OK[33:127] = True
_PIECES = np.array([0, 1, 0, 2, 0], np.int8)  # a record: header+, sequence, newline+, quality, rest


def measure_fastq(stream, source: str) -> ReadStats:
    """QC figures of the FASTQ behind `stream` (anything with `read(n)`; not seeked).

    Raises SequenceFileError naming `source`, the record and the reason.
    """
    head = _Filling(stream).read(4)
    if not head:
        raise SequenceFileError(f"{source}: empty file (0 bytes)")
    if head == b"cryp":  # the Crypt4GH magic
        raise SequenceFileError(f"{source}: Crypt4GH-encrypted, but not declared encrypted")
    for magic, name in _OTHER_COMPRESSION.items():
        if head.startswith(magic):
            raise SequenceFileError(f"{source}: {name} compression is not supported")
    raw = _Filling(stream, head)
    if not head.startswith(_GZIP_MAGIC):
        return _measure_text(raw, source)
    text = igzip_threaded.open(raw, "rb", threads=1, block_size=GZIP_BLOCK)
    try:
        return _measure_text(text, source)
    except EOFError as error:
        raise SequenceFileError(f"{source}: truncated gzip stream") from error
    except _GZIP_ERRORS as error:
        raise SequenceFileError(f"{source}: corrupt gzip stream: {error}") from error
    finally:
        text.close()  # joins the decompressing thread before anyone reads `stream` again


def _measure_text(text, source: str) -> ReadStats:
    head = _Filling(text).read(4)
    if not head:
        raise SequenceFileError(f"{source}: empty file (no records)")
    if head[:1] != b"@":
        raise SequenceFileError(f"{source}: not FASTQ: record 1 (line 1) starts with {head!r}")
    tally = ReadTally()
    try:
        for chunk in dnaio.read_chunks(_Filling(text, head), CHUNK_BYTES):
            _measure_chunk(np.frombuffer(chunk, np.uint8), tally, source)
    except OverflowError as error:
        raise SequenceFileError(
            f"{source}: record {tally.read_count + 1}: longer than the read buffer allows "
            f"({CHUNK_BYTES:,} bytes must hold two records)"
        ) from error
    return tally.finish()


def _measure_chunk(text: np.ndarray, tally: ReadTally, source: str) -> None:
    """Check and measure one dnaio buffer, in cache-sized batches of whole records."""
    starts, ends = _line_bounds(text)
    if len(starts) % 4:
        _Locator(source, tally.read_count).fail(
            len(starts) // 4, len(starts) % 4, "file ends inside the record"
        )
    record_starts = starts[0::4]
    cuts = np.searchsorted(record_starts, np.arange(0, len(text), BATCH_BYTES))
    for first, stop in zip(cuts, [*cuts[1:], len(record_starts)], strict=True):
        if stop > first:
            lines = slice(4 * first, 4 * stop)
            begin = record_starts[first]
            end = record_starts[stop] if stop < len(record_starts) else len(text)
            batch = text[begin:end]
            _measure_records(batch, starts[lines] - begin, ends[lines] - begin, tally, source)


def _measure_records(text, starts, ends, tally: ReadTally, source: str) -> None:
    """Check and measure whole records, numbered on from `tally.read_count`."""
    where = _Locator(source, tally.read_count)
    head_starts, seq_starts, plus_starts, qual_starts = (starts[k::4] for k in range(4))
    head_ends, seq_ends, plus_ends, qual_ends = (ends[k::4] for k in range(4))
    where.check(text[head_starts] == ord("@"), 0, lambda i: "header does not start with '@'")
    where.check(text[plus_starts] == ord("+"), 2, lambda i: "third line does not start with '+'")
    seq_lengths, qual_lengths = seq_ends - seq_starts, qual_ends - qual_starts
    where.check(
        seq_lengths == qual_lengths,
        3,
        lambda i: f"quality length {qual_lengths[i]} != sequence length {seq_lengths[i]}",
    )
    _check_plus_names(text, head_starts, head_ends - head_starts, plus_starts, plus_ends, where)
    bases, quals = _pick(text, [head_starts, seq_starts, seq_ends, qual_starts, qual_ends])
    _check_bytes(bases, seq_lengths, _SEQ_OK, b"AZ", 1, "invalid sequence character", where)
    _check_bytes(quals, qual_lengths, _QUAL_OK, b"!~", 3, "invalid quality character", where)
    tally.add_lengths(seq_lengths)
    tally.add_bases(bases)
    tally.add_qualities(quals, PHRED_OFFSET)


def _pick(text, edges: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Sequence and quality bytes of all records; `edges` are where the _PIECES begin."""
    bounds = np.empty((len(edges[0]), len(edges)), np.int64)
    for column, edge in enumerate(edges):
        bounds[:, column] = edge
    kinds = np.repeat(np.tile(_PIECES, len(bounds)), np.diff(bounds.ravel(), append=len(text)))
    return text[kinds == 1], text[kinds == 2]


def _check_plus_names(text, head_starts, head_lengths, plus_starts, plus_ends, where) -> None:
    """Old-style '+' lines that repeat the name must repeat the header exactly (dnaio's rule)."""
    plus_lengths = plus_ends - plus_starts
    named = np.flatnonzero(plus_lengths > 1)
    if len(named) == 0:
        return
    where.check(
        plus_lengths[named] == head_lengths[named],
        2,
        lambda i: "'+' line does not repeat header",
        named,
    )
    lengths = plus_lengths[named] - 1
    differ = (
        text[_ranges(head_starts[named] + 1, lengths)]
        != text[_ranges(plus_starts[named] + 1, lengths)]
    )
    if differ.any():
        record = named[np.searchsorted(np.cumsum(lengths), np.argmax(differ), side="right")]
        where.fail(int(record), 2, "'+' line does not repeat header")


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices start..start+length of every range, one after the other."""
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(len(offsets))


def _line_bounds(text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (newline and any CR excluded) of every line."""
    newlines = np.flatnonzero(text == _NL)
    if len(text) and text[-1] != _NL:  # last line without newline
        newlines = np.append(newlines, len(text))
    starts = np.empty_like(newlines)
    starts[:1] = 0
    starts[1:] = newlines[:-1] + 1
    has_cr = (newlines > starts) & (text[newlines - 1] == _CR)
    return starts, newlines - has_cr


def _check_bytes(values, lengths, allowed, fast_range: bytes, line, reason, where) -> None:
    """Every byte must be `allowed`; bytes within `fast_range` (inclusive) are known to be."""
    if len(values) == 0 or (fast_range[0] <= values.min() and values.max() <= fast_range[1]):
        return
    bad = np.flatnonzero(~allowed[values])
    if len(bad):
        record = int(np.searchsorted(np.cumsum(lengths), bad[0], side="right"))
        where.fail(record, line, f"{reason} {bytes([values[bad[0]]])!r}")


class _Locator:
    """Turns a record index within a chunk into a message naming the file, record and line."""

    def __init__(self, source: str, records_before: int) -> None:
        self.source = source
        self.records_before = records_before

    def check(self, ok: np.ndarray, line: int, reason: Callable[[int], str], records=None) -> None:
        """Fail at the first record not `ok`; `records`: their indices when not 0, 1, 2..."""
        if not ok.all():
            index = int(np.argmin(ok))
            self.fail(index if records is None else int(records[index]), line, reason(index))

    def fail(self, index: int, line: int, reason: str) -> None:
        record = self.records_before + index + 1
        raise SequenceFileError(
            f"{self.source}: record {record} (line {4 * (record - 1) + line + 1}): {reason}"
        )


class _Filling(io.RawIOBase):
    """Reads from `source` until the buffer is full or the source ends; `head` comes first."""

    def __init__(self, source, head: bytes = b"") -> None:
        super().__init__()
        self._source = source
        self._head = head

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        filled = min(len(self._head), len(view))
        view[:filled] = self._head[:filled]
        self._head = self._head[filled:]
        while filled < len(view):
            count = self._read_into(view[filled:])
            if not count:
                break
            filled += count
        return filled

    def _read_into(self, view: memoryview) -> int:
        if hasattr(self._source, "readinto"):
            return self._source.readinto(view) or 0
        data = self._source.read(len(view))
        view[: len(data or b"")] = data or b""
        return len(data or b"")
