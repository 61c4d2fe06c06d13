"""GX Data Docs (a static HTML site) for one validation of a table.

The combined result (GX chunks plus polars whole-table decisions) becomes one GX
`ExpectationSuiteValidationResult`, stored in a throwaway ephemeral context whose only Data Docs
site writes to `docs_dir`; GX's own SiteBuilder renders it. Pages of earlier runs stay in
`docs_dir`, the index lists the latest run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gdi_pipelines.domain.expectations.gx_bridge import gx_expectation, gx_suite, new_context
from gdi_pipelines.domain.expectations.results import Decision
from gdi_pipelines.domain.expectations.suites import SuiteSpec

SITE = "gdi_pipelines"
VIEWS = "gdi_pipelines.domain.expectations.docs_views"  # templates compiled once per process


def _view(kind: str = "") -> dict[str, str]:
    return {"module_name": VIEWS, "class_name": f"{kind}PageView"}


@dataclass(frozen=True)
class DataDocs:
    index: Path
    page: Path  # this validation's page


def build_data_docs(
    suite: SuiteSpec,
    decisions: dict[str, list[Decision]],
    docs_dir: Path,
    run_name: str,
    meta: dict[str, Any],
) -> DataDocs:
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = new_context()
    docs_dir = Path(docs_dir).resolve()
    docs_dir.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(
        SITE,
        {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "view": _view("Index")},
            "site_section_builders": {
                section: {"view": _view()}
                for section in ("expectations", "validations", "profiling")
            },
        },
    )
    expectations, results = [], []
    for spec in suite.expectations:
        for decision in decisions.get(spec.name, []):
            expectation = gx_expectation(spec, decision.kwargs)
            expectation.meta |= {"engine": decision.engine, "failures": decision.failures}
            # the page shows the description in place of the expectation: name the engine there
            engine = "GX on pandas chunks" if decision.engine == "gx" else "polars"
            expectation.description = f"{spec.description or spec.name} (decided by {engine})"
            expectations.append(expectation)
            results.append(
                ExpectationValidationResult(
                    success=decision.success,
                    expectation_config=expectation.configuration,
                    result=decision.result,
                )
            )
    context.suites.add(gx_suite(suite.table, expectations, {"version": suite.version}))
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
    passed = sum(r.success for r in results)
    validation = ExpectationSuiteValidationResult(
        success=passed == len(results),
        results=results,
        suite_name=suite.table,
        statistics={
            "evaluated_expectations": len(results),
            "successful_expectations": passed,
            "unsuccessful_expectations": len(results) - passed,
            "success_percent": 100 * passed / len(results) if results else 100.0,
        },
        meta={
            "run_id": run_id,
            "active_batch_definition": {
                "datasource_name": "gdi_pipelines",
                "data_asset_name": suite.table,
                "batch_definition_name": "whole_table_in_chunks",
            },
            "batch_spec": {"data_asset_name": suite.table},  # what the page renderer shows
            **meta,
        },
    )
    suite_id = ExpectationSuiteIdentifier(name=suite.table)
    result_id = ValidationResultIdentifier(suite_id, run_id, batch_identifier=suite.table)
    context.validation_results_store.store_validation_results(validation, result_id, suite_id)
    context.build_data_docs(site_names=[SITE])
    url = context.get_docs_sites_urls(resource_identifier=result_id, site_name=SITE)[0]
    return DataDocs(docs_dir / "index.html", Path(url["site_url"].removeprefix("file://")))
