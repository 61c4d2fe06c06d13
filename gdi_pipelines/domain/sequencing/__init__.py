"""Pure domain code of the `raw_sequences` asset: checksums and read QC of sequencing files."""

from gdi_pipelines.domain.sequencing.alignment_qc import measure_alignments
from gdi_pipelines.domain.sequencing.checksums import HashingReader
from gdi_pipelines.domain.sequencing.crypt4gh_stream import Crypt4GHReader, load_private_key
from gdi_pipelines.domain.sequencing.fastq_qc import measure_fastq
from gdi_pipelines.domain.sequencing.measure import FileMeasurement, measure_sequencing_file
from gdi_pipelines.domain.sequencing.read_stats import ReadStats, SequenceFileError

__all__ = [
    "Crypt4GHReader",
    "FileMeasurement",
    "HashingReader",
    "ReadStats",
    "SequenceFileError",
    "load_private_key",
    "measure_alignments",
    "measure_fastq",
    "measure_sequencing_file",
]
