"""Pictures for the materialization metadata: PNG bytes from the frames the assets stage.

- `sample_qc_png`: per batch, the distributions the QC decides on (call rate, het/hom-alt,
  Ti/Tv, singletons, chrX F) as strip plots, one panel per metric; within a batch XX samples
  left, XY right (the outlier strata of `sample_qc`), QC-failing samples in red (a cross when
  this metric flagged it), the outlier bounds median +/- k MAD of each stratum as grey dashes
  (call rate: the lower bound only; none in strata below `min_batch_for_outliers`), and the
  chrX F sex thresholds as dotted lines.
- `af_country_vs_pooled_png`: per country a scatter of its published AF against the pooled AF,
  one panel per country, the diagonal y = x, with n variants and mean |AF_country - AF| (as
  the `af_by_country` table) in the title. Withheld (null) figures are not drawn.

Bounded: at most `max_points` samples drawn (each in every panel), at most `max_points`
points over all AF panels, chosen deterministically (every failing sample, the tenth of a
panel's budget with the largest AF differences, then a seeded sample); a fixed DPI (`fit_png`
lowers it until the PNG fits the metadata). The PNG carries no `Software` text chunk and no
time, so equal frames give equal bytes (for one matplotlib version: its fonts and rasteriser
set the pixels). matplotlib is imported on first use, not with this module: run steps that
draw nothing do not pay for it. Figures are drawn on the Agg canvas directly (no pyplot: no
GUI backend, no global figure registry that could keep them alive).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl

from gdi_pipelines.domain.aggregates.allele_counts import BATCH
from gdi_pipelines.domain.aggregates.sample_qc import MAD_SCALE, SampleQcConfig

DPI = 90
MAX_POINTS = 20_000
EMBED_LIMIT = 150_000  # bytes of PNG inlined in the metadata as a data URI
MIN_DPI = 40
ASINH_WIDTH = 0.001  # AF axes: logarithmic above 0.001, linear through 0
AF_TICKS = (0.0, 0.001, 0.01, 0.1, 1.0)

QC_PANELS = (
    ("call_rate", "call rate"),
    ("het_hom_ratio", "het / hom-alt"),
    ("ti_tv", "Ti/Tv"),
    ("n_singletons", "singletons"),
    ("chrx_f", "chrX F"),
)
KARYOTYPE_OFFSET = {"XX": -0.2, "XY": 0.2}
PASS_COLOUR, FAIL_COLOUR, BOUND_COLOUR, AF_COLOUR = "#4c72b0", "#d62728", "#444444", "#2b6a99"
_RC = {
    "font.family": "DejaVu Sans",  # shipped with matplotlib: no dependence on system fonts
    "font.size": 8,
    "axes.titlesize": 8,
    "svg.hashsalt": "gdi-pipelines",
    "path.simplify": True,
}


def markdown_image(png: bytes, alt: str) -> str:
    """Markdown showing `png` inline (a base64 data URI), as the Dagster UI renders it."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def fit_png(render: Callable[..., bytes], limit: int = EMBED_LIMIT, dpi: int = DPI) -> bytes:
    """`render(dpi=...)`, again at a lower DPI while the PNG exceeds `limit` bytes (its size goes
    with the pixels, i.e. DPI squared), down to MIN_DPI."""
    png = render(dpi=dpi)
    for _ in range(3):
        if len(png) <= limit or dpi <= MIN_DPI:
            break
        dpi = max(MIN_DPI, min(dpi - 1, int(dpi * 0.9 * math.sqrt(limit / len(png)))))
        png = render(dpi=dpi)
    return png


@contextmanager
def _figure(width: float, height: float, dpi: int) -> Iterator[Any]:
    """A Figure on the Agg canvas under this module's rc settings; cleared on exit."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(width, height), dpi=dpi)  # fixed margins: no layout engine
        FigureCanvasAgg(figure)
        try:
            yield figure
        finally:
            figure.clear()


def _margins(width: float, height: float, left: float, right: float, top: float, bottom: float):
    """gridspec_kw for margins given in inches (a layout engine costs a third of the time)."""
    return {
        "left": left / width,
        "right": 1 - right / width,
        "top": 1 - top / height,
        "bottom": bottom / height,
    }


def _png(figure: Any, dpi: int) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def downsample(
    frame: pl.DataFrame, max_points: int, first: pl.Series | None = None
) -> pl.DataFrame:
    """At most `max_points` rows, in their order: every row where `first` is true (the leading
    ones if they alone exceed the bound), then a seeded sample of the others."""
    if frame.height <= max_points:
        return frame
    if first is None:
        first = pl.Series([False] * frame.height)
    keep = np.flatnonzero(first.fill_null(False).to_numpy())[:max_points]
    others = np.flatnonzero(~first.fill_null(False).to_numpy())
    rng = np.random.default_rng(0)
    extra = rng.choice(others, size=max_points - keep.size, replace=False)
    return frame[np.sort(np.concatenate([keep, extra]))]


def outlier_bounds(qc: pl.DataFrame, config: SampleQcConfig) -> pl.DataFrame:
    """Per batch x karyotype x metric: the flags' bounds median +/- k * max(MAD, floor), as
    `sample_qc` computes them (low side only for call_rate; none in small strata)."""
    stratum = [*BATCH, "karyotype"]
    qc = _typed(qc)
    frames = []
    for metric, _ in QC_PANELS:
        if metric == "chrx_f":
            continue
        floor = config.mad_floor.get(metric, 0.0)
        stats = (
            qc.with_columns(_m=pl.col(metric).median().over(stratum))
            .group_by(stratum)
            .agg(
                n=pl.len(),
                median=pl.col("_m").first(),
                mad=(pl.col(metric) - pl.col("_m")).abs().median(),
            )
            .filter(pl.col("n") >= config.min_batch_for_outliers)
            .with_columns(
                spread=pl.max_horizontal(pl.col("mad") * MAD_SCALE, pl.lit(floor)) * config.mad_k
            )
            .select(
                *stratum,
                metric=pl.lit(metric),
                low=pl.col("median") - pl.col("spread"),
                high=pl.lit(None, pl.Float64)
                if metric == "call_rate"
                else pl.col("median") + pl.col("spread"),
            )
        )
        frames.append(stats)
    return pl.concat(frames) if frames else pl.DataFrame()


def _typed(qc: pl.DataFrame) -> pl.DataFrame:
    """Metrics as floats, karyotype as text, even where a column is all null."""
    metrics = [m for m, _ in QC_PANELS if m in qc.columns]
    karyotype = pl.col("karyotype") if "karyotype" in qc.columns else pl.lit(None)
    return qc.with_columns(pl.col(metrics).cast(pl.Float64), karyotype=karyotype.cast(pl.String))


def _batch_labels(qc: pl.DataFrame) -> list[tuple[str, str]]:
    return sorted(set(qc.select(BATCH).iter_rows()))


def sample_qc_png(
    qc: pl.DataFrame,
    config: SampleQcConfig | None = None,
    *,
    dpi: int = DPI,
    max_points: int = MAX_POINTS,
) -> bytes:
    """Strip plots of a `sample_qc` frame (any number of batches). `config` is the one the
    frame was made with (for the outlier bounds and sex thresholds; default: the defaults)."""
    config = config or SampleQcConfig()
    qc = _typed(qc)
    sort = [c for c in (*BATCH, "karyotype", "sample") if c in qc.columns]
    qc = qc.sort(sort, nulls_last=True) if sort else qc
    n_samples, n_failing = qc.height, int((~qc["qc_pass"]).sum()) if qc.height else 0
    shown = downsample(qc, max_points, ~qc["qc_pass"]) if qc.height else qc
    batches = _batch_labels(qc)
    bounds = outlier_bounds(qc, config) if qc.height else pl.DataFrame()
    countries = {country for country, _ in batches}
    labels = [batch if len(countries) == 1 else f"{c} {batch}" for c, batch in batches]
    width = min(3.0 + 0.3 * max(0, len(batches) - 3), 4.5)
    where = ""
    if len(countries) == 1:
        named = ", ".join(labels) if len(labels) <= 3 else f"{len(labels)} batches"
        where = f" {next(iter(countries))} {named}"
    title = f"Sample QC{where}: {n_samples} samples, {n_failing} failing"
    if shown.height < qc.height:
        title += f" ({shown.height} drawn: every failing one first, then a fixed sample)"
    size, rotate = (3 * width, 5.4), len(batches) > 4
    layout = _margins(*size, left=0.55, right=0.15, top=0.5, bottom=0.75 if rotate else 0.4)
    with _figure(*size, dpi) as figure:
        figure.suptitle(title)
        axes = figure.subplots(2, 3, gridspec_kw={**layout, "wspace": 0.3, "hspace": 0.38})
        axes = axes.ravel()
        for ax, (metric, name) in zip(axes, QC_PANELS, strict=False):
            _qc_panel(ax, shown, metric, name, batches, labels, bounds, config)
        _qc_legend(axes[-1], config)
        return _png(figure, dpi)


def _x_positions(frame: pl.DataFrame, batches: list[tuple[str, str]]) -> np.ndarray:
    index = {b: i for i, b in enumerate(batches)}
    base = np.array([index[b] for b in frame.select(BATCH).iter_rows()], dtype=float)
    offset = np.array([KARYOTYPE_OFFSET.get(k, 0.0) for k in frame["karyotype"]], dtype=float)
    jitter = np.random.default_rng(1).uniform(-0.12, 0.12, frame.height)
    return base + offset + jitter


def _qc_panel(ax, shown, metric, name, batches, labels, bounds, config) -> None:
    values = shown.filter(pl.col(metric).is_not_null() & pl.col(metric).is_not_nan())
    missing = shown.height - values.height
    ax.set_title(name + (f" ({missing} without a value)" if missing else ""))
    ax.set_xticks(range(len(batches)), labels, rotation=30 if len(batches) > 4 else 0)
    ax.set_xlim(-0.6, max(len(batches), 1) - 0.4)
    ax.grid(axis="y", linewidth=0.3, alpha=0.5)
    if not values.height:
        ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        return
    x, y = _x_positions(values, batches), values[metric].cast(pl.Float64).to_numpy()
    failing = ~values["qc_pass"].to_numpy()
    flag = f"{metric}_outlier"
    flagged = np.zeros_like(failing)
    if flag in values.columns:
        flagged = values[flag].fill_null(False).to_numpy()
    passing = ~failing
    ax.scatter(x[passing], y[passing], s=9, c=PASS_COLOUR, alpha=0.6, linewidths=0)
    plain = failing & ~flagged
    ax.scatter(x[plain], y[plain], s=16, c=FAIL_COLOUR, linewidths=0)
    ax.scatter(x[flagged], y[flagged], s=30, c=FAIL_COLOUR, marker="X", linewidths=0.3)
    if metric == "chrx_f":
        for level in (config.sex.female_max_f, config.sex.male_min_f):
            ax.axhline(level, color=BOUND_COLOUR, linestyle=":", linewidth=0.9)
        return
    if bounds.height:
        index = {b: i for i, b in enumerate(batches)}
        for row in bounds.filter(pl.col("metric") == metric).iter_rows(named=True):
            centre = index[(row["country"], row["batch_id"])]
            centre += KARYOTYPE_OFFSET.get(row["karyotype"], 0.0)
            for level in (row["low"], row["high"]):
                if level is not None and math.isfinite(level):
                    ax.hlines(
                        level, centre - 0.17, centre + 0.17, BOUND_COLOUR, "--", linewidth=0.9
                    )


def _qc_legend(ax, config: SampleQcConfig) -> None:
    from matplotlib.lines import Line2D

    ax.axis("off")
    handles = [
        Line2D([], [], marker="o", linestyle="", color=PASS_COLOUR, label="passes QC"),
        Line2D([], [], marker="o", linestyle="", color=FAIL_COLOUR, label="fails QC"),
        Line2D([], [], marker="X", linestyle="", color=FAIL_COLOUR, label="outlier on this metric"),
        Line2D([], [], linestyle="--", color=BOUND_COLOUR, label=f"median ± {config.mad_k:g} MAD"),
        Line2D([], [], linestyle=":", color=BOUND_COLOUR, label="chrX F: XX below, XY above"),
    ]
    ax.legend(handles=handles, loc="center", frameon=False)
    ax.text(0.5, 0.02, "per batch: XX samples left, XY right", ha="center", transform=ax.transAxes)


def af_country_vs_pooled_png(
    pooled: pl.DataFrame,
    countries: list[str],
    *,
    scale: str = "asinh",
    dpi: int = DPI,
    max_points: int = MAX_POINTS,
) -> bytes:
    """One scatter per country of AF_{country} against the pooled AF of a
    `pool_country_summaries` frame. `scale`: "asinh" (logarithmic above 0.001, linear
    through 0, so AF = 0 stays visible) or "linear"."""
    if scale not in ("asinh", "linear"):
        raise ValueError(f"scale must be 'asinh' or 'linear', not {scale!r}")
    n_cols = min(max(len(countries), 1), 4)
    n_rows = max(math.ceil(len(countries) / n_cols), 1)
    size = (3.0 * n_cols, 3.0 * n_rows + 0.3)
    layout = _margins(*size, left=0.55, right=0.1, top=0.55, bottom=0.45)
    with _figure(*size, dpi) as figure:
        figure.suptitle(f"Allele frequency per country against the pooled AF ({scale} axes)")
        grid = {**layout, "wspace": 0.35, "hspace": 0.45}
        axes = figure.subplots(n_rows, n_cols, squeeze=False, gridspec_kw=grid).ravel()
        if not countries:
            axes[0].axis("off")
            axes[0].text(0.5, 0.5, "no countries", ha="center", va="center")
        for ax, country in zip(axes, countries, strict=False):
            _af_panel(ax, pooled, country, scale, math.ceil(max_points / len(countries)))
        for ax in axes[len(countries) :]:
            ax.axis("off")
        return _png(figure, dpi)


def _af_panel(ax, pooled: pl.DataFrame, country: str, scale: str, max_points: int) -> None:
    from matplotlib.ticker import NullLocator

    column = f"AF_{country}"
    both = pl.DataFrame(schema={"pooled": pl.Float64, "x": pl.Float64})
    if column in pooled.columns and "AF" in pooled.columns:
        both = pooled.select(pooled=pl.col("AF"), x=pl.col(column)).drop_nulls().cast(pl.Float64)
    n = both.height
    diff = both.select((pl.col("x") - pl.col("pooled")).abs().mean()).item() if n else None
    ax.set_title(f"{country}: {n:,} variants, mean |diff| {diff or 0.0:.4f}")
    low = -0.02
    if scale == "asinh":
        low = -0.0003
        ax.set_xscale("asinh", linear_width=ASINH_WIDTH)
        ax.set_yscale("asinh", linear_width=ASINH_WIDTH)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_ticks(AF_TICKS, [f"{t:g}" for t in AF_TICKS])
            axis.set_minor_locator(NullLocator())
    ax.plot([0, 1], [0, 1], color=BOUND_COLOUR, linestyle="--", linewidth=0.8)
    ax.set_xlim(low, 1.05)
    ax.set_ylim(low, 1.05)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("pooled AF")
    ax.set_ylabel(f"AF {country}")
    ax.grid(linewidth=0.3, alpha=0.5)
    if not n:
        ax.text(0.5, 0.5, "no published AF", ha="center", va="center", transform=ax.transAxes)
        return
    # the largest differences are what a reader looks for: they are always drawn
    gap = (both["x"] - both["pooled"]).abs()
    largest = pl.Series(np.zeros(n, dtype=bool))
    if n > max_points:
        top = max_points // 10
        order = np.argpartition(-gap.to_numpy(), top)[:top]  # O(n); same input, same rows
        flags = np.zeros(n, dtype=bool)
        flags[order] = True
        largest = pl.Series(flags)
    drawn = downsample(both, max_points, largest)
    ax.scatter(drawn["pooled"], drawn["x"], s=4, c=AF_COLOUR, alpha=0.35, linewidths=0)
    if drawn.height < n:
        ax.text(0.97, 0.03, f"{drawn.height:,} drawn", ha="right", transform=ax.transAxes)
