"""The one place that imports Great Expectations, lazily: the import alone takes seconds.

One ephemeral GX context per process validates every pandas chunk (a whole-dataframe batch of a
pandas data source); suite entries become GX expectation objects here.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from gdi_pipelines.domain.expectations.results import MAX_EXAMPLES
from gdi_pipelines.domain.expectations.suites import ExpectationSpec
from gdi_pipelines.domain.quality import Severity

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations import ExpectationSuite
    from great_expectations.expectations import Expectation

GX_SEVERITY = {Severity.ERROR: "critical", Severity.WARN: "warning"}
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": MAX_EXAMPLES}


def gx():
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    import great_expectations

    return great_expectations


def expectation_class(name: str) -> type[Expectation]:
    return getattr(gx().expectations, name)


def gx_expectation(spec: ExpectationSpec, kwargs: dict[str, Any], key: int = 0) -> Expectation:
    """The GX object of one expectation of `spec`; `key` comes back in its results' meta."""
    return expectation_class(spec.expectation)(
        **kwargs,
        severity=GX_SEVERITY[spec.severity],
        description=spec.description,
        meta={"check": spec.name, "key": key},
    )


def gx_suite(name: str, expectations: list[Expectation], meta: dict | None = None):
    return gx().ExpectationSuite(name=name, expectations=expectations, meta=meta or {})


def new_context():
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx().get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@cache
def _chunk_batches():
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every in-memory frame under 1 GB (an MD5 over all values, twice per
    # batch.validate): a third of the time on a 500k-row chunk, for a batch marker we never use.
    pandas_execution_engine.HASH_THRESHOLD = 0
    context = new_context()
    asset = context.data_sources.add_pandas("gdi_pipelines").add_dataframe_asset("chunk")
    return asset.add_batch_definition_whole_dataframe("whole_chunk")


def validate_chunk(frame: pd.DataFrame, suite: ExpectationSuite) -> dict[int, Any]:
    """GX's result of each expectation of `suite` on `frame`, by the expectation's meta key."""
    batch = _chunk_batches().get_batch(batch_parameters={"dataframe": frame})
    results = batch.validate(suite, result_format=RESULT_FORMAT).results
    return {r.expectation_config.meta["key"]: r for r in results}


def exception_message(result) -> str | None:
    """GX reports a failed metric either flat or keyed by metric id; None when nothing raised."""
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return info.get("exception_message") or "exception in GX"
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message") or "exception in GX"
    return None
