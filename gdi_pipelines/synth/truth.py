"""Truth table: every ALT of every record written, with its normalised GRCh38 form."""

from __future__ import annotations

import gzip
from pathlib import Path
from types import TracebackType

COLUMNS = (
    "country",
    "batch_id",
    "build",
    "source_chrom",
    "source_pos",
    "source_ref",
    "source_alt",
    "alt_index",
    "n_alts",
    "left_aligned",
    "strand",
    "truth_chrom",
    "truth_pos",
    "truth_ref",
    "truth_alt",
)
TRUTH_FILE = "sites.tsv.gz"


class TruthWriter:
    """Streams `{truth_dir}/sites.tsv.gz` (1-based positions, tab-separated, gzip mtime=0)."""

    def __init__(self, truth_dir: Path) -> None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        self._raw = open(truth_dir / TRUTH_FILE, "wb")  # noqa: SIM115 - closed in close()
        self._out = gzip.GzipFile("", "wb", fileobj=self._raw, mtime=0)
        self._out.write(("\t".join(COLUMNS) + "\n").encode())

    def write_rows(self, rows: list[tuple]) -> None:
        if rows:
            self._out.write("".join("\t".join(map(str, r)) + "\n" for r in rows).encode())

    def close(self) -> None:
        self._out.close()
        self._raw.close()

    def __enter__(self) -> TruthWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
