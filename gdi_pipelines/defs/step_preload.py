"""Imported once by the multiprocess executor's forkserver: every step process is forked from it
with the code location, Great Expectations (~3 s to import) and matplotlib already imported.
Nothing here opens a file, a table or a runtime, so forking after it is safe."""

import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations  # noqa: F401
import matplotlib

matplotlib.use("Agg")

import gdi_pipelines.definitions
import gdi_pipelines.domain.expectations.runner  # noqa: F401
