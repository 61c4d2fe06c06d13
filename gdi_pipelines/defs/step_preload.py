"""Loads the code location, Great Expectations (~3 s to import), matplotlib and the compiled loops
(VCF decoder, genotype QC, allele counts; ~0.8 s to import numba and load them) once: in the
multiprocess executor's forkserver, from which every step process is forked, and in
`gdi materialize` before its in-process runs. Nothing here leaves a file, a table, a thread or
a runtime open, so forking after it is safe."""

import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations  # noqa: F401
import matplotlib

matplotlib.use("Agg")

import gdi_pipelines.definitions
import gdi_pipelines.domain.expectations.runner  # noqa: F401
from gdi_pipelines.domain.aggregates import call_tally
from gdi_pipelines.domain.variants import genotype_qc, vcf_kernels

vcf_kernels.warm_up()
genotype_qc.warm_up()
call_tally.warm_up()
