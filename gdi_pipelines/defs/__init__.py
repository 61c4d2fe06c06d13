"""Dagster wiring: assets, checks, resources, partitions, jobs, one module per family."""
