"""Numba kernel: format-aware OCR correction of normalized plates into exact-key candidates.

A national plate format says, position by position, which characters may stand there (a digit, a
letter of the country's series alphabet, an `E`/`H` suffix). A read that fits no format of its
country was misread; where its character is not allowed, the characters of the same OCR class
that are allowed are the corrections. So `I2-ABC-3` read at an NL camera becomes `12ABC3`, and a
read that already fits a format is trusted as it is (a different real plate, not an OCR slip).

A read whose separators survived is corrected only into the formats with the same layout (when any
has it): `H-B87-FK` is an `@-999-@@` plate misread, not `HB-87-FK`. The read as read is always
a candidate as well, so a listed plate that fits no format is still found exactly.

Patterns: pat_mask (P, MAX_LEN) uint64 bit c = code c allowed,
pat_breaks (P,) the layout (bit k: separator before character k); patterns sorted by length then
country, those of length L and country c at rows [group_start[L, c], group_start[L, c + 1]).
class_members (37, 4): the codes of each code's OCR class, 0-padded (a code is in its own class).
Never raises; returns counts. match/formats.py is its wrapper.
"""

import numpy as np

from anpr_engine.kernels.codes import ANY_COUNTRY, BASE, NO_FORMATS
from anpr_engine.kernels.jit import kernel

MAX_OPTIONS = 4
MAX_CANDIDATES_PER_PATTERN = 8


@kernel
def format_candidates(
    codes: np.ndarray,
    keys: np.ndarray,
    lengths: np.ndarray,
    breaks: np.ndarray,
    read_country: np.ndarray,
    pat_mask: np.ndarray,
    pat_breaks: np.ndarray,
    group_start: np.ndarray,
    class_members: np.ndarray,
    max_corrections: int,
    only_unique: bool,
    any_country_fits: bool,
    out_read: np.ndarray,
    out_key: np.ndarray,
    out_cost: np.ndarray,
    out_fits: np.ndarray,
) -> int:
    """Candidate exact keys per read, with their cost (characters corrected); `keys` are the reads'
    own exact keys (kernels/normalize.py), which candidates are packed like.

    The formats considered are those of the read's country (read_country ANY_COUNTRY: any country;
    NO_FORMATS: none known) and length, narrowed to the read's layout if it has separators and some
    format shares it.
    Every read is its own first candidate (cost 0): a format may add hits, never remove an exact one
    (false, trade or foreign plates misfiled under a country are what police list). A read that fits
    one of them has no other candidate, nor has one that fits a format of any country when
    `any_country_fits` is set (its country band was misread, not its plate). Otherwise its nearest
    corrections (the fewest characters changed, at most `max_corrections`) are candidates too; with
    `only_unique`, only when exactly one correction is nearest (an ambiguous read is a guess between
    plates). With max_corrections 0 a read is its only candidate.
    out_fits[i] says whether read i fits a format considered (by layout where that applies).

    Writes at most out_read.shape[0] candidates; returns the number found (call again if larger:
    the count is then an upper bound, before keeping the nearest).
    """
    n_out = 0
    cap = out_read.shape[0]
    options = np.zeros((codes.shape[1], MAX_OPTIONS), dtype=np.uint8)
    n_options = np.zeros(codes.shape[1], dtype=np.int64)
    n_countries = group_start.shape[1] - 1
    for i in range(codes.shape[0]):
        length = lengths[i]
        out_fits[i] = False
        if length == 0:
            continue
        key = keys[i]
        rc = read_country[i]
        brk = breaks[i]
        lo = hi = 0
        if rc != NO_FORMATS:
            lo = group_start[length, 0 if rc == ANY_COUNTRY else rc]
            hi = group_start[length, n_countries if rc == ANY_COUNTRY else rc + 1]
        valid, by_layout = _fits(codes, i, length, brk, lo, hi, pat_mask, pat_breaks)
        if not valid and any_country_fits and rc >= 0:
            every = (group_start[length, 0], group_start[length, n_countries])
            valid = _fits(codes, i, length, brk, every[0], every[1], pat_mask, pat_breaks)[0]
        out_fits[i] = valid
        first = n_out
        if n_out < cap:
            out_read[n_out] = i
            out_key[n_out] = key
            out_cost[n_out] = 0
        n_out += 1
        if valid or hi == lo or max_corrections == 0:
            continue
        for p in range(lo, hi):
            if by_layout and pat_breaks[p] != brk:
                continue
            combos = 1
            wrong = 0
            for k in range(length):
                c = codes[i, k]
                m = pat_mask[p, k]
                if (m >> np.uint64(c)) & np.uint64(1):
                    options[k, 0] = c
                    n_options[k] = 1
                    continue
                wrong += 1
                n = 0
                for j in range(class_members.shape[1]):
                    d = class_members[c, j]
                    if d == 0:
                        break
                    if (m >> np.uint64(d)) & np.uint64(1):
                        options[k, n] = d
                        n += 1
                n_options[k] = n
                combos *= n
                if n == 0 or wrong > max_corrections or combos > MAX_CANDIDATES_PER_PATTERN:
                    combos = 0
                    break
            for combo in range(combos):
                rest = combo
                cand = np.int64(0)
                for k in range(length):
                    nk = n_options[k]
                    cand = cand * BASE + options[k, rest % nk]
                    rest //= nk
                dup = False
                for q in range(first, min(n_out, cap)):
                    if out_key[q] == cand:
                        dup = True
                        break
                if dup:
                    continue
                if n_out < cap:
                    out_read[n_out] = i
                    out_key[n_out] = cand
                    out_cost[n_out] = wrong
                n_out += 1
        if n_out <= cap:
            n_out = _keep_nearest(out_key, out_cost, first + 1, n_out, only_unique)
    return n_out


@kernel
def _fits(
    codes: np.ndarray, i: int, length: int, brk: int, lo: int, hi: int, pat_mask: np.ndarray, pat_breaks: np.ndarray
) -> tuple[bool, bool]:
    """Whether read i fits one of patterns [lo, hi) (only those of its layout, if any has it), and
    whether its layout narrowed them."""
    by_layout = False
    if brk != 0:
        for p in range(lo, hi):
            if pat_breaks[p] == brk:
                by_layout = True
                break
    for p in range(lo, hi):
        if not by_layout or pat_breaks[p] == brk:
            fits = True
            for k in range(length):
                if not (pat_mask[p, k] >> np.uint64(codes[i, k])) & np.uint64(1):
                    fits = False
                    break
            if fits:
                return True, by_layout
    return False, by_layout


@kernel
def _keep_nearest(out_key: np.ndarray, out_cost: np.ndarray, lo: int, hi: int, only_unique: bool) -> int:
    """Keep the corrections at [lo, hi) with the fewest characters corrected (none of them, if
    only_unique and there are several); returns the new end."""
    least = 127
    for q in range(lo, hi):
        least = min(least, out_cost[q])
    kept = lo
    for q in range(lo, hi):
        if out_cost[q] == least:
            out_key[kept] = out_key[q]
            out_cost[kept] = least
            kept += 1
    return lo if only_unique and kept - lo > 1 else kept
