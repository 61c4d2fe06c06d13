"""Read QC of a BAM or CRAM with pysam, reading the file once from front to back.

htslib wants a file descriptor, not a Python stream: a non-seekable stream (an S3 body) is
pumped by a thread into an OS pipe whose read end htslib reads, so nothing lands on disk.
Counted: primary records only (secondary 0x100 and supplementary 0x800 left out), as
`samtools stats` "raw total sequences" and `samtools flagstat` "primary" do.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pysam

from gdi_pipelines.domain.sequencing.read_stats import ReadStats, ReadTally, SequenceFileError

NOT_PRIMARY = 0x900  # secondary | supplementary
UNMAPPED = 0x4
BATCH_READS = 20_000
PIPE_BLOCK = 1 << 20
HEAD = 8  # bytes kept from the start: magic and CRAM version
# end-of-file markers: htslib cannot see them missing on a stream that ends at a block boundary
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
CRAM3_EOF = bytes.fromhex(
    "0f000000ffffffff0fe0454f4600000000010005bdd94f0001000606010001000100ee63014b"
)
# htslib CRAM_OPT_REQUIRED_FIELDS without SAM_SEQ (0x200): a CRAM decodes without reference
_CRAM_WITHOUT_SEQUENCE = "required_fields=0x5ff"


def measure_alignments(
    path_or_stream, source: str, reference_fasta: str | None = None, fmt: str | None = None
) -> ReadStats:
    """QC figures of a BAM/CRAM given as a path or a binary stream (anything with `read(n)`).

    A CRAM needs `reference_fasta` for its bases; without it everything but gc_fraction
    (None) is measured and no reference is looked up (never over the network).
    `fmt` ("BAM" or "CRAM"), when given, must be what the file turns out to be.
    """
    if isinstance(path_or_stream, str | os.PathLike):
        with open(path_or_stream, "rb") as file:
            stats = _measure(file.fileno(), source, reference_fasta, fmt)
            ends = _file_ends(file)
    else:
        with _piped(path_or_stream) as (read_fd, ends):
            stats = _measure(read_fd, source, reference_fasta, fmt)
    _check_end_marker(ends, source)
    return stats


def _measure(fd: int, source: str, reference_fasta: str | None, fmt: str | None) -> ReadStats:
    """Read the BAM/CRAM behind `fd` (passed as a descriptor, so pysam looks for no index)."""
    try:
        alignments = _open(fd, reference_fasta)
        try:
            _check_format(alignments, source, fmt)
            stats = _tally_reads(alignments, not alignments.is_cram or reference_fasta is not None)
        finally:
            with contextlib.suppress(OSError):  # after a read error htslib also fails to close
                alignments.close()
    except (OSError, ValueError, IndexError) as error:  # IndexError: pysam on non-SAM text
        if isinstance(error, SequenceFileError):
            raise
        reason = "unrecognised content" if isinstance(error, IndexError) else str(error)
        if "truncat" in reason.lower():
            reason = f"truncated BAM/CRAM stream ({reason})"
        raise SequenceFileError(f"{source}: not a readable BAM/CRAM: {reason}") from error
    if not stats.read_count:
        raise SequenceFileError(f"{source}: empty (no primary reads)")
    return stats


def _check_format(alignments: pysam.AlignmentFile, source: str, fmt: str | None) -> None:
    found = "BAM" if alignments.is_bam else "CRAM" if alignments.is_cram else None
    if found is None:
        raise SequenceFileError(f"{source}: not BAM or CRAM but {alignments.format}")
    if fmt is not None and fmt.upper() != found:
        raise SequenceFileError(f"{source}: declared {fmt.upper()} but the file is {found}")


def _open(fd: int, reference_fasta: str | None) -> pysam.AlignmentFile:
    options = {"reference_filename": reference_fasta} if reference_fasta else {}
    if not reference_fasta:
        options["format_options"] = [_CRAM_WITHOUT_SEQUENCE.encode()]
    return pysam.AlignmentFile(fd, "r", check_sq=False, **options)


def _tally_reads(alignments: pysam.AlignmentFile, bases_decoded: bool) -> ReadStats:
    tally, mapped = ReadTally(), 0
    lengths: list[int] = []
    sequences: list[str] = []
    qualities: list[str] = []
    for read in alignments.fetch(until_eof=True):
        flag = read.flag
        if flag & NOT_PRIMARY:
            continue
        mapped += not flag & UNMAPPED
        lengths.append(read.query_length)
        if bases_decoded:
            sequences.append(read.query_sequence or "")
        quality = read.query_qualities_str  # None when the record stores none
        if quality:
            qualities.append(quality)
        if len(lengths) >= BATCH_READS:
            _add_batch(tally, lengths, sequences, qualities)
    _add_batch(tally, lengths, sequences, qualities)
    return tally.finish(mapped_count=mapped)


def _add_batch(tally: ReadTally, lengths: list, sequences: list, qualities: list) -> None:
    tally.add_lengths(np.array(lengths, np.int64))
    tally.add_bases(np.frombuffer("".join(sequences).encode("ascii"), np.uint8))
    tally.add_qualities(np.frombuffer("".join(qualities).encode("ascii"), np.uint8), 33)
    for batch in (lengths, sequences, qualities):
        batch.clear()


@dataclass
class _Ends:
    """First and last bytes of a file, enough to check its end-of-file marker."""

    head: bytes = b""
    tail: bytes = b""
    complete: bool = False


def _file_ends(file) -> _Ends:
    head = os.pread(file.fileno(), HEAD, 0)
    size = os.fstat(file.fileno()).st_size
    tail = os.pread(file.fileno(), len(CRAM3_EOF), max(0, size - len(CRAM3_EOF)))
    return _Ends(head, tail, complete=True)


def _check_end_marker(ends: _Ends, source: str) -> None:
    if not ends.complete:
        return
    if ends.head.startswith(BGZF_EOF[:2]):
        marker, kind = BGZF_EOF, "BGZF"
    elif ends.head.startswith(b"CRAM\x03"):
        marker, kind = CRAM3_EOF, "CRAM"
    else:
        return
    if not ends.tail.endswith(marker):
        raise SequenceFileError(f"{source}: truncated: no {kind} end-of-file marker")


@contextlib.contextmanager
def _piped(stream) -> Iterator[tuple[int, _Ends]]:
    """Yield the read end of an OS pipe that a thread fills from `stream`, and the file's ends
    (filled in once the block is left)."""
    read_fd, write_fd = os.pipe()
    ends, failures = _Ends(), []
    pump = threading.Thread(target=_pump, args=(stream, write_fd, ends, failures), daemon=True)
    pump.start()
    try:
        yield read_fd, ends
    finally:  # with the read end closed, a pump still writing stops on a broken pipe
        os.close(read_fd)
        pump.join()
        if failures:  # the stream itself failed: that, not its effect on htslib, is the news
            raise failures[0]


def _pump(stream, write_fd: int, ends: _Ends, failures: list[BaseException]) -> None:
    """Copy `stream` into the pipe until its end, or until the reader closes the pipe."""
    keep = len(CRAM3_EOF)
    try:
        while block := stream.read(PIPE_BLOCK):
            ends.head = (ends.head + block[:HEAD])[:HEAD]
            ends.tail = (ends.tail + block[-keep:])[-keep:]
            view = memoryview(block)
            while view:
                view = view[os.write(write_fd, view) :]
        ends.complete = True
    except BrokenPipeError:
        pass  # htslib stopped reading; the caller drains the rest
    except BaseException as error:  # e.g. the network stream failed: re-raised by _piped
        failures.append(error)
    finally:
        os.close(write_fd)
