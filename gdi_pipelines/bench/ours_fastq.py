"""Our side of the FASTQ task, as its own process: `measure_sequencing_file` (size, SHA-256
and read QC in one pass) on each file, as the `raw_sequences` asset does.

    python -m gdi_pipelines.bench.ours_fastq FILE.fastq.gz ...

Prints one JSON line: reads and bases over all files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gdi_pipelines.domain.sequencing import measure_sequencing_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args(argv)
    reads = bases = 0
    for path in args.files:
        with open(path, "rb") as stream:
            measured = measure_sequencing_file(stream, str(path), "FASTQ")
        reads += measured.stats.read_count
        bases += measured.stats.base_count
    print(json.dumps({"files": len(args.files), "reads": reads, "bases": bases}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
