"""Quality gates of `raw_sequences`, computed on the staged rows and the manifest."""

from __future__ import annotations

import polars as pl

from gdi_pipelines.domain.manifest import FileKind, Manifest
from gdi_pipelines.domain.quality import CheckOutcome, Severity

FILES_INTACT = "files_present_and_intact"
SAMPLES_SEQUENCED = "every_sample_sequenced"
READ_QUALITY = "read_quality"
UNLISTED_FILES = "no_unlisted_files"

CHECKS = (
    (
        FILES_INTACT,
        Severity.ERROR,
        "every listed file landed, is complete and matches its checksum",
    ),
    (SAMPLES_SEQUENCED, Severity.ERROR, "every sample of the manifest has a good sequencing file"),
    (READ_QUALITY, Severity.WARN, "Q30 fraction and mean base quality above the thresholds"),
    (UNLISTED_FILES, Severity.WARN, "no file in the batch folder is missing from the manifest"),
)


def files_intact(staged: pl.DataFrame) -> CheckOutcome:
    bad = staged.filter(pl.col("problem").is_not_null() | ~pl.col("checksum_ok").fill_null(False))
    failures = tuple(
        f"{row['source_uri']}: {row['problem'] or 'checksum differs from the manifest'}"
        for row in bad.iter_rows(named=True)
    )
    return CheckOutcome(
        FILES_INTACT,
        passed=not failures,
        severity=Severity.ERROR,
        description=CHECKS[0][2],
        figures={"files": staged.height, "failed_files": len(failures)},
        failures=failures,
    )


def samples_sequenced(staged: pl.DataFrame, sample_pseudonyms: list[str]) -> CheckOutcome:
    """`sample_pseudonyms` in manifest order; failures name the sample's pseudonym only."""
    intact = staged.filter(pl.col("problem").is_null() & pl.col("checksum_ok"))
    good = set(intact["sample"].to_list())
    missing = [(i, p) for i, p in enumerate(sample_pseudonyms, start=1) if p not in good]
    return CheckOutcome(
        SAMPLES_SEQUENCED,
        passed=not missing,
        severity=Severity.ERROR,
        description=CHECKS[1][2],
        figures={"samples": len(sample_pseudonyms), "samples_without_files": len(missing)},
        failures=tuple(
            f"sample #{i} of the manifest ({p}): no intact sequencing file" for i, p in missing
        ),
    )


def read_quality(staged: pl.DataFrame, min_q30: float, min_mean_quality: float) -> CheckOutcome:
    measured = staged.filter(pl.col("read_count") > 0)
    low = measured.filter(
        (pl.col("q30_fraction") < min_q30) | (pl.col("mean_base_quality") < min_mean_quality)
    )
    return CheckOutcome(
        READ_QUALITY,
        passed=low.height == 0,
        severity=Severity.WARN,
        description=CHECKS[2][2],
        figures={
            "min_q30_fraction": min_q30,
            "min_mean_base_quality": min_mean_quality,
            "lowest_q30_fraction": _round(measured["q30_fraction"].min()),
            "lowest_mean_base_quality": _round(measured["mean_base_quality"].min()),
            "files_below": low.height,
        },
        failures=tuple(
            f"{r['file_name']}: Q30 {r['q30_fraction']:.3f}, "
            f"mean quality {r['mean_base_quality']:.1f}"
            for r in low.iter_rows(named=True)
        ),
    )


def unlisted_files(listed: set[str], landed: list[str], manifest_name: str) -> CheckOutcome:
    extra = sorted(set(landed) - listed - {manifest_name})
    return CheckOutcome(
        UNLISTED_FILES,
        passed=not extra,
        severity=Severity.WARN,
        description=CHECKS[3][2],
        figures={"unlisted_files": len(extra)},
        failures=tuple(f"{path}: in the batch folder but not in the manifest" for path in extra),
    )


def sequencing_entries(manifest: Manifest):
    return manifest.files_of(FileKind.SEQUENCING)


def _round(value: float | None) -> float:
    return round(value, 4) if value is not None else float("nan")
