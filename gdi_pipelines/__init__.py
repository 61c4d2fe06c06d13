"""gdi-pipelines: the Dagster platform of a national genomic data node."""

import os

# polars and deltalake allocate through jemalloc, which returns freed pages only while the
# arena that freed them is busy: an idle arena (a thread pool's, after a step) keeps them, and
# they count in the next step's peak. jemalloc's background thread purges them (polars' decay
# delays) and muzzy pages go at once (100M pipeline: peak 1,411 -> 1,310 MiB, no slower).
# Read when polars/deltalake load, so set on import of this package; a value already set wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "background_thread:true,muzzy_decay_ms:0")
