"""Paired-end FASTQ from a sample's reference build, with Illumina 1.8+ headers and errors."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdi_pipelines.synth.seeding import rng_for

READ_LENGTH = 100
FRAGMENT_MEAN, FRAGMENT_SD = 350, 40
MITO_COPY_WEIGHT = 20.0  # mtDNA is over-represented in WGS
CHUNK_PAIRS = 20_000
GZIP_LEVEL = 4  # bcl2fastq default
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_COMPLEMENT = np.arange(256, dtype=np.uint8)
_COMPLEMENT[list(b"ACGTN")] = list(b"TGCAN")


@dataclass(frozen=True)
class SequencingRun:
    """Where a batch was sequenced: one instrument run, one flow cell."""

    instrument: str
    run_number: int
    flowcell: str

    @classmethod
    def for_batch(cls, seed: int, country: str, batch_id: str) -> SequencingRun:
        rng = rng_for(seed, "run", country, batch_id)
        letters = np.frombuffer(b"ABCDEFGHJKLMNPRSTUVWXY0123456789", dtype=np.uint8)
        flowcell = "H" + rng.choice(letters, 4).tobytes().decode() + "DSX" + str(rng.integers(2, 6))
        return cls(f"A{rng.integers(100, 999):05d}", int(rng.integers(10, 900)), flowcell)


class GenomeSampler:
    """One build's contigs as one upper-case array, for drawing N-free fragments."""

    def __init__(self, contigs: list[tuple[str, str, np.ndarray]]) -> None:  # (name, kind, seq)
        self.kinds = [kind for _, kind, _ in contigs]
        self.lengths = np.array([len(seq) for _, _, seq in contigs])
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        self.genome = np.concatenate([seq for _, _, seq in contigs]) & 0xDF  # upper case
        n_count = np.cumsum(self.genome == ord("N"), dtype=np.int32)
        self.n_before = np.concatenate([np.zeros(1, dtype=np.int32), n_count])

    def fragments(
        self, rng: np.random.Generator, n: int, is_male: bool, min_size: int
    ) -> tuple[np.ndarray, ...]:
        """(start in genome, length) of n fragments free of N, at least min_size long."""
        weights = self.lengths.astype(float)
        weights[[k == "M" for k in self.kinds]] *= MITO_COPY_WEIGHT
        if not is_male:
            weights[[k == "Y" for k in self.kinds]] = 0.0
        starts, lengths = [], []
        while sum(len(s) for s in starts) < n:
            m = 2 * n + 16
            contig = rng.choice(len(weights), size=m, p=weights / weights.sum())
            size = np.clip(rng.normal(FRAGMENT_MEAN, FRAGMENT_SD, m), min_size, None)
            size = np.minimum(size.astype(int), self.lengths[contig])
            start = self.offsets[contig] + (rng.random(m) * (self.lengths[contig] - size + 1))
            start = start.astype(int)
            clean = self.n_before[start + size] == self.n_before[start]
            starts.append(start[clean])
            lengths.append(size[clean])
        return np.concatenate(starts)[:n], np.concatenate(lengths)[:n]


def _qualities(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """Phred scores that decline along the read, as on Illumina instruments."""
    along = np.arange(length) / length
    mean = 38.0 - 7.0 * along**2  # Q30 share ~0.85-0.9, as on current Illumina runs
    q = mean + rng.normal(0.0, 2.5, (n, length)) - rng.exponential(1.5, (n, 1))
    return np.clip(np.rint(q), 2, 41).astype(np.uint8)


def _sequence_errors(rng: np.random.Generator, bases: np.ndarray, quals: np.ndarray) -> None:
    wrong = rng.random(bases.shape) < 10.0 ** (-quals.astype(np.float32) / 10.0)
    index = np.searchsorted(_BASES, bases[wrong])
    bases[wrong] = _BASES[(index + rng.integers(1, 4, wrong.sum())) % 4]
    no_call = rng.random(bases.shape) < 0.0005
    bases[no_call], quals[no_call] = ord("N"), 2


def _records(headers: list[str], bases: np.ndarray, quals: np.ndarray) -> bytes:
    n, length = bases.shape
    body = np.empty((n, 2 * length + 4), dtype=np.uint8)
    body[:, 0], body[:, 1 : length + 1] = ord("\n"), bases
    body[:, length + 1 : length + 4] = np.frombuffer(b"\n+\n", dtype=np.uint8)
    body[:, length + 4 :] = quals + 33
    rows = body.tobytes()
    width = 2 * length + 4
    return b"".join(
        h.encode() + rows[i * width : (i + 1) * width] + b"\n" for i, h in enumerate(headers)
    )


def write_read_pairs(
    paths: tuple[Path, Path],
    sampler: GenomeSampler,
    rng: np.random.Generator,
    n_pairs: int,
    is_male: bool,
    run: SequencingRun,
    index: str,
    read_length: int = READ_LENGTH,
) -> None:
    """Write gzipped R1/R2 FASTQ (gzip mtime 0: byte-identical across runs)."""
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    with (
        open(paths[0], "wb") as raw1,
        open(paths[1], "wb") as raw2,
        gzip.GzipFile("", "wb", GZIP_LEVEL, raw1, mtime=0) as out1,
        gzip.GzipFile("", "wb", GZIP_LEVEL, raw2, mtime=0) as out2,
    ):
        done = 0
        while done < n_pairs:
            n = min(CHUNK_PAIRS, n_pairs - done)
            start, size = sampler.fragments(rng, n, is_male, read_length)
            offsets = np.arange(read_length)
            r1 = sampler.genome[start[:, None] + offsets]
            r2 = _COMPLEMENT[sampler.genome[(start + size)[:, None] - 1 - offsets]]
            flip = rng.random(n) < 0.5  # fragment from the reverse strand
            r1[flip], r2[flip] = r2[flip], r1[flip]
            q1, q2 = _qualities(rng, n, read_length), _qualities(rng, n, read_length)
            _sequence_errors(rng, r1, q1)
            _sequence_errors(rng, r2, q2)
            lane = rng.integers(1, 5, n)
            # NovaSeq tile numbers: surface (1-2), swath (1-6), tile (01-78)
            tile = (
                rng.integers(1, 3, n) * 1000 + rng.integers(1, 7, n) * 100 + rng.integers(1, 79, n)
            )
            x, y = rng.integers(1000, 32000, n), rng.integers(1000, 37000, n)
            order = np.lexsort((x, y, tile, lane))
            names = [
                f"@{run.instrument}:{run.run_number}:{run.flowcell}:{lane[i]}:{tile[i]}:{x[i]}:{y[i]}"
                for i in order.tolist()
            ]
            out1.write(_records([f"{h} 1:N:0:{index}" for h in names], r1[order], q1[order]))
            out2.write(_records([f"{h} 2:N:0:{index}" for h in names], r2[order], q2[order]))
            done += n


def sample_index(rng: np.random.Generator) -> str:
    """A dual 8 bp sample barcode, i7+i5."""
    return "+".join(_BASES[rng.integers(0, 4, 8)].tobytes().decode() for _ in range(2))
