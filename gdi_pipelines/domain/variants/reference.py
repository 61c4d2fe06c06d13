"""A reference FASTA addressed by canonical contig names (bgzipped or plain, faidx-indexed).

Sequence comes back upper-case with every letter other than A/C/G/T/N turned into N, as
bcftools does before comparing (`replace_iupac_codes`). Reads are served from the last window
decoded on each of a few contigs: callers walk a VCF in position order and ask for nearby bases
many times (the REF check, left-alignment, liftover), and every read of a bgzipped FASTA would
otherwise inflate its blocks again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam

from gdi_pipelines.domain.variants.contigs import contig_spelling

_TO_ACGTN = str.maketrans(
    {c: "N" for c in "BDEFHIJKLMOPQRSUVWXYZbdefhijklmopqrsuvwxyz"}
    | {"a": "A", "c": "C", "g": "G", "t": "T", "n": "N"}
)
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
WINDOW_AHEAD = 1 << 18  # bases decoded from a read's start, at least, when it misses the window
WINDOW_BEHIND = 1 << 12  # and before it: left-alignment reads leftwards
WINDOW_MAX = 1 << 22  # longer reads bypass the windows
WINDOW_CONTIGS = 2  # contigs whose windows are kept


def to_acgtn(sequence: str) -> str:
    return sequence.translate(_TO_ACGTN)


def reverse_complement(sequence: str) -> str:
    return sequence.translate(_COMPLEMENT)[::-1]


class ReferenceGenome:
    """Read access to one build's FASTA; open one per process (pysam handles don't pickle)."""

    def __init__(self, path: str | Path, build: str | None = None) -> None:
        self.path = Path(path)
        self.build = build
        self._fasta = pysam.FastaFile(str(path))
        self._names = contig_spelling(self._fasta.references, build)
        self._lengths = {c: self._fasta.get_reference_length(n) for c, n in self._names.items()}
        self._windows: dict[str, tuple[int, str]] = {}  # contig -> (start0, bases), oldest first

    def has_contig(self, contig: str) -> bool:
        return contig in self._names

    def length(self, contig: str) -> int:
        return self._lengths[contig]

    def name_in_fasta(self, contig: str) -> str:
        return self._names[contig]

    def fetch(self, contig: str, start0: int, end0: int) -> str:
        """Bases [start0, end0) (0-based, half-open), clipped to the contig."""
        start0 = max(start0, 0)
        end0 = min(end0, self._lengths[contig])
        if end0 <= start0:
            return ""
        if end0 - start0 > WINDOW_MAX:
            return self._read(contig, start0, end0)
        begin, text = self._windows.get(contig, (0, ""))
        if not (begin <= start0 and end0 <= begin + len(text)):
            text, begin = self._moved_window(contig, begin, text, start0, end0)
            self._windows.pop(contig, None)
            self._windows[contig] = (begin, text)
            while len(self._windows) > WINDOW_CONTIGS:
                del self._windows[next(iter(self._windows))]
        return text[start0 - begin : end0 - begin]

    def _moved_window(
        self, contig: str, begin: int, text: str, start0: int, end0: int
    ) -> tuple[str, int]:
        """(bases, start) of the window serving [start0, end0): only the bases past the old
        window are decoded when the read starts inside it (a walk to the right)."""
        new_begin = max(start0 - WINDOW_BEHIND, 0)
        new_end = max(end0, start0 + WINDOW_AHEAD)
        old_end = begin + len(text)
        if text and begin <= new_begin <= old_end:
            kept = text[new_begin - begin :]
            return kept + self._read(contig, old_end, new_end), new_begin
        return self._read(contig, new_begin, new_end), new_begin

    def _read(self, contig: str, start0: int, end0: int) -> str:
        end0 = min(end0, self._lengths[contig])
        return to_acgtn(self._fasta.fetch(self._names[contig], start0, end0))

    def fetch_codes(self, contig: str, start0: int, end0: int) -> np.ndarray:
        """Like `fetch`, as uint8 ASCII codes (for vectorised comparisons)."""
        return np.frombuffer(self.fetch(contig, start0, end0).encode("ascii"), dtype=np.uint8)

    def close(self) -> None:
        self._fasta.close()
