"""Numba kernels: flat JSON objects (one per unit of a byte buffer) to per-field spans and numbers.

The parser takes the common shape of a read only: an object whose values are strings, integers,
decimals without exponent, null, or a list of strings. Anything else in a unit (an exponent, a
nested value where none is expected, a duplicate or escaped key, too many digits, invalid JSON or
UTF-8, a lone surrogate) gives that unit the status FALLBACK, and the caller decides it with a full
JSON parser. Never raise; one status per unit (kernels/codes.py). codec/json_parse.py is their wrapper.

The functions are compiled without reference counting (kernels/jit.py, `kernel_no_nrt`): none
allocates, and the atomic increments numba otherwise wraps around every call with array arguments
took half the parse time (measured: 650 -> 300 ns per 205-byte read). Scratch arrays come from the caller.
"""

import numpy as np

from anpr_engine.kernels.codes import FIELD_FLOAT as FLOAT
from anpr_engine.kernels.codes import FIELD_INT as INT
from anpr_engine.kernels.codes import FIELD_STRING as STRING
from anpr_engine.kernels.codes import FIELD_STRINGS as STRINGS
from anpr_engine.kernels.codes import UNIT_BLANK as BLANK
from anpr_engine.kernels.codes import UNIT_FALLBACK as FALLBACK
from anpr_engine.kernels.codes import UNIT_OK as OK
from anpr_engine.kernels.jit import inlined_no_nrt, kernel_no_nrt

MAX_INT_DIGITS = 18  # below 2**63 without overflow checks
MAX_FLOAT_DIGITS = 15  # below 2**53: the decimal divided by a power of ten is correctly rounded
_POW10 = np.array([10.0**k for k in range(23)])  # exactly representable powers of ten
_NULL = np.frombuffer(b"null", dtype=np.uint8)
_TRUE = np.frombuffer(b"true", dtype=np.uint8)
_FALSE = np.frombuffer(b"false", dtype=np.uint8)


@inlined_no_nrt
def _ws(buf: np.ndarray, i: int, end: int) -> int:
    while i < end:
        c = buf[i]
        if c != 32 and c != 10 and c != 13 and c != 9:
            break
        i += 1
    return i


@inlined_no_nrt
def _cont(buf: np.ndarray, i: int, end: int, lo: int, hi: int) -> bool:
    return i < end and lo <= buf[i] <= hi


@inlined_no_nrt
def _hex(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


@kernel_no_nrt
def _code_unit(buf: np.ndarray, i: int, end: int) -> int:
    """The UTF-16 code unit of the \\uXXXX escape starting at i (at the backslash), or -1."""
    if i + 6 > end or buf[i] != 92 or buf[i + 1] != 117:
        return -1
    value = 0
    for k in range(i + 2, i + 6):
        h = _hex(buf[k])
        if h < 0:
            return -1
        value = value * 16 + h
    return value


@kernel_no_nrt
def _escape_end(buf: np.ndarray, i: int, end: int) -> int:
    """Index after the escape starting at buf[i] (a backslash); -1 if it is invalid or a lone surrogate."""
    if i + 1 >= end:
        return -1
    c = buf[i + 1]
    if c == 34 or c == 92 or c == 47 or c == 98 or c == 102 or c == 110 or c == 114 or c == 116:
        return i + 2
    unit = _code_unit(buf, i, end)
    if unit < 0 or 0xDC00 <= unit <= 0xDFFF:
        return -1
    if 0xD800 <= unit <= 0xDBFF:
        low = _code_unit(buf, i + 6, end)
        return i + 12 if 0xDC00 <= low <= 0xDFFF else -1
    return i + 6


@kernel_no_nrt
def _utf8_end(buf: np.ndarray, i: int, end: int) -> int:
    """Index after the UTF-8 sequence starting at buf[i] (a byte >= 128); -1 if it is invalid."""
    c = buf[i]
    if 0xC2 <= c <= 0xDF:
        return i + 2 if _cont(buf, i + 1, end, 0x80, 0xBF) else -1
    if 0xE0 <= c <= 0xEF:
        lo = 0xA0 if c == 0xE0 else 0x80
        hi = 0x9F if c == 0xED else 0xBF
        return i + 3 if _cont(buf, i + 1, end, lo, hi) and _cont(buf, i + 2, end, 0x80, 0xBF) else -1
    if 0xF0 <= c <= 0xF4:
        lo = 0x90 if c == 0xF0 else 0x80
        hi = 0x8F if c == 0xF4 else 0xBF
        ok = (
            _cont(buf, i + 1, end, lo, hi) and _cont(buf, i + 2, end, 0x80, 0xBF) and _cont(buf, i + 3, end, 0x80, 0xBF)
        )
        return i + 4 if ok else -1
    return -1


@inlined_no_nrt
def _string_end(buf: np.ndarray, i: int, end: int) -> int:
    """Index of the closing quote of the string whose content starts at i; -1 if it holds a control
    character, an invalid escape or invalid UTF-8, or does not close."""
    while i < end:
        c = buf[i]
        if 32 <= c < 128 and c != 34 and c != 92:
            i += 1
        elif c == 34:
            return i
        elif c == 92:
            i = _escape_end(buf, i, end)
            if i < 0:
                return -1
        elif c >= 128:
            i = _utf8_end(buf, i, end)
            if i < 0:
                return -1
        else:
            return -1
    return -1


@inlined_no_nrt
def _number(buf: np.ndarray, i: int, end: int, out: np.ndarray) -> int:
    """Parse a JSON number at i into out = [sign, digits value, digit count, fraction digits]; the index
    after it, or -1 for invalid JSON, an exponent or too many digits."""
    sign = 1
    if i < end and buf[i] == 45:
        sign = -1
        i += 1
    if i >= end or not 48 <= buf[i] <= 57:
        return -1
    value = 0
    digits = 0
    if buf[i] == 48:
        i += 1
        if i < end and 48 <= buf[i] <= 57:
            return -1
    else:
        while i < end and 48 <= buf[i] <= 57:
            value = value * 10 + (buf[i] - 48)
            digits += 1
            i += 1
            if digits > MAX_INT_DIGITS:
                return -1
    frac = 0
    if i < end and buf[i] == 46:
        i += 1
        if i >= end or not 48 <= buf[i] <= 57:
            return -1
        while i < end and 48 <= buf[i] <= 57:
            value = value * 10 + (buf[i] - 48)
            digits += 1
            frac += 1
            i += 1
            if digits > MAX_INT_DIGITS:
                return -1
    if i < end and (buf[i] == 101 or buf[i] == 69):
        return -1
    out[0] = sign
    out[1] = value
    out[2] = digits
    out[3] = frac
    return i


@kernel_no_nrt
def _literal(buf: np.ndarray, i: int, end: int, word: np.ndarray) -> int:
    if i + word.shape[0] > end:
        return -1
    for k in range(word.shape[0]):
        if buf[i + k] != word[k]:
            return -1
    return i + word.shape[0]


@kernel_no_nrt
def _field(buf: np.ndarray, s: int, e: int, names: np.ndarray, name_offsets: np.ndarray, guess: int) -> int:
    """Index of the field named buf[s:e], trying `guess` first; -1 for a key that is no field."""
    n_fields = name_offsets.shape[0] - 1
    for t in range(n_fields):
        f = (guess + t) % n_fields
        a = name_offsets[f]
        if name_offsets[f + 1] - a != e - s:
            continue
        same = True
        for k in range(e - s):
            if buf[s + k] != names[a + k]:
                same = False
                break
        if same:
            return f
    return -1


@inlined_no_nrt
def _unit(
    buf: np.ndarray,
    i: int,
    end: int,
    u: int,
    names: np.ndarray,
    name_offsets: np.ndarray,
    kinds: np.ndarray,
    present: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    numbers: np.ndarray,
    items: np.ndarray,
    n_items: np.ndarray,
    seen: np.ndarray,
    num: np.ndarray,
) -> int:
    """Parse unit u (buf[i:end]) into row u of the outputs; OK, FALLBACK or BLANK."""
    for f in range(seen.shape[0]):
        seen[f] = False
    i = _ws(buf, i, end)
    if i >= end:
        return BLANK
    if buf[i] != 123:
        return FALLBACK
    i = _ws(buf, i + 1, end)
    if i < end and buf[i] == 125:
        return OK if _ws(buf, i + 1, end) == end else FALLBACK
    guess = 0
    while True:
        if i >= end or buf[i] != 34:
            return FALLBACK
        ks = i + 1
        f = -1
        ke = -1
        if guess < kinds.shape[0]:  # keys mostly come in schema order: try the next field's name in place
            a = name_offsets[guess]
            length = name_offsets[guess + 1] - a
            if ks + length < end and buf[ks + length] == 34:
                f = guess
                for k in range(length):
                    if buf[ks + k] != names[a + k]:
                        f = -1
                        break
                if f >= 0:
                    ke = ks + length
        if f < 0:
            ke = _string_end(buf, ks, end)
            if ke < 0:
                return FALLBACK
            for k in range(ks, ke):
                if buf[k] == 92:  # an escaped key may spell a field's name
                    return FALLBACK
            f = _field(buf, ks, ke, names, name_offsets, guess)
        i = _ws(buf, ke + 1, end)
        if i >= end or buf[i] != 58:
            return FALLBACK
        i = _ws(buf, i + 1, end)
        if i >= end:
            return FALLBACK
        if f >= 0:
            if seen[f]:
                return FALLBACK
            seen[f] = True
            guess = f + 1
        kind = kinds[f] if f >= 0 else -1
        c = buf[i]
        if c == 110:  # null
            i = _literal(buf, i, end, _NULL)
            if i < 0:
                return FALLBACK
        elif c == 34:
            se = _string_end(buf, i + 1, end)
            if se < 0 or (f >= 0 and kind != STRING):
                return FALLBACK
            if f >= 0:
                present[f, u] = True
                lo[f, u] = i + 1
                hi[f, u] = se
            i = se + 1
        elif c == 45 or 48 <= c <= 57:
            i = _number(buf, i, end, num)
            if i < 0:
                return FALLBACK
            if kind == INT:
                if num[3] != 0:
                    return FALLBACK
                lo[f, u] = num[0] * num[1]
                present[f, u] = True
            elif kind == FLOAT:
                if num[2] > MAX_FLOAT_DIGITS:
                    return FALLBACK
                numbers[f, u] = num[0] * (num[1] / _POW10[num[3]])
                present[f, u] = True
            elif f >= 0:
                return FALLBACK
        elif c == 91:
            if kind != STRINGS:
                return FALLBACK
            i = _ws(buf, i + 1, end)
            count = 0
            if i < end and buf[i] == 93:
                i += 1
            else:
                while True:
                    if i >= end or buf[i] != 34 or count == items.shape[1]:
                        return FALLBACK
                    se = _string_end(buf, i + 1, end)
                    if se < 0:
                        return FALLBACK
                    items[u, count, 0] = i + 1
                    items[u, count, 1] = se
                    count += 1
                    i = _ws(buf, se + 1, end)
                    if i < end and buf[i] == 44:
                        i = _ws(buf, i + 1, end)
                    elif i < end and buf[i] == 93:
                        i += 1
                        break
                    else:
                        return FALLBACK
            present[f, u] = True
            n_items[u] = count
        elif f < 0 and c == 116:
            i = _literal(buf, i, end, _TRUE)
            if i < 0:
                return FALLBACK
        elif f < 0 and c == 102:
            i = _literal(buf, i, end, _FALSE)
            if i < 0:
                return FALLBACK
        else:
            return FALLBACK
        i = _ws(buf, i, end)
        if i < end and buf[i] == 44:
            i = _ws(buf, i + 1, end)
        elif i < end and buf[i] == 125:
            return OK if _ws(buf, i + 1, end) == end else FALLBACK
        else:
            return FALLBACK


@kernel_no_nrt
def parse_objects(
    buf: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    names: np.ndarray,
    name_offsets: np.ndarray,
    kinds: np.ndarray,
    status: np.ndarray,
    present: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    numbers: np.ndarray,
    items: np.ndarray,
    n_items: np.ndarray,
    seen: np.ndarray,
    num: np.ndarray,
) -> None:
    """Parse each unit buf[starts[u]:ends[u]] as one JSON object with the fields named in `names`
    (split by `name_offsets`, of `kinds`). Per unit u and field f: present[f, u] is set for a non-null
    value; a STRING's bytes are buf[lo[f, u]:hi[f, u]], an INT is lo[f, u], a FLOAT is numbers[f, u],
    a STRINGS list has n_items[u] strings at items[u, k] = (start, end) (one STRINGS field at most,
    items.shape[1] strings at most). Other keys are skipped when their value is a scalar.
    present must arrive all False; rows of FALLBACK units are left partly written."""
    for u in range(starts.shape[0]):
        status[u] = _unit(
            buf, starts[u], ends[u], u, names, name_offsets, kinds, present, lo, hi, numbers, items, n_items,
            seen, num,
        )  # fmt: skip


@kernel_no_nrt
def _put_utf8(data: np.ndarray, pos: int, cp: int) -> int:
    if cp < 0x80:
        data[pos] = cp
        return pos + 1
    if cp < 0x800:
        data[pos] = 0xC0 | (cp >> 6)
        data[pos + 1] = 0x80 | (cp & 0x3F)
        return pos + 2
    if cp < 0x10000:
        data[pos] = 0xE0 | (cp >> 12)
        data[pos + 1] = 0x80 | ((cp >> 6) & 0x3F)
        data[pos + 2] = 0x80 | (cp & 0x3F)
        return pos + 3
    data[pos] = 0xF0 | (cp >> 18)
    data[pos + 1] = 0x80 | ((cp >> 12) & 0x3F)
    data[pos + 2] = 0x80 | ((cp >> 6) & 0x3F)
    data[pos + 3] = 0x80 | (cp & 0x3F)
    return pos + 4


@kernel_no_nrt
def _unescape(buf: np.ndarray, j: int, data: np.ndarray, pos: int) -> tuple[int, int]:
    """Decode the (valid, see _escape_end) escape at buf[j] into data at pos; (next j, next pos)."""
    c = buf[j + 1]
    if c == 117:
        cp = _code_unit(buf, j, buf.shape[0])
        if 0xD800 <= cp <= 0xDBFF:
            cp = 0x10000 + ((cp - 0xD800) << 10) + (_code_unit(buf, j + 6, buf.shape[0]) - 0xDC00)
            return j + 12, _put_utf8(data, pos, cp)
        return j + 6, _put_utf8(data, pos, cp)
    if c == 98:
        data[pos] = 8
    elif c == 102:
        data[pos] = 12
    elif c == 110:
        data[pos] = 10
    elif c == 114:
        data[pos] = 13
    elif c == 116:
        data[pos] = 9
    else:
        data[pos] = c
    return j + 2, pos + 1


@kernel_no_nrt
def gather(
    buf: np.ndarray, lo: np.ndarray, hi: np.ndarray, take: np.ndarray, offsets: np.ndarray, data: np.ndarray
) -> None:
    """Copy the JSON string contents buf[lo[k]:hi[k]] (as validated by parse_objects) for each k where
    take[k] into `data` back to back, escapes decoded, with Arrow `offsets` (empty where not take[k]).
    data must hold the contents' total raw length; decoding never makes a string longer."""
    pos = 0
    offsets[0] = 0
    for k in range(lo.shape[0]):
        if take[k]:
            j = lo[k]
            while j < hi[k]:
                if buf[j] == 92:
                    j, pos = _unescape(buf, j, data, pos)
                else:
                    data[pos] = buf[j]
                    pos += 1
                    j += 1
        offsets[k + 1] = pos
