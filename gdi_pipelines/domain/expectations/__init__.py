"""GX 1.x expectation suites per table, run in bounded memory, results as CheckOutcomes.

Suites live in `suites/{table}.json` (format: `suites.py`); `runner.validate_table` validates
a LazyFrame or an iterable of frames in bounded memory (`whole_table`: what only polars over the
whole table can decide; `pushdown`: row-level expectations decided by polars with GX's results;
`gx_bridge`: GX on pandas chunks for the rest) and can build GX Data Docs (`docs`). Nothing here
imports GX until a validation runs.
"""

from gdi_pipelines.domain.expectations.runner import TableValidation, run_suite, validate_table
from gdi_pipelines.domain.expectations.suites import load_suite, suite_names

__all__ = ["TableValidation", "load_suite", "run_suite", "suite_names", "validate_table"]
