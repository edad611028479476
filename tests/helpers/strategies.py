"""Hypothesis strategies: plate-like strings, noisy national plates, arbitrary text, and hostile read messages."""

from __future__ import annotations

import json
import random

from hypothesis import strategies as st

from anpr_simulators.noise import NoiseModel, apply_noise
from anpr_simulators.plates import COUNTRIES, random_plate
from tests.helpers.builders import GOOD

PLATE_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz -._/·ÄÖÜäöüＡＢ１２АВЕКМНОРСТХΑΒΕΖ"


@st.composite
def national_plates(draw: st.DrawFn) -> tuple[str, str]:
    """(plate as printed, country) in a real national format."""
    country = draw(st.sampled_from(COUNTRIES))
    return random_plate(country, random.Random(draw(st.integers(0, 2**32)))), country


@st.composite
def noisy_plates(draw: st.DrawFn) -> str:
    plate, _ = draw(national_plates())
    return apply_noise(plate, random.Random(draw(st.integers(0, 2**32))), NoiseModel(confusion=0.5)).text


plate_like = st.text(alphabet=PLATE_CHARS, max_size=20)
any_text = st.text(max_size=40)
plate_texts = st.one_of(noisy_plates(), plate_like, any_text)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(2**63 - 5, 2**70), st.integers(-(2**70), -1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=6), st.sampled_from(["NL", "inbound", "3"]),
)  # fmt: skip
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


@st.composite
def hostile_units(draw: st.DrawFn) -> bytes:
    """A valid read, or one with any JSON values in some fields, or any JSON value at all, or deep nesting."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return json.dumps(draw(json_values)).encode()
    if kind == 1:
        depth = draw(st.integers(1, 3000))
        return json.dumps({**GOOD, "plate_text": "x"})[:-1].encode() + b',"deep":' + b"[" * depth + b"]" * depth + b"}"
    d: dict[str, object] = dict(GOOD, read_id=draw(st.text(min_size=1, max_size=6)))
    for key in draw(st.lists(st.sampled_from([*sorted(GOOD), "candidates"]), max_size=3, unique=True)):
        d[key] = draw(json_values)
    return json.dumps(d).encode()
