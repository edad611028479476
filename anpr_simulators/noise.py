"""OCR noise: what a camera's plate reader does to a printed plate.

Each read draws independent effects: case, separators (kept, dropped, replaced), stray spaces,
look-alike characters swapped (the default OCR classes), a dropped character, Unicode look-alikes
(full-width or Cyrillic letters) and a confidence that falls with the damage. The plate country
(`read_country`) is missing or a neighbour's for a share of reads. Some cameras also send
their next-best readings (top-N candidates): each differs from the best reading at one look-alike
character, and undoes a confusion as often as not. The result records how many confusions and drops
it applied, so a quality harness knows what a matcher should find.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

CONFUSIONS = {c: cls for cls in ("0ODQ", "1I", "2Z", "5S", "8B", "6G") for c in cls}
SEPARATOR_SWAPS = (" ", ".", "·", "", "-", "_")
CYRILLIC = dict(zip("ABEKMHOPCTX", "АВЕКМНОРСТХ", strict=True))


@dataclass(frozen=True)
class NoiseModel:
    """Probabilities of each effect per read."""

    lower_case: float = 0.05
    drop_separators: float = 0.35
    swap_separators: float = 0.15
    stray_space: float = 0.05
    confusion: float = 0.08  # one look-alike swapped
    second_confusion: float = 0.01  # and a second one
    dropped_char: float = 0.004
    unicode_lookalike: float = 0.005
    candidates: float = 0.2  # share of reads that come with 1-3 next-best readings
    wrong_country: float = 0.03  # plate country read as a neighbour's (small, dirty or similar bands)
    missing_country: float = 0.05  # no plate country read

    @classmethod
    def none(cls) -> NoiseModel:
        return cls(**{f: 0.0 for f in cls.__dataclass_fields__})


NEIGHBOURS = {"NL": ("BE", "DE"), "BE": ("NL", "FR", "LU", "DE"), "DE": ("NL", "BE", "LU", "FR"),
              "FR": ("BE", "LU", "DE"), "LU": ("BE", "FR", "DE")}  # fmt: skip


def read_country(country: str | None, rng: random.Random, model: NoiseModel) -> str | None:
    """The plate country as a camera reads it: missing, a neighbour's, or right."""
    r = rng.random()
    if country is None or r < model.missing_country:
        return None
    if r < model.missing_country + model.wrong_country:
        return rng.choice(NEIGHBOURS.get(country, ("NL", "BE", "DE")))
    return country


@dataclass(frozen=True)
class NoisyRead:
    text: str
    confidence: float
    confusions: int
    dropped: int
    candidates: tuple[str, ...] = ()


def _swap_one(text: str, rng: random.Random, taken: set[int]) -> tuple[str, bool]:
    spots = [i for i, c in enumerate(text) if c in CONFUSIONS and i not in taken]
    if not spots:
        return text, False
    i = rng.choice(spots)
    options = [c for c in CONFUSIONS[text[i]] if c != text[i]]
    taken.add(i)
    return text[:i] + rng.choice(options) + text[i + 1 :], True


def _next_best(plate: str, text: str, taken: set[int], rng: random.Random) -> str:
    """Another reading of `text` at one look-alike character: a confusion undone, or a new one."""
    if taken and rng.random() < 0.5:
        i = rng.choice(sorted(taken))
        return text[:i] + plate[i] + text[i + 1 :]
    return _swap_one(text, rng, set())[0]


def apply_noise(plate: str, rng: random.Random, model: NoiseModel) -> NoisyRead:
    """The plate as a camera might read it."""
    text = plate
    confusions = dropped = 0
    taken: set[int] = set()
    if rng.random() < model.confusion:
        text, ok = _swap_one(text, rng, taken)
        confusions += ok
        if rng.random() < model.second_confusion / max(model.confusion, 1e-9):
            text, ok = _swap_one(text, rng, taken)
            confusions += ok
    others: list[str] = []
    if model.candidates and rng.random() < model.candidates:
        others = [_next_best(plate, text, taken, rng) for _ in range(rng.randint(1, 3))]
    if rng.random() < model.dropped_char:
        spots = [i for i, c in enumerate(text) if c.isalnum()]
        i = rng.choice(spots)
        text = text[:i] + text[i + 1 :]
        others = [o[:i] + o[i + 1 :] for o in others]  # a character the camera missed is missing in all readings
        dropped = 1
    read_as = "".join(c for c in text if c.isalnum())
    others = ["".join(c for c in o if c.isalnum()) for o in others]
    candidates = tuple(dict.fromkeys(o for o in others if o != read_as))
    r = rng.random()
    if r < model.drop_separators:
        text = "".join(c for c in text if c.isalnum())
    elif r < model.drop_separators + model.swap_separators:
        sep = rng.choice(SEPARATOR_SWAPS)
        text = "".join(sep if not c.isalnum() else c for c in text)
    if rng.random() < model.stray_space:
        text = text + " " if rng.random() < 0.5 else " " + text
    if rng.random() < model.lower_case:
        text = text.lower()
    if rng.random() < model.unicode_lookalike:
        if rng.random() < 0.5:
            text = "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)
        else:
            text = "".join(CYRILLIC.get(c, c) for c in text)
    damage = confusions + 2 * dropped
    confidence = round(max(0.05, min(1.0, rng.gauss(0.93 - 0.15 * damage, 0.04))), 3)
    return NoisyRead(text, confidence, confusions, dropped, candidates)
