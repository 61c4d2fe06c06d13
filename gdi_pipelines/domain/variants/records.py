"""Stream a VCF/BCF through cyvcf2 in chunks of records, as numpy arrays.

Only one chunk is in memory at a time: (records, samples, ploidy) int16 genotypes coded like
cyvcf2 (allele index, -1 missing allele, -2 vector end), GQ/DP as int32 with -1 for missing,
and AD (records, samples, alleles) when the header declares it.

A file that cannot be read raises `VcfFormatError` with the reason and, reading from the start,
the line: empty, truncated (a BGZF file must end with the BGZF end-of-file block, as htslib
checks), a header htslib refuses (e.g. a sample id twice), a record it cannot parse.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cyvcf2
import numpy as np

MISSING = -1
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_SHOWN = 40  # characters of a bad value quoted in a message


class VcfFormatError(ValueError):
    """A VCF/BCF that cannot be read: `reason`, and the 1-based `line` where known."""

    def __init__(self, source: str, reason: str, line: int | None = None):
        self.source, self.reason, self.line = source, reason, line
        super().__init__(self.describe(source))

    def describe(self, source: str) -> str:
        """The message with the file named as `source` (e.g. its landing path)."""
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{source}: {where}{self.reason}"


@dataclass
class RecordChunk:
    first_index: int  # index of the chunk's first record in the stream (0-based)
    chrom: list[str]
    pos: np.ndarray  # int64, 1-based
    ref: list[str]
    alts: list[list[str]]
    filters: list[str | None]  # "PASS", "q10;s50", or None for '.'
    gt: np.ndarray  # int16 (records, samples, ploidy)
    gq: np.ndarray  # int32 (records, samples)
    dp: np.ndarray  # int32 (records, samples)
    ad: np.ndarray | None  # int32 (records, samples, max alleles), -1 missing
    first_line: int | None = None  # file line of the first record; None for a region read

    def __len__(self) -> int:
        return len(self.pos)


def vcf_samples(path: str | Path) -> list[str]:
    vcf = open_vcf(path)
    try:
        return list(vcf.samples)
    finally:
        vcf.close()


def open_vcf(path: str | Path) -> cyvcf2.VCF:
    """A cyvcf2 reader; VcfFormatError when the file is empty, truncated or its header bad."""
    with open(path, "rb") as raw:
        head = raw.read(18)
        if not head:
            raise VcfFormatError(str(path), "empty file (0 bytes)")
        # BGZF: gzip with the extra subfield 'BC'; htslib only warns when its EOF block is gone
        if head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC":
            raw.seek(-min(len(BGZF_EOF), raw.seek(0, 2)), 2)
            if raw.read() != BGZF_EOF:
                raise VcfFormatError(str(path), "truncated: no BGZF end-of-file block")
    try:
        return cyvcf2.VCF(str(path))
    except Exception as err:  # cyvcf2 raises a bare Exception or OSError
        raise VcfFormatError(str(path), *_header_problem(path)) from err


def _text_lines(path: str | Path) -> Iterator[bytes]:
    """The lines of a plain or (b)gzipped text file, newline included."""
    with _opened_text(path) as lines:
        yield from lines


def _header_problem(path: str | Path) -> tuple[str, int | None]:
    """(reason, line) for a header htslib refused."""
    try:
        for number, line in enumerate(_text_lines(path), start=1):
            if line.startswith(b"#CHROM"):
                names = line.rstrip(b"\r\n").decode(errors="replace").split("\t")[9:]
                seen: set[str] = set()
                for name in names:
                    if name in seen:
                        return f"duplicate sample id {name}", number
                    seen.add(name)
                return "htslib cannot parse the header", None
            if not line.startswith(b"#"):
                return "not a VCF: no #CHROM header line before the first record", number
    except (OSError, EOFError, zlib.error):
        return "truncated or corrupt compressed stream", None
    return "not a VCF: no #CHROM header line", None


def _header_lines(path: str | Path) -> int | None:
    """Lines before the first record of a text VCF (None for BCF or an unreadable file)."""
    count = 0
    try:
        for line in _text_lines(path):
            if count == 0 and line.startswith(b"BCF"):
                return None
            if not line.startswith(b"#"):
                break
            count += 1
    except (OSError, EOFError, zlib.error):
        return None
    return count


def _record_problem(path: str | Path, line: int | None, n_samples: int, err: Exception) -> str:
    """Why htslib refused the record on `line` (read again as text, as far as that line)."""
    if line is None:
        return f"htslib cannot parse a record ({err})"
    try:
        text = next((t for n, t in enumerate(_text_lines(path), start=1) if n == line), None)
    except (OSError, EOFError, zlib.error):
        return "truncated or corrupt compressed stream"
    if text is None:
        return f"htslib cannot parse the record ({err})"
    fields = text.rstrip(b"\r\n").decode(errors="replace").split("\t")
    expected = expected_columns(n_samples)
    if len(fields) != expected and not (n_samples == 0 and len(fields) == 9):
        return column_reason(len(fields), expected)
    if not fields[1].isdigit():
        return f"POS {fields[1][:_SHOWN]!r} is not a positive integer"
    return f"htslib cannot parse the record ({err})"


def check_column_counts(path: str | Path, n_samples: int, block: int = 1 << 22) -> None:
    """VcfFormatError naming the first record line whose column count differs from the header's.
    htslib ignores columns past the last sample without a word; this text pass does not. It is
    vectorised over blocks (tabs counted per line with numpy), so it costs about one
    decompression of the file. BCF files are binary: nothing to count."""
    expected = expected_columns(n_samples)
    lines_before, carry = 0, b""
    with _opened_text(path) as stream:
        while True:
            try:
                chunk = stream.read(block)
            except (OSError, EOFError, zlib.error) as err:
                reason = "truncated or corrupt compressed stream"
                raise VcfFormatError(str(path), reason) from err
            if lines_before == 0 and not carry and chunk.startswith(b"BCF"):
                return
            data = carry + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            body, carry = data[:cut], data[cut:]
            if body:
                problem = _first_bad_line(body, expected, n_samples == 0)
                if problem is not None:
                    offset, columns = problem
                    reason = column_reason(columns, expected)
                    raise VcfFormatError(str(path), reason, lines_before + offset + 1)
                lines_before += body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
            if not chunk:
                return


def expected_columns(n_samples: int) -> int:
    return 9 + n_samples if n_samples else 8


def column_reason(columns: int, expected: int) -> str:
    return f"{columns} column{'' if columns == 1 else 's'}, the header has {expected}"


def _first_bad_line(body: bytes, expected: int, sites_only: bool) -> tuple[int, int] | None:
    """(line index in `body`, columns) of its first record line with a wrong column count."""
    text = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(text == ord("\n"))
    if not body.endswith(b"\n"):
        ends = np.append(ends, len(text))
    starts = np.concatenate(([0], ends[:-1] + 1))
    tabs = np.concatenate(([0], np.cumsum(text == ord("\t"), dtype=np.int64)))
    columns = tabs[ends] - tabs[starts] + 1
    record = text[np.minimum(starts, len(text) - 1)] != ord("#")
    record &= ends > starts  # an empty line is not a record
    bad = record & (columns != expected)
    if sites_only:  # FORMAT without samples is tolerated, as htslib does
        bad &= columns != expected + 1
    hits = np.flatnonzero(bad)
    return (int(hits[0]), int(columns[hits[0]])) if hits.size else None


def _opened_text(path: str | Path):
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def read_record_chunks(
    path: str | Path,
    chunk_size: int = 2000,
    region: str | None = None,
    pos_range: tuple[int, int] | None = None,
) -> Iterator[RecordChunk]:
    """Chunks of at most `chunk_size` records; `region` needs an index (tabix/CSI).

    `pos_range` (1-based, inclusive) keeps only records whose POS lies inside it: a region query
    also returns records that start before the region and overlap it.
    """
    vcf = open_vcf(path)
    # lines are known when the file is read from its start
    header = _header_lines(path) if region is None and pos_range is None else None
    try:
        fields = {tag: vcf.contains(tag) for tag in ("GT", "GQ", "DP", "AD")}
        n_samples = len(vcf.samples)
        batch: list = []
        index = 0
        variants = iter(vcf(region) if region else vcf)
        while True:
            try:
                variant = next(variants, None)
                if variant is None:
                    break
                if pos_range and not pos_range[0] <= variant.POS <= pos_range[1]:
                    continue
                batch.append(_record(variant, fields))
            except Exception as err:  # cyvcf2 raises a bare Exception
                line = None if header is None else header + index + len(batch) + 1
                reason = _record_problem(path, line, n_samples, err)
                raise VcfFormatError(str(path), reason, line) from err
            if len(batch) == chunk_size:
                yield _chunk(batch, index, n_samples, header)
                index += len(batch)
                batch = []
        if batch:
            yield _chunk(batch, index, n_samples, header)
    finally:
        vcf.close()


def _record(variant, fields: dict[str, bool]) -> tuple:
    filters = variant.FILTERS
    genotypes = variant.genotype if fields["GT"] else None
    gt = genotypes.array()[:, :-1] if genotypes is not None else None
    return (
        variant.CHROM,
        variant.POS,
        variant.REF,
        variant.ALT,
        ";".join(filters) if filters else None,
        gt,
        _int_field(variant, "GQ") if fields["GQ"] else None,
        _int_field(variant, "DP") if fields["DP"] else None,
        _int_field(variant, "AD", per_sample=False) if fields["AD"] else None,
    )


def _int_field(variant, tag: str, per_sample: bool = True) -> np.ndarray | None:
    values = variant.format(tag)
    if values is None:
        return None
    if values.dtype.kind == "f":
        values = np.where(np.isnan(values), MISSING, values)
    values = np.where(values < 0, MISSING, values).astype(np.int32)  # htslib missing/vector end
    return values[:, 0] if per_sample else values


def _chunk(
    batch: list[tuple], first_index: int, n_samples: int, header_lines: int | None
) -> RecordChunk:
    n = len(batch)
    ploidy = max((r[5].shape[1] for r in batch if r[5] is not None), default=2)
    gt = np.full((n, n_samples, ploidy), -2, dtype=np.int16)
    gq = np.full((n, n_samples), MISSING, dtype=np.int32)
    dp = np.full((n, n_samples), MISSING, dtype=np.int32)
    n_alleles = max(len(r[3]) + 1 for r in batch)
    has_ad = any(r[8] is not None for r in batch)
    ad = np.full((n, n_samples, n_alleles), MISSING, dtype=np.int32) if has_ad else None
    for i, record in enumerate(batch):
        genotypes = record[5]
        if genotypes is None:
            gt[i, :, :2] = -1  # no GT field: a no-call
        else:
            gt[i, :, : genotypes.shape[1]] = genotypes
        if record[6] is not None:
            gq[i] = record[6]
        if record[7] is not None:
            dp[i] = record[7]
        depths = record[8]
        if depths is not None and depths.shape[1] == len(record[3]) + 1:  # else: unusable AD
            ad[i, :, : depths.shape[1]] = depths
    return RecordChunk(
        first_index=first_index,
        chrom=[r[0] for r in batch],
        pos=np.array([r[1] for r in batch], dtype=np.int64),
        ref=[r[2] for r in batch],
        alts=[r[3] for r in batch],
        filters=[r[4] for r in batch],
        gt=gt,
        gq=gq,
        dp=dp,
        ad=ad,
        first_line=None if header_lines is None else header_lines + first_index + 1,
    )
