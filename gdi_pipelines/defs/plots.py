"""A picture in a materialisation's metadata: drawn, written next to the Data Docs, inlined."""

import time
from collections.abc import Callable

import dagster as dg

from gdi_pipelines.config.locations import Location
from gdi_pipelines.domain.aggregates.plots import fit_png, markdown_image
from gdi_pipelines.storage.objectstore import store_for


def plot_metadata(
    log: dg.DagsterLogManager, where: Location, render: Callable[..., bytes], key: str, title: str
) -> dict[str, dg.MetadataValue]:
    """`render(dpi=...)` as a PNG at `where`; metadata `{key}` (inline) and `{key}_uri`."""
    started = time.perf_counter()
    png = fit_png(render)
    store_for(where).write_bytes(where.uri, png)
    seconds = time.perf_counter() - started
    log.info(f"{title}: {len(png)} bytes in {seconds:.2f} s: {where.uri}")
    return {
        key: dg.MetadataValue.md(markdown_image(png, title)),
        f"{key}_uri": dg.MetadataValue.path(where.uri),
    }
