"""The GRCh37 <-> GRCh38 alignment of the synthetic genome, and its UCSC chain file.

Target = GRCh37, query = GRCh38, like UCSC's hg19ToHg38.over.chain; both sides use chr names.
"""

from __future__ import annotations

import bisect
import gzip
import itertools
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class AlignedBlock:
    """Bases 37[start37, +size) align to 38[start38, +size); inverted = reverse complemented."""

    start37: int
    start38: int
    size: int
    inverted: bool = False

    @property
    def end37(self) -> int:
        return self.start37 + self.size

    @property
    def end38(self) -> int:
        return self.start38 + self.size


@dataclass(frozen=True)
class ContigAlignment:
    name: str
    length37: int
    length38: int
    blocks: tuple[AlignedBlock, ...]  # sorted by start37
    _by38: tuple[AlignedBlock, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by38", tuple(sorted(self.blocks, key=lambda b: b.start38)))

    def block_containing_38(self, start38: int, end38: int) -> AlignedBlock | None:
        """The block holding the whole 0-based half-open 38 interval, if any."""
        starts = [b.start38 for b in self._by38]
        i = bisect.bisect_right(starts, start38) - 1
        if i < 0:
            return None
        block = self._by38[i]
        return block if end38 <= block.end38 else None

    def project_38_to_37(self, start38: int, end38: int) -> tuple[int, bool] | None:
        """(start37, inverted) of a 38 interval lying in one block; None if it is not."""
        block = self.block_containing_38(start38, end38)
        if block is None:
            return None
        if block.inverted:
            return block.start37 + (block.end38 - end38), True
        return block.start37 + (start38 - block.start38), False

    def project_37_to_38(self, pos37: int) -> tuple[int, bool] | None:
        """(pos38, inverted) of one 0-based 37 base; None for 37-only sequence."""
        starts = [b.start37 for b in self.blocks]
        i = bisect.bisect_right(starts, pos37) - 1
        if i < 0 or pos37 >= self.blocks[i].end37:
            return None
        block = self.blocks[i]
        offset = pos37 - block.start37
        if block.inverted:
            return block.end38 - 1 - offset, True
        return block.start38 + offset, False


def _chain_text(alignment: ContigAlignment, first_id: int) -> tuple[list[str], int]:
    lines: list[str] = []
    chain_id = first_id
    name, t_size, q_size = alignment.name, alignment.length37, alignment.length38
    forward = [b for b in alignment.blocks if not b.inverted]
    if forward:
        score = sum(b.size for b in forward) * 100
        lines.append(
            f"chain {score} {name} {t_size} + {forward[0].start37} {forward[-1].end37} "
            f"{name} {q_size} + {forward[0].start38} {forward[-1].end38} {chain_id}"
        )
        for block, nxt in itertools.pairwise(forward):
            lines.append(f"{block.size}\t{nxt.start37 - block.end37}\t{nxt.start38 - block.end38}")
        lines.extend([str(forward[-1].size), ""])
        chain_id += 1
    for block in (b for b in alignment.blocks if b.inverted):
        q_start = q_size - block.end38  # coordinates on the reverse-complemented query
        lines.append(
            f"chain {block.size * 100} {name} {t_size} + {block.start37} {block.end37} "
            f"{name} {q_size} - {q_start} {q_start + block.size} {chain_id}"
        )
        lines.extend([str(block.size), ""])
        chain_id += 1
    return lines, chain_id


def write_chain_file(path: Path, alignments: list[ContigAlignment]) -> None:
    """Write a gzipped UCSC chain file (byte-identical for identical input)."""
    lines: list[str] = []
    next_id = 1
    for alignment in alignments:
        contig_lines, next_id = _chain_text(alignment, next_id)
        lines.extend(contig_lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as out:
        out.write("\n".join(lines).encode() + b"\n")
