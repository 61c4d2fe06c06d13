"""The metadata pictures: valid, bounded, deterministic PNGs that show what they claim."""

from __future__ import annotations

import base64
import io
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from PIL import Image

from gdi_pipelines.domain.aggregates.plots import (
    DPI,
    EMBED_LIMIT,
    FAIL_COLOUR,
    MIN_DPI,
    af_country_vs_pooled_png,
    downsample,
    fit_png,
    markdown_image,
    outlier_bounds,
    sample_qc_png,
)
from gdi_pipelines.domain.aggregates.sample_qc import MAD_FLOOR, SampleQcConfig, _outlier

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
METRICS = ("call_rate", "het_hom_ratio", "ti_tv", "n_singletons")


def qc_frame(batches=(("SE", "b001"),), n: int = 24, seed: int = 0) -> pl.DataFrame:
    """A sample_qc-shaped frame: XX/XY alternating, flags as sample_qc sets them."""
    rng = np.random.default_rng(seed)
    rows = []
    for country, batch in batches:
        for i in range(n):
            karyotype = "XX" if i % 2 else "XY"
            rows.append(
                {
                    "country": country,
                    "batch_id": batch,
                    "sample": f"{country}-{batch}-{i:06d}",
                    "karyotype": karyotype,
                    "call_rate": float(min(1.0, rng.normal(0.98, 0.005))),
                    "het_hom_ratio": float(rng.normal(1.6, 0.1)),
                    "ti_tv": float(rng.normal(2.1, 0.05)),
                    "n_singletons": int(rng.poisson(30)),
                    "chrx_f": float(rng.normal(0.95 if karyotype == "XY" else 0.0, 0.05)),
                }
            )
    frame = pl.DataFrame(rows)
    config = SampleQcConfig()
    flags = {
        f"{m}_outlier": _outlier(m, config.mad_k, config.min_batch_for_outliers, MAD_FLOOR[m])
        for m in METRICS
    }
    frame = frame.with_columns(**flags)
    failing = pl.any_horizontal(*(pl.col(f) for f in flags))
    return frame.with_columns(qc_pass=~failing)


def pooled_frame(n: int = 3000, countries=("SE", "DK"), seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    af = rng.beta(0.3, 3, n)
    columns = {"variant_id": [f"1-{i}-A-G" for i in range(n)], "AF": af}
    for country in countries:
        own = np.clip(af + rng.normal(0, 0.02, n), 0, 1)
        columns[f"AF_{country}"] = np.where(rng.random(n) < 0.2, np.nan, own)
    return pl.DataFrame(columns).fill_nan(None)


def image(png: bytes) -> Image.Image:
    assert png.startswith(PNG_MAGIC)
    picture = Image.open(io.BytesIO(png))
    picture.load()
    return picture


def red_pixels(png: bytes) -> int:
    rgb = np.asarray(image(png).convert("RGB"), dtype=int)
    target = np.array([int(FAIL_COLOUR[i : i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb - target).sum(axis=2) < 40).sum())


def test_sample_qc_png_is_a_small_png_of_the_figure_size() -> None:
    png = sample_qc_png(qc_frame())
    picture = image(png)
    assert picture.format == "PNG"
    assert picture.size == (round(9.0 * DPI), round(5.4 * DPI))
    assert 10_000 < len(png) < EMBED_LIMIT
    assert b"Software" not in png and b"tIME" not in png


def test_equal_frames_give_equal_bytes() -> None:
    qc = qc_frame(n=40)
    assert sample_qc_png(qc) == sample_qc_png(pl.DataFrame(qc.to_dict()))
    pooled = pooled_frame()
    assert af_country_vs_pooled_png(pooled, ["SE", "DK"]) == af_country_vs_pooled_png(
        pooled.clone(), ["SE", "DK"]
    )


def test_failing_samples_are_drawn_in_the_failing_colour() -> None:
    qc = qc_frame(n=30).with_columns(qc_pass=pl.lit(True), call_rate_outlier=pl.lit(False))
    baseline = sample_qc_png(qc)  # the legend alone shows the colour
    failing = qc.with_columns(qc_pass=pl.col("sample").is_in(qc["sample"][:5].implode()).not_())
    flagged = failing.with_columns(call_rate_outlier=~pl.col("qc_pass"))
    assert len({baseline, sample_qc_png(failing), sample_qc_png(flagged)}) == 3
    assert red_pixels(sample_qc_png(failing)) > red_pixels(baseline) + 50


def test_outlier_bounds_are_where_sample_qc_flags() -> None:
    qc = qc_frame(batches=[("SE", "b001"), ("DK", "b001")], n=40, seed=3)
    # a few samples pushed out so that every metric flags someone
    qc = qc.with_columns(
        call_rate=pl.when(pl.int_range(pl.len()) % 17 == 0).then(0.9).otherwise("call_rate"),
        n_singletons=pl.when(pl.int_range(pl.len()) % 13 == 0).then(90).otherwise("n_singletons"),
    )
    config = SampleQcConfig()
    flags = {
        m: _outlier(m, config.mad_k, config.min_batch_for_outliers, MAD_FLOOR[m]) for m in METRICS
    }
    qc = qc.with_columns(**{f"{m}_outlier": flag for m, flag in flags.items()})
    bounds = outlier_bounds(qc, config)
    assert bounds.height == 2 * 2 * len(METRICS)  # batches x karyotypes x metrics
    for metric in METRICS:
        joined = qc.join(
            bounds.filter(pl.col("metric") == metric), on=["country", "batch_id", "karyotype"]
        )
        outside = (pl.col(metric) < pl.col("low")) | (pl.col(metric) > pl.col("high")).fill_null(
            False
        )
        assert (joined.select(outside)[:, 0] == joined[f"{metric}_outlier"]).all(), metric
    assert qc["call_rate_outlier"].any() and qc["n_singletons_outlier"].any()
    assert bounds.filter(pl.col("metric") == "call_rate")["high"].is_null().all()
    small = SampleQcConfig(min_batch_for_outliers=100)
    assert outlier_bounds(qc, small).height == 0  # no flags in small strata, no bounds either


def test_downsample_is_bounded_deterministic_and_keeps_the_marked_rows() -> None:
    frame = pl.DataFrame({"i": range(100_000)})
    first = (frame["i"] % 1000) == 7
    drawn = downsample(frame, 20_000, first)
    assert drawn.height == 20_000
    assert set(frame.filter(first)["i"]) <= set(drawn["i"])
    assert drawn["i"].is_sorted()
    assert drawn.equals(downsample(frame, 20_000, first))
    assert downsample(frame, 10, first).height == 10  # marked rows alone exceed the bound
    assert downsample(frame.head(5), 10).height == 5


def test_large_inputs_are_drawn_with_a_bounded_number_of_points() -> None:
    qc = qc_frame(batches=[("SE", f"b{i:03d}") for i in range(4)], n=5000)
    small, large = sample_qc_png(qc, max_points=2000), sample_qc_png(qc, max_points=4000)
    assert small != large and len(small) < EMBED_LIMIT
    pooled = pooled_frame(200_000, countries=("SE", "DK", "FI"))
    png = af_country_vs_pooled_png(pooled, ["SE", "DK", "FI"], max_points=3000)
    assert image(png).size == (round(9.0 * DPI), round(3.3 * DPI))
    assert len(png) < EMBED_LIMIT


def test_af_plot_has_one_panel_per_country() -> None:
    pooled = pooled_frame(countries=("SE", "DK", "FI", "NO", "EE"))
    sizes = {
        n: image(af_country_vs_pooled_png(pooled, ["SE", "DK", "FI", "NO", "EE"][:n])).size
        for n in (1, 4, 5)
    }
    assert sizes[1] == (round(3.0 * DPI), round(3.3 * DPI))
    assert sizes[4] == (round(12.0 * DPI), round(3.3 * DPI))
    assert sizes[5] == (round(12.0 * DPI), round(6.3 * DPI))  # a second row
    linear = af_country_vs_pooled_png(pooled, ["SE"], scale="linear")
    assert linear != af_country_vs_pooled_png(pooled, ["SE"])
    with pytest.raises(ValueError, match="scale"):
        af_country_vs_pooled_png(pooled, ["SE"], scale="log2")


@pytest.mark.parametrize(
    "pooled, countries",
    [
        (pooled_frame(), []),
        (pooled_frame().clear(), ["SE", "DK"]),
        (pooled_frame(countries=("SE",)), ["SE"]),
        (pooled_frame().with_columns(AF_SE=None), ["SE", "DK"]),  # everything withheld
        (pooled_frame(countries=("SE",)), ["SE", "DK"]),  # no AF_DK column
    ],
)
def test_af_plot_of_empty_or_small_inputs(pooled: pl.DataFrame, countries: list[str]) -> None:
    assert image(af_country_vs_pooled_png(pooled, countries)).size[0] > 0


@pytest.mark.parametrize(
    "qc",
    [
        qc_frame().clear(),
        qc_frame(n=1),
        qc_frame(n=3).with_columns(chrx_f=None, ti_tv=None, karyotype=None),
        qc_frame(n=12).with_columns(qc_pass=False),
    ],
)
def test_sample_qc_plot_of_empty_or_odd_frames(qc: pl.DataFrame) -> None:
    assert image(sample_qc_png(qc)).size[0] > 0


def test_fit_png_lowers_the_dpi_until_the_picture_fits() -> None:
    calls: list[int] = []

    def render(dpi: int) -> bytes:
        calls.append(dpi)
        return b"x" * (dpi * dpi * 40)

    assert len(fit_png(render, limit=150_000)) <= 150_000
    assert calls[0] == DPI and calls[-1] < DPI
    calls.clear()
    assert len(fit_png(render, limit=10)) == MIN_DPI * MIN_DPI * 40  # the floor, then stop
    assert calls[-1] == MIN_DPI
    pooled = pooled_frame(50_000, countries=("SE", "DK", "FI", "NO"))
    full = af_country_vs_pooled_png(pooled, ["SE", "DK", "FI", "NO"])
    fitted = fit_png(lambda dpi: af_country_vs_pooled_png(pooled, ["SE"] * 4, dpi=dpi), 40_000)
    assert len(fitted) <= 40_000 < len(full)
    assert image(fitted).size[0] < image(full).size[0]


def test_markdown_image_embeds_the_bytes() -> None:
    png = sample_qc_png(qc_frame(n=4))
    text = markdown_image(png, "sample QC")
    assert text.startswith("![sample QC](data:image/png;base64,") and text.endswith(")")
    assert base64.b64decode(text.split(",", 1)[1][:-1]) == png


def test_matplotlib_is_imported_only_to_draw() -> None:
    code = (
        "import sys, gdi_pipelines.domain.aggregates.plots, gdi_pipelines.defs.summaries, "
        "gdi_pipelines.defs.federation; assert 'matplotlib' not in sys.modules, 'imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
