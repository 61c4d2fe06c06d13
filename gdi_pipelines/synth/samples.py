"""The individuals of one batch: lab sample ids, sex and sequencing depth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdi_pipelines.synth.seeding import rng_for


@dataclass(frozen=True)
class BatchSamples:
    country: str
    batch_id: str
    batch_index: int  # 0-based
    sample_ids: tuple[str, ...]
    is_male: np.ndarray  # bool per sample
    mean_depth: np.ndarray  # per-sample mean read depth of the calls

    def reported_sex(self, i: int) -> str:
        return "male" if self.is_male[i] else "female"


def batch_id_of(batch_index: int) -> str:
    return f"b{batch_index + 1:03d}"


def batch_samples(seed: int, country: str, batch_index: int, n_samples: int) -> BatchSamples:
    """Deterministic samples; ids never repeat across the batches of a country."""
    rng = rng_for(seed, "samples", country, batch_index)
    numbers = batch_index * 3 * n_samples + np.cumsum(rng.integers(1, 4, size=n_samples))
    ids = tuple(f"{country}-LAB-{int(n):06d}" for n in numbers)
    is_male = rng.random(n_samples) < 0.5
    depth = np.maximum(rng.gamma(16.0, 32.0 / 16.0, size=n_samples), 12.0)  # ~30x WGS
    return BatchSamples(country, batch_id_of(batch_index), batch_index, ids, is_male, depth)
