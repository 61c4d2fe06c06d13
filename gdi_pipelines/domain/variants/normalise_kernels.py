"""Compiled (numba) loops of the normaliser over alleles packed as bytes (`pack`).

`screen` upper-cases the alleles in place and finds the first reason each row cannot be placed
on a reference; `realign` is bcftools' `realign()` (as `normalise.realign_pair` spells it in
Python) over a window of reference codes. Both release the GIL.
"""

from __future__ import annotations

import numpy as np

from gdi_pipelines.domain.compiled import compiled

# reasons `screen` finds, in the order they are tested (normalise.SCREEN_REASONS names them)
GOOD, NO_ALT, SYMBOLIC, SPANNING, NON_ACGTN, DUPLICATE = 0, 1, 2, 3, 4, 5
# what `realign` did to a row; the last two are left to `normalise.realign_pair`
KEPT, MOVED, OUTSIDE_WINDOW, NOT_REFERENCE = 0, 1, 2, 3
PAD = 100  # bcftools `aln_win`: bases put before the alleles when one runs empty
_DOT, _LT, _STAR, _OPEN, _CLOSE = 46, 60, 42, 91, 93


def pack(alleles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8 bytes as a writable uint8 array, byte offsets) of an object array of str. A
    non-ASCII letter is never A/C/G/T/N, so `screen` rejects its row."""
    lengths = np.fromiter(map(len, alleles), np.int64, len(alleles))
    data = "".join(alleles).encode("utf-8")
    if len(data) != int(lengths.sum()):  # characters of several bytes: count bytes
        lengths = np.fromiter((len(a.encode("utf-8")) for a in alleles), np.int64, len(alleles))
    offsets = np.zeros(len(alleles) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return np.frombuffer(bytearray(data), dtype=np.uint8), offsets


def unpack(data: np.ndarray, offsets: np.ndarray, index: np.ndarray) -> list[str]:
    """The alleles of rows `index` as str."""
    raw = data.tobytes()
    return [raw[offsets[i] : offsets[i + 1]].decode("utf-8") for i in index.tolist()]


@compiled
def screen(ref, ref_offsets, alt, alt_offsets, reason, lowered):
    """Upper-case `ref` and `alt` in place (`lowered[i]` tells that row i changed), and set
    `reason[i]` for each row: NO_ALT (ALT empty or '.'), SYMBOLIC ('<...>' or a breakend),
    SPANNING ('*'), NON_ACGTN (a letter other than A/C/G/T/N), DUPLICATE (ALT equals REF)."""
    for i in range(reason.shape[0]):
        changed = False
        for data, begin, end in (
            (ref, ref_offsets[i], ref_offsets[i + 1]),
            (alt, alt_offsets[i], alt_offsets[i + 1]),
        ):
            for j in range(begin, end):
                if 97 <= data[j] <= 122:
                    data[j] -= 32
                    changed = True
        lowered[i] = changed
        a0, a1 = alt_offsets[i], alt_offsets[i + 1]
        r0, r1 = ref_offsets[i], ref_offsets[i + 1]
        if a1 == a0 or alt[a0] == _DOT:
            reason[i] = NO_ALT
            continue
        bracket = False
        for j in range(a0, a1):
            if alt[j] == _OPEN or alt[j] == _CLOSE:
                bracket = True
        if alt[a0] == _LT or bracket:
            reason[i] = SYMBOLIC
            continue
        if alt[a0] == _STAR:
            reason[i] = SPANNING
            continue
        plain = True
        for data, begin, end in ((ref, r0, r1), (alt, a0, a1)):
            for j in range(begin, end):
                c = data[j]
                if not (c == 65 or c == 67 or c == 71 or c == 84 or c == 78):
                    plain = False
        if not plain:
            reason[i] = NON_ACGTN
            continue
        same = r1 - r0 == a1 - a0
        if same:
            for j in range(r1 - r0):
                if ref[r0 + j] != alt[a0 + j]:
                    same = False
                    break
        reason[i] = DUPLICATE if same else GOOD


@compiled
def realign(codes, first, rows, pos0, ref, ref_offsets, alt, alt_offsets, out):
    """bcftools `realign()` for each row of `rows` against the reference `codes`, which start
    at 0-based position `first` and should cover every row's REF. Throughout, REF is `codes` over
    [p, p + ref_length) and ALT is `codes` over [p, p + k) followed by the original ALT's bases
    [s, e), so `out[n]` = (status, p, ref_length, k, s, e). A row whose REF is not the
    reference's or not inside `codes` (status NOT_REFERENCE), or whose padding would need bases
    before `first` (OUTSIDE_WINDOW), is left as it is."""
    for n in range(rows.shape[0]):
        i = rows[n]
        p = pos0[i]
        length = ref_offsets[i + 1] - ref_offsets[i]
        same = first <= p and p + length - first <= codes.shape[0]  # REF inside the window
        for j in range(length if same else 0):
            if ref[ref_offsets[i] + j] != codes[p + j - first]:
                same = False
                break
        if not same:
            out[n, 0] = NOT_REFERENCE
            continue
        a0 = alt_offsets[i]
        k, s, e = 0, 0, alt_offsets[i + 1] - a0
        status = KEPT
        while True:
            last_alt = alt[a0 + e - 1] if e > s else codes[p + k - 1 - first]
            if codes[p + length - 1 - first] != last_alt:
                break
            if p == 0 and min(length, k + e - s) <= 1:
                break
            length -= 1
            if e > s:
                e -= 1
            else:
                k -= 1
            if length == 0 or k + e - s == 0:
                pad = min(PAD, p)
                if p - pad < first:
                    status = OUTSIDE_WINDOW
                    break
                p -= pad
                length += pad
                k += pad
        if status == OUTSIDE_WINDOW:
            out[n, 0] = status
            continue
        keep = min(length, k + e - s) - 1  # every allele keeps at least one base
        trim = min(k, keep)  # ALT's first k bases are the reference's own
        while trim < keep and codes[p + trim - first] == alt[a0 + s + trim - k]:
            trim += 1
        p += trim
        length -= trim
        if trim <= k:
            k -= trim
        else:
            s += trim - k
            k = 0
        moved = p != pos0[i] or length != ref_offsets[i + 1] - ref_offsets[i]
        moved = moved or k != 0 or s != 0 or e != alt_offsets[i + 1] - a0
        out[n, 0] = MOVED if moved else KEPT
        out[n, 1] = p
        out[n, 2] = length
        out[n, 3] = k
        out[n, 4] = s
        out[n, 5] = e
