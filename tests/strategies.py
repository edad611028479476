"""Hypothesis strategies: plate-like strings, noisy national plates, and arbitrary text."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from anpr_simulators.noise import NoiseModel, apply_noise
from anpr_simulators.plates import COUNTRIES, random_plate

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
