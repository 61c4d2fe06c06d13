"""gdi-pipelines: the Dagster platform of a national genomic data node."""

from gdi_pipelines import allocators

allocators.configure()  # before polars and deltalake load, and before any thread allocates
