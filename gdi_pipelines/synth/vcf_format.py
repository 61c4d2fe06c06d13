"""VCF text: the header, and sample columns rendered as bytes with numpy (no per-call Python).

Each sample column is built in a fixed-width byte matrix where unused bytes are 0; dropping the
zeros yields the variable-width text `\\tGT:AD:DP:GQ`.
"""

from __future__ import annotations

import numpy as np

from gdi_pipelines.synth.genotypes import ABSENT, MISSING, GenotypeBlock

FILLER = 0
AD_WIDTH, DP_WIDTH, GQ_WIDTH = 5, 5, 2
FORMAT_KEYS = "GT:AD:DP:GQ"
SNP_TRANCHE = "VQSRTrancheSNP99.90to100.00"
INDEL_TRANCHE = "VQSRTrancheINDEL99.00to100.00"


def _digit_table(width: int) -> np.ndarray:
    """Row v: ASCII of v without leading zeros (padded with FILLER); last row: '.'."""
    values = np.arange(10**width)
    table = np.full((10**width + 1, width), FILLER, dtype=np.uint8)
    for k in range(width):
        power = 10 ** (width - 1 - k)
        shown = (values >= power) | (power == 1)
        table[:-1, k] = np.where(shown, values // power % 10 + 48, FILLER)
    table[-1, -1] = ord(".")
    return table


_TABLES = {width: _digit_table(width) for width in (AD_WIDTH, GQ_WIDTH)}


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(..., width) ASCII of non-negative ints, no leading zeros; negative -> '.'."""
    table = _TABLES[width]
    index = np.where(values < 0, len(table) - 1, np.minimum(values, len(table) - 2))
    return table[index]


def _const(shape: tuple[int, ...], char: str, where: np.ndarray | None = None) -> np.ndarray:
    column = np.full((*shape, 1), ord(char), dtype=np.uint8)
    if where is not None:
        column[~where] = FILLER
    return column


def _allele_chars(alleles: np.ndarray) -> np.ndarray:
    chars = (alleles + 48).astype(np.uint8)
    chars[alleles == MISSING] = ord(".")
    chars[alleles == ABSENT] = FILLER
    return chars[..., None]


def sample_columns(block: GenotypeBlock, n_alleles: np.ndarray) -> list[bytes]:
    """Per record, the bytes of all sample columns, each starting with a tab."""
    shape = block.a1.shape
    called = block.a1 != MISSING
    parts = [
        _const(shape, "\t"),
        _allele_chars(block.a1),
        _const(shape, "/", block.a2 != ABSENT),
        _allele_chars(block.a2),
        _const(shape, ":"),
    ]
    for j in range(block.ad.shape[2]):
        shown = (j < n_alleles)[:, None] & (called if j else np.ones(shape, dtype=bool))
        if j:
            parts.append(_const(shape, ",", shown))
        digits = _digits(np.where(called, block.ad[..., j], -1), AD_WIDTH)
        digits[~shown] = FILLER
        parts.append(digits)
    parts += [_const(shape, ":"), _digits(block.dp, DP_WIDTH)]
    parts += [_const(shape, ":"), _digits(block.gq, GQ_WIDTH)]
    matrix = np.concatenate(parts, axis=-1)
    keep = matrix != FILLER
    lengths = keep.reshape(shape[0], -1).sum(1)
    text = matrix[keep].tobytes()
    ends = np.cumsum(lengths)
    return [text[e - n : e] for e, n in zip(ends.tolist(), lengths.tolist(), strict=True)]


def vcf_header(
    contigs: list[tuple[str, int]],
    build: str,
    reference_url: str,
    file_date: str,
    sample_ids: tuple[str, ...],
) -> bytes:
    lines = [
        "##fileformat=VCFv4.2",
        f"##fileDate={file_date}",
        "##source=GATK HaplotypeCaller/GenotypeGVCFs (gdi-synth)",
        f"##reference={reference_url}",
        *(f"##contig=<ID={name},length={length},assembly={build}>" for name, length in contigs),
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="Low quality">',
        f'##FILTER=<ID={SNP_TRANCHE},Description="Truth sensitivity tranche level for SNP model'
        ' at VQS Lod: -inf <= x < -8.5">',
        f'##FILTER=<ID={INDEL_TRANCHE},Description="Truth sensitivity tranche level for INDEL'
        ' model at VQS Lod: -inf <= x < -3.1">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in genotypes">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles called">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Combined depth across samples">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt'
        ' alleles in the order listed">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *sample_ids]
        ),
    ]
    return ("\n".join(lines) + "\n").encode()
