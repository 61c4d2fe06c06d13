"""Region shards on a spawn pool give exactly the single-process output."""

from __future__ import annotations

import functools
from pathlib import Path

import polars as pl
import pytest

from gdi_pipelines.domain.pseudonym import pseudonymise
from gdi_pipelines.domain.variants.harmonise import HarmoniseConfig, combine_samples, harmonise_vcf
from gdi_pipelines.domain.variants.parallel import harmonise_by_region, plan_region_shards
from gdi_pipelines_tests.domain.variants.variants_oracles import BEAGLE, CHAIN, GRCH37_FASTA, HAPMAP

CONFIG = HarmoniseConfig(
    source_build="GRCh37", source_fasta=GRCH37_FASTA, chain=CHAIN, chunk_size=300
)
PSEUDO = functools.partial(pseudonymise, b"secret-key-for-tests", "SE")


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(frame.columns)


@pytest.mark.slow
@pytest.mark.parametrize(("vcf", "shard_length"), [(BEAGLE, 20_000), (HAPMAP, 5_000_000)])
def test_sharded_pool_equals_one_process(vcf: Path, shard_length: int) -> None:
    single = list(harmonise_vcf(vcf, CONFIG, PSEUDO))
    shards = plan_region_shards(vcf, shard_length, GRCH37_FASTA, "GRCh37")
    parallel = list(
        harmonise_by_region(vcf, CONFIG, PSEUDO, processes=2, shard_length=shard_length)
    )
    assert len(parallel) == len(shards) > 3
    calls = pl.concat([c.calls for c in parallel])
    assert calls.height > 0
    assert _sorted(calls).equals(_sorted(pl.concat([c.calls for c in single])))
    locator = ["region", "record_index", "line"]
    rejects = pl.concat([c.rejects for c in parallel]).drop(locator)
    assert _sorted(rejects).equals(_sorted(pl.concat([c.rejects for c in single]).drop(locator)))
    samples = combine_samples(c.samples for c in parallel)
    assert samples.equals(combine_samples(c.samples for c in single))
    sites = pl.concat([c.sites for c in parallel])
    assert sites.height > 0
    assert _sorted(sites).equals(_sorted(pl.concat([c.sites for c in single])))


def test_shards_cover_each_contig_from_its_first_record_and_end_open() -> None:
    shards = plan_region_shards(HAPMAP, 10_000_000)
    assert [s.region for s in shards] == [
        "22:16157603-26157602",
        "22:26157603-36157602",
        "22:36157603-46157602",
        "22:46157603-",
    ]
    (whole,) = plan_region_shards(BEAGLE, 10_000_000)  # no contig length in the header
    assert whole.region == "22:20000086-"
