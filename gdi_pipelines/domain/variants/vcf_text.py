"""Read a text VCF (plain, gzip or BGZF) from its start in chunks of records, decoding the
sample columns with compiled loops (`vcf_kernels`) instead of one htslib call per record and
FORMAT key. The chunks equal `records.read_record_chunks`' cyvcf2 chunks (the tests compare
them on real and synthetic files); a file this reader does not take (BCF, a GQ/DP/AD declared
other than Integer) is read through cyvcf2.

Decompression runs in a thread of its own (ISA-L), so reading overlaps the caller's work. Bad
records raise `VcfFormatError` naming the line: a wrong column count, a POS that is not a
positive integer, a GT/AD/DP/GQ value that is not a whole number, an empty line, an empty sample
column, a sample with more fields than its FORMAT.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
from isal import igzip_threaded

from gdi_pipelines.domain.variants import vcf_kernels as kernels
from gdi_pipelines.domain.variants.records import (
    MISSING,
    RecordChunk,
    VcfFormatError,
    column_reason,
    expected_columns,
    open_vcf,
    read_record_chunks,
)

BLOCK = 1 << 22  # bytes read at a time
TAGS = {"GT": kernels.GT, "AD": kernels.AD, "DP": kernels.DP, "GQ": kernels.GQ}
_TYPES = {"GT": "String", "AD": "Integer", "DP": "Integer", "GQ": "Integer"}
_SHOWN = 40


def text_vcf_tags(path: str | Path) -> set[str] | None:
    """The FORMAT keys among GT/AD/DP/GQ the header declares, if this reader can take the file
    (text, not BCF; those keys of the types it decodes); else None."""
    header = _decodable_header(path)
    return None if header is None else header[0]


def _decodable_header(path: str | Path) -> tuple[set[str], int] | None:
    """(`text_vcf_tags`, number of samples) from one read of the header; None for a file this
    reader does not take."""
    with _open_text(path, threads=0) as stream:
        if stream.read(3) == b"BCF":
            return None
    vcf = open_vcf(path)
    try:
        declared = {}
        for record in vcf.header_iter():
            info = record.info()
            if info.get("HeaderType") == "FORMAT" and info.get("ID") in _TYPES:
                declared[info["ID"]] = info.get("Type")
        n_samples = len(vcf.samples)
    finally:
        vcf.close()
    if any(_TYPES[tag] != kind for tag, kind in declared.items()):
        return None
    return set(declared), n_samples


def read_text_chunks(
    path: str | Path, chunk_size: int, n_samples: int, tags: set[str]
) -> Iterator[RecordChunk]:
    """Chunks of `chunk_size` records (the last may be shorter), numbered from the file's first
    line; `tags` as `text_vcf_tags` returned them."""
    source = str(path)
    with _open_text(path, threads=1) as stream:
        pending, header_lines = _skip_header(stream, source)
        reader = _ChunkDecoder(source, n_samples, tags, header_lines)
        index = 0
        ended = False
        want = BLOCK
        while not ended:
            try:
                block = stream.read(max(want - len(pending), 1 << 16))
            except (OSError, EOFError) as err:
                reason = "truncated or corrupt compressed stream"
                raise VcfFormatError(source, reason) from err
            ended = not block
            pending += block
            cut = len(pending) if ended else pending.rfind(b"\n") + 1
            if cut == 0:
                continue
            with memoryview(pending) as view:  # one copy of the block, not two
                lines = _Lines(bytes(view[:cut]))
            taken = 0
            while lines.count - taken >= chunk_size or (ended and taken < lines.count):
                stop = min(taken + chunk_size, lines.count)
                yield reader.decode(lines, taken, stop, index)
                index += stop - taken
                taken = stop
            consumed = cut if taken == lines.count else int(lines.starts[taken])
            # read about one chunk at a time, so that lines are scanned once or twice
            want = max(BLOCK, consumed * chunk_size // taken * 9 // 8) if taken else 2 * cut
            del pending[:consumed]


def _open_text(path: str | Path, threads: int):
    """The decompressed bytes of a gzip/BGZF file (ISA-L, on `threads` threads), else the file."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    return igzip_threaded.open(path, "rb", threads=threads) if compressed else open(path, "rb")


def _skip_header(stream, source: str) -> tuple[bytearray, int]:
    """(bytes read past the header, header line count)."""
    pending = bytearray()
    lines = start = 0  # `start`: where the first line not yet counted begins
    while True:
        try:
            block = stream.read(BLOCK)
        except (OSError, EOFError) as err:
            raise VcfFormatError(source, "truncated or corrupt compressed stream") from err
        pending += block
        while pending[start : start + 1] == b"#":
            newline = pending.find(b"\n", start)
            if newline < 0:
                break
            start = newline + 1
            lines += 1
        if not block and pending[start : start + 1] == b"#":  # a last header line, no newline
            lines, start = lines + 1, len(pending)
        if not block or (start < len(pending) and pending[start : start + 1] != b"#"):
            del pending[:start]
            return pending, lines


class _Lines:
    """Whole lines of one block with their ends, column counts and first columns' starts."""

    def __init__(self, data: bytes):
        self.data = data
        buf = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(buf == kernels.NEWLINE)
        outputs = kernels.empty_outputs(len(newlines) + 1)
        self.starts, self.ends, self.columns, self.column_start = outputs
        self.count = kernels.scan_lines(buf, newlines, *outputs)
        self.buf = buf


class _ChunkDecoder:
    def __init__(self, source: str, n_samples: int, tags: set[str], header_lines: int):
        self.source = source
        self.n_samples = n_samples
        self.tags = tags
        self.header_lines = header_lines
        self.formats: dict[str, int] = {}
        self.codes = np.full((0, 1), -1, dtype=np.int8)
        self.key_count = np.zeros(0, dtype=np.int64)

    def decode(self, lines: _Lines, start: int, stop: int, first_index: int) -> RecordChunk:
        first_line = self.header_lines + first_index + 1
        self._check_columns(lines, start, stop, first_line)
        wanted = {"chrom": 0, "pos": 1, "ref": 3, "alt": 4, "filter": 6, "format": 8}
        text = {name: self._column(lines, start, stop, j, first_line) for name, j in wanted.items()}
        digits = text["pos"].str.contains(r"^[0-9]+$")
        if not digits.all():
            first = int(digits.not_().arg_max())
            shown = text["pos"][first][:_SHOWN]
            reason = f"POS {shown!r} is not a positive integer"
            raise VcfFormatError(self.source, reason, first_line + first)
        alt = text["alt"]
        alts = pl.select(
            pl.when(alt == ".")
            .then(pl.lit([], dtype=pl.List(pl.String)))
            .otherwise(alt.str.split(","))
        ).to_series()
        fmt = text["format"]
        known = fmt.unique(maintain_order=True)
        ids = [self._format_id(f) for f in known.to_list()]
        formats = np.array(fmt.replace_strict(known, ids, return_dtype=pl.Int64).to_numpy())
        alleles = (alts.list.len() + 1).cast(pl.Int64).to_numpy()
        gt, gq, dp, ad = self._samples(lines, start, stop, formats, alleles, first_line)
        filters = text["filter"]
        return RecordChunk(
            first_index=first_index,
            chrom=text["chrom"].to_list(),
            pos=text["pos"].cast(pl.Int64).to_numpy(),
            ref=text["ref"].to_list(),
            alts=alts.to_list(),
            filters=filters.set(filters == ".", None).to_list(),
            gt=gt,
            gq=gq,
            dp=dp,
            ad=ad,
            first_line=first_line,
        )

    def _column(self, lines: _Lines, start: int, stop: int, j: int, first_line: int):
        """Column j (< FIXED - 1) of lines [start, stop) as a String series ('' for FORMAT
        on a line without one)."""
        begin = lines.column_start[start:stop, j]
        after = lines.column_start[start:stop, j + 1]
        end = np.where(after >= 0, after - 1, lines.ends[start:stop])
        end = np.where(begin >= 0, end, begin)  # a missing column reads as empty
        begin = np.maximum(begin, 0)
        end = np.maximum(end, begin)
        lengths = end - begin
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        picks = np.repeat(begin - offsets[:-1], lengths) + np.arange(offsets[-1])
        data = lines.buf[picks]
        raw = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )
        series = pl.Series(raw).cast(pl.String, strict=False)
        if series.null_count():
            first = int(series.is_null().arg_max())
            reason = f"column {j + 1} is not UTF-8 text"
            raise VcfFormatError(self.source, reason, first_line + first)
        return series

    def _check_columns(self, lines: _Lines, start: int, stop: int, first_line: int) -> None:
        expected = expected_columns(self.n_samples)
        columns = lines.columns[start:stop]
        empty = lines.ends[start:stop] == lines.starts[start:stop]
        bad = columns != expected
        if self.n_samples == 0:  # FORMAT without samples is tolerated, as htslib does
            bad &= columns != expected + 1
        bad |= empty
        hits = np.flatnonzero(bad)
        if hits.size:
            first = int(hits[0])
            reason = (
                "an empty line" if empty[first] else column_reason(int(columns[first]), expected)
            )
            raise VcfFormatError(self.source, reason, first_line + first)

    def _format_id(self, fmt: str) -> int:
        known = self.formats.get(fmt)
        if known is not None:
            return known
        keys = [] if fmt in ("", ".") else fmt.split(":")
        row = [TAGS[k] if k in self.tags and k in TAGS else -1 for k in keys] or [-1]
        width = max(self.codes.shape[1], len(row))
        codes = np.full((len(self.formats) + 1, width), -1, dtype=np.int8)
        codes[: len(self.formats), : self.codes.shape[1]] = self.codes
        codes[len(self.formats), : len(row)] = row
        self.codes = codes
        self.key_count = np.append(self.key_count, max(len(keys), 1))
        self.formats[fmt] = len(self.formats)
        return self.formats[fmt]

    def _samples(self, lines, start, stop, formats, alleles, first_line):
        n, s = stop - start, self.n_samples
        has = {tag: bool((self.codes[formats] == code).any()) for tag, code in TAGS.items()}
        width = 2
        while True:
            gt = np.full((n, s, width), -2, dtype=np.int16)
            gq = np.full((n, s), MISSING, dtype=np.int32)
            dp = np.full((n, s), MISSING, dtype=np.int32)
            ad_width = int(alleles.max()) if n and has["AD"] else 0
            ad = np.full((n, s, ad_width), MISSING, dtype=np.int32)
            ad_count = np.zeros(n, dtype=np.int64)
            ploidy = np.zeros(1, dtype=np.int64)
            if s == 0:
                break
            sample_start = np.ascontiguousarray(lines.column_start[start:stop, kernels.FIXED - 1])
            status, line, sample, key = kernels.parse_samples(
                lines.buf,
                sample_start,
                lines.ends[start:stop],
                formats,
                self.codes,
                self.key_count,
                gt,
                gq,
                dp,
                ad,
                ad_count,
                ploidy,
            )
            if status == kernels.WIDER:
                width *= 2
                continue
            if status != kernels.OK:
                reason = self._problem(status, lines, start + line, formats[line], sample, key)
                raise VcfFormatError(self.source, reason, first_line + line)
            break
        if ploidy[0]:
            gt = gt[:, :, : int(ploidy[0])]
        has_gt = (self.codes[formats] == kernels.GT).any(axis=1)
        gt[~has_gt, :, :2] = -1  # no GT field: a no-call
        if not has["AD"]:
            return gt, gq, dp, None
        ad[ad_count != alleles] = MISSING  # a count other than the alleles': unusable
        return gt, gq, dp, ad

    def _problem(self, status: int, lines: _Lines, i: int, fmt: int, sample: int, key: int) -> str:
        column = f"sample column {kernels.FIXED + sample}"
        if status == kernels.EMPTY_SAMPLE:
            return f"{column} is empty"
        keys = next(k for k, v in self.formats.items() if v == fmt).split(":")
        if status == kernels.EXTRA_FIELD:
            return f"{column} has more fields than FORMAT's {len(keys)}"
        text = lines.data[lines.column_start[i, kernels.FIXED - 1] : lines.ends[i]]
        field = text.split(b"\t")[sample].split(b":")
        token = field[key] if key < len(field) else b""
        shown = token[:_SHOWN].decode(errors="replace")
        return f"{column}: {keys[key]} {shown!r} is not a whole number (32-bit) or '.'"


def read_vcf_chunks(
    path: str | Path,
    chunk_size: int = 2000,
    region: str | None = None,
    pos_range: tuple[int, int] | None = None,
) -> Iterator[RecordChunk]:
    """`records.read_record_chunks`' chunks; a text VCF read from its start goes through this
    module's compiled decoder, a region query or a BCF through cyvcf2."""
    header = _decodable_header(path) if region is None and pos_range is None else None
    if header is None:
        return read_record_chunks(path, chunk_size, region, pos_range)
    tags, n_samples = header
    return read_text_chunks(path, chunk_size, n_samples, tags)
