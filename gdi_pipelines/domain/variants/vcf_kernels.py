"""Compiled (numba) loops over the bytes of VCF record lines.

`scan_lines` finds each line's end, column count and the start of its first ten columns
(numpy finds the newlines);
`parse_samples` decodes the sample columns (GT, AD, DP, GQ) straight into numpy arrays coded as
cyvcf2 codes them (allele index, -1 missing, -2 vector end). Both release the GIL and are cached
on disk, so a process pays numba's compilation once per machine, not per run.
"""

from __future__ import annotations

import numpy as np

from gdi_pipelines.domain.compiled import compiled

TAB, NEWLINE, RETURN = 9, 10, 13
COLON, COMMA, SLASH, PIPE, DOT, MINUS, PLUS, ZERO, NINE = 58, 44, 47, 124, 46, 45, 43, 48, 57
FIXED = 10  # CHROM .. FORMAT, then the first sample
GT, AD, DP, GQ = 0, 1, 2, 3  # codes of the FORMAT keys read; -1 for the keys skipped
OK, WIDER, BAD_VALUE, EXTRA_FIELD, EMPTY_SAMPLE = 0, 1, 2, 3, 4
MAX_INT32 = 2**31 - 1
MAX_ALLELE = 32767  # GT is int16


@compiled
def scan_lines(buf, newlines, starts, ends, columns, column_start):
    """For each line of `buf` (whole lines, the last one may lack its newline), given the
    positions of its `newlines`: `ends` (the newline, or a carriage return before it),
    `columns` (tab count + 1) and the start of its first `FIXED` columns (-1 where a line has
    fewer). Past those, tabs are only counted, in a loop the compiler vectorises.
    Returns the number of lines."""
    n = newlines.shape[0]
    size = buf.shape[0]
    pos = 0
    for i in range(n + 1):
        if i == n and pos >= size:
            return n
        stop = newlines[i] if i < n else size
        starts[i] = pos
        column_start[i, 0] = pos
        for j in range(1, FIXED):
            column_start[i, j] = -1
        tabs = 0
        k = pos
        while k < stop and tabs < FIXED - 1:
            if buf[k] == TAB:
                tabs += 1
                column_start[i, tabs] = k + 1
            k += 1
        for m in range(k, stop):
            tabs += buf[m] == TAB
        end = stop
        if end > pos and buf[end - 1] == RETURN:
            end -= 1
        ends[i] = end
        columns[i] = tabs + 1
        pos = stop + 1
    return n + 1


@compiled
def parse_samples(
    buf, sample_start, ends, format_id, codes, key_count, gt, gq, dp, ad, ad_count, ploidy
):
    """Decode the sample columns of each line i (from `sample_start[i]` to `ends[i]`).

    `codes[format_id[i], k]` says which array the k-th key of line i's FORMAT fills;
    `key_count[format_id[i]]` how many keys that FORMAT has.
    Fills gt (lines, samples, width), gq/dp (lines, samples), ad (lines, samples, alleles);
    `ad_count[i]`: the most AD values any sample of line i has; `ploidy[0]`: the widest GT.
    Returns (status, line, sample, key): WIDER when a GT has more alleles than gt's width,
    BAD_VALUE when a value read is not an integer (or '.') or out of int32's range,
    EXTRA_FIELD when a sample has more fields than its FORMAT has keys, EMPTY_SAMPLE when a
    sample column is empty (htslib refuses both), at that line/sample/key.
    """
    width = gt.shape[2]
    ad_width = ad.shape[2]
    n_keys = codes.shape[1]
    for i in range(sample_start.shape[0]):
        fmt = format_id[i]
        pos = sample_start[i]
        end = ends[i]
        sample = 0
        sample_begin = pos
        key = 0
        sub = 0
        code = codes[fmt, 0]
        value = 0
        digits = 0
        dot = False
        negative = False
        signed = False
        while pos <= end:
            c = NEWLINE if pos == end else buf[pos]
            if code >= 0 and ZERO <= c <= NINE:
                if value <= MAX_INT32:  # past it, only the digits are counted
                    value = value * 10 + (c - ZERO)
                digits += 1
                pos += 1
                continue
            split_sub = code >= 0 and (c == COMMA or (code == GT and (c == SLASH or c == PIPE)))  # noqa: SIM109
            if c == TAB or c == NEWLINE or c == COLON or split_sub:  # noqa: SIM109 (numba)
                if code >= 0:
                    if (dot and digits > 0) or (signed and digits == 0) or value > MAX_INT32:
                        return BAD_VALUE, i, sample, key
                    number = -1 if digits == 0 else (-value if negative else value)
                    if code == GT:
                        if negative or number > MAX_ALLELE:
                            return BAD_VALUE, i, sample, key
                        if sub >= width:
                            return WIDER, i, sample, key
                        gt[i, sample, sub] = number
                        if sub + 1 > ploidy[0]:
                            ploidy[0] = sub + 1
                    elif code == AD:
                        if sub < ad_width:
                            ad[i, sample, sub] = number if number >= 0 else -1
                        if sub + 1 > ad_count[i]:
                            ad_count[i] = sub + 1
                    elif sub == 0:
                        target = gq if code == GQ else dp
                        target[i, sample] = number if number >= 0 else -1
                if c == TAB or c == NEWLINE:  # noqa: SIM109
                    if pos == sample_begin:
                        return EMPTY_SAMPLE, i, sample, key
                    sample += 1
                    sample_begin = pos + 1
                    key = 0
                    sub = 0
                elif c == COLON:
                    key += 1
                    sub = 0
                    if key >= key_count[fmt]:
                        return EXTRA_FIELD, i, sample, key
                else:
                    sub += 1
                code = codes[fmt, key] if key < n_keys else -1
                value = 0
                digits = 0
                dot = False
                negative = False
                signed = False
            elif code >= 0:
                if c == DOT and not dot and digits == 0 and not signed:
                    dot = True
                elif (c == MINUS or c == PLUS) and digits == 0 and not dot and not signed:  # noqa: SIM109
                    signed = True
                    negative = c == MINUS
                else:
                    return BAD_VALUE, i, sample, key
            pos += 1
    return OK, -1, -1, -1


def empty_outputs(lines: int) -> tuple[np.ndarray, ...]:
    """Arrays for `scan_lines` over at most `lines` lines."""
    return (
        np.empty(lines, dtype=np.int64),
        np.empty(lines, dtype=np.int64),
        np.empty(lines, dtype=np.int64),
        np.empty((lines, FIXED), dtype=np.int64),
    )


def warm_up() -> None:
    """Compile (or load from the disk cache) both kernels for the types the reader passes, e.g.
    while building an image, so that no run pays for it."""
    buf = np.frombuffer(b"1\t2\t.\tA\tC\t.\t.\t.\tGT\t0/1\n", dtype=np.uint8)
    starts, ends, columns, column_start = empty_outputs(2)
    scan_lines(buf, np.flatnonzero(buf == NEWLINE), starts, ends, columns, column_start)
    parse_samples(
        buf,
        column_start[:1, FIXED - 1],
        ends[:1],
        np.zeros(1, dtype=np.int64),
        np.zeros((1, 1), dtype=np.int8),
        np.ones(1, dtype=np.int64),
        np.full((1, 1, 2), -2, dtype=np.int16),
        np.full((1, 1), -1, dtype=np.int32),
        np.full((1, 1), -1, dtype=np.int32),
        np.full((1, 1, 2), -1, dtype=np.int32),
        np.zeros(1, dtype=np.int64),
        np.zeros(1, dtype=np.int64),
    )
