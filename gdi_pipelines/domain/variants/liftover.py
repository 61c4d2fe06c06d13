"""UCSC chain files: parser and a vectorised position index (numpy searchsorted per contig).

Semantics match UCSC liftOver / pyliftover for single bases: a 0-based source position maps
through every ungapped block containing it; one block -> a mapping, none -> unmapped, blocks of
several chains -> ambiguous. On a '-' strand chain the target position counts from the end of
the target contig: `target_size - 1 - (q_start + offset)`.

Contig names are stored canonical (`22` and `chr22` both become `chr22`); target contigs that
have no canonical name (alt, random, fix patches) keep the chain's name.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from gdi_pipelines.domain.variants.contigs import canonical_contig

NO_HIT, ONE_HIT, AMBIGUOUS = 0, 1, 2


@dataclass
class _ContigBlocks:
    start: np.ndarray  # int64, 0-based block starts on the source contig, sorted
    end: np.ndarray  # int64, exclusive
    offset: np.ndarray  # int64, q_start - t_start of the block (strand-local target coords)
    chain: np.ndarray  # int32, index into the index's chain tables
    earlier_max_end: np.ndarray  # int64, max(end) over the blocks before each one


@dataclass
class LiftedPositions:
    hits: np.ndarray  # int8: NO_HIT, ONE_HIT or AMBIGUOUS
    chain: np.ndarray  # int32, -1 unless ONE_HIT
    contig: np.ndarray  # object: target contig (canonical when possible), None unless ONE_HIT
    pos0: np.ndarray  # int64, 0-based target position on the '+' strand, -1 unless ONE_HIT
    reverse: np.ndarray  # bool, the chain maps to the target's '-' strand


class ChainIndex:
    """Every block of a chain file, indexed per source contig."""

    def __init__(self, blocks: dict[str, _ContigBlocks], targets: list[str], sizes, strands):
        self._blocks = blocks
        self.target_contig = np.array(targets, dtype=object)
        self.target_size = np.asarray(sizes, dtype=np.int64)
        self.target_reverse = np.asarray(strands, dtype=bool)

    @classmethod
    def from_file(cls, path: str | Path) -> ChainIndex:
        return _load_chain_index(str(path))

    def source_contigs(self) -> list[str]:
        return sorted(self._blocks)

    def lift(self, contig: str, pos0: np.ndarray) -> LiftedPositions:
        """Map 0-based positions on one (canonical) source contig."""
        pos0 = np.asarray(pos0, dtype=np.int64)
        n = len(pos0)
        out = LiftedPositions(
            hits=np.zeros(n, dtype=np.int8),
            chain=np.full(n, -1, dtype=np.int32),
            contig=np.full(n, None, dtype=object),
            pos0=np.full(n, -1, dtype=np.int64),
            reverse=np.zeros(n, dtype=bool),
        )
        blocks = self._blocks.get(contig)
        if blocks is None or n == 0:
            return out
        last = np.searchsorted(blocks.start, pos0, side="right") - 1
        safe = np.maximum(last, 0)
        in_last = (last >= 0) & (blocks.end[safe] > pos0)
        in_earlier = (last >= 0) & (blocks.earlier_max_end[safe] > pos0)
        out.hits[in_last | in_earlier] = ONE_HIT
        out.hits[in_last & in_earlier] = AMBIGUOUS
        # Not in the last block starting before pos, but in an earlier one: rare, scan back.
        block = np.where(in_last, last, -1)
        for i in np.flatnonzero(~in_last & in_earlier):
            found = _hits_before(blocks, int(last[i]), int(pos0[i]))
            if len(found) == 1:
                block[i] = found[0]
            else:
                out.hits[i] = AMBIGUOUS
        one = (out.hits == ONE_HIT) & (block >= 0)
        chain = blocks.chain[block[one]]
        local = pos0[one] + blocks.offset[block[one]]
        reverse = self.target_reverse[chain]
        out.chain[one] = chain
        out.contig[one] = self.target_contig[chain]
        out.pos0[one] = np.where(reverse, self.target_size[chain] - 1 - local, local)
        out.reverse[one] = reverse
        return out


def _hits_before(blocks: _ContigBlocks, last: int, pos0: int) -> list[int]:
    """Blocks before `last` that contain pos0, walking back until none can reach it."""
    found = []
    j = last - 1
    while j >= 0:
        if blocks.end[j] > pos0:
            found.append(j)
        if blocks.earlier_max_end[j] <= pos0:
            break
        j -= 1
    return found


@lru_cache(maxsize=4)
def _load_chain_index(path: str) -> ChainIndex:
    per_contig: dict[str, list[tuple[int, int, int, int]]] = {}
    targets: list[str] = []
    sizes: list[int] = []
    strands: list[bool] = []
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as handle:
        t_pos = q_pos = 0
        source = ""
        for line in handle:
            fields = line.split()
            if not fields:
                continue
            if fields[0] == "chain":
                if fields[4] != "+":
                    raise ValueError(f"{path}: source strand must be '+': {line.strip()}")
                source = canonical_contig(fields[2]) or fields[2]
                targets.append(canonical_contig(fields[7]) or fields[7])
                sizes.append(int(fields[8]))
                strands.append(fields[9] == "-")
                t_pos, q_pos = int(fields[5]), int(fields[10])
                continue
            size = int(fields[0])
            chain = len(targets) - 1
            per_contig.setdefault(source, []).append((t_pos, t_pos + size, q_pos - t_pos, chain))
            if len(fields) == 3:
                t_pos += size + int(fields[1])
                q_pos += size + int(fields[2])
    blocks = {contig: _contig_blocks(rows) for contig, rows in per_contig.items()}
    return ChainIndex(blocks, targets, sizes, strands)


def _contig_blocks(rows: list[tuple[int, int, int, int]]) -> _ContigBlocks:
    table = np.array(sorted(rows), dtype=np.int64).reshape(-1, 4)
    end = table[:, 1]
    earlier = np.empty_like(end)
    earlier[0] = -1
    earlier[1:] = np.maximum.accumulate(end)[:-1]
    return _ContigBlocks(table[:, 0], end, table[:, 2], table[:, 3].astype(np.int32), earlier)
