"""Benchmark data: watchlists of any size and noisy traffic with ground truth, reproducible by seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from pydantic import TypeAdapter

from anpr_engine.models import WatchlistEntry
from anpr_simulators.noise import NoiseModel, apply_noise, read_country
from anpr_simulators.plates import random_plate
from anpr_simulators.traffic import TRAFFIC_MIX

_ENTRIES = TypeAdapter(list[WatchlistEntry])
_UMLAUTS = str.maketrans("ÄÖÜ", "AOU", "- ")
_COUNTRIES = [c for c, _ in TRAFFIC_MIX]


def _norm(printed: str) -> str:
    """Normalized form of a simulator plate as printed (only A-Z, 0-9, Ä Ö Ü, '-' and ' ' occur)."""
    return printed.translate(_UMLAUTS)


_WEIGHTS = [w for _, w in TRAFFIC_MIX]


@dataclass(frozen=True)
class Listed:
    plates: list[str]  # as printed
    countries: list[str]
    normalized: set[str]

    def entries(self, start: int = 0, stop: int | None = None) -> list[WatchlistEntry]:
        """Plates start..stop as watchlist entries (NL and BE agencies alternating), validated in one call."""
        stop = len(self.plates) if stop is None else min(stop, len(self.plates))
        rows = [
            {"entry_id": str(i), "plate": p, "plate_country": c, "agency_country": "NL" if i % 2 else "BE",
             "list_name": "bench", "agency": "bench", "category": "stolen_vehicle", "priority": 50}
            for i, p, c in zip(range(start, stop), self.plates[start:stop], self.countries[start:stop], strict=True)
        ]  # fmt: skip
        return _ENTRIES.validate_python(rows)


def listed_plates(n: int, seed: int) -> Listed:
    """n distinct plates (distinct after normalization) in the traffic's country mix."""
    rng = random.Random(seed)
    plates: list[str] = []
    countries: list[str] = []
    seen: set[str] = set()
    while len(plates) < n:
        for c in rng.choices(_COUNTRIES, weights=_WEIGHTS, k=min(100_000, n - len(plates))):
            p = random_plate(c, rng)
            key = _norm(p)
            if key in seen:
                continue
            seen.add(key)
            plates.append(p)
            countries.append(c)
    return Listed(plates, countries, seen)


@dataclass(frozen=True)
class TrafficSample:
    texts: list[str]  # plate text as OCR'd
    candidates: list[list[str] | None]  # the camera's next-best readings, where it sent them
    countries: list[str | None]  # OCR'd plate country
    truth: np.ndarray  # index of the listed plate shown, -1 for an unlisted vehicle
    confusions: np.ndarray
    dropped: np.ndarray
    wrong_country: np.ndarray  # the OCR'd plate country is another country's


def traffic(n: int, listed: Listed, listed_share: float, seed: int, noise: NoiseModel | None = None) -> TrafficSample:
    """n reads; unlisted vehicles never carry a listed plate (so every hit on them is a false alert)."""
    rng = random.Random(seed)
    noise = noise or NoiseModel()
    texts: list[str] = []
    candidates: list[list[str] | None] = []
    countries: list[str | None] = []
    truth = np.full(n, -1, dtype=np.int64)
    conf = np.zeros(n, dtype=np.int8)
    dropped = np.zeros(n, dtype=np.int8)
    wrong = np.zeros(n, dtype=bool)
    i = 0
    while i < n:
        if listed.plates and rng.random() < listed_share:
            j = rng.randrange(len(listed.plates))
            plate, country = listed.plates[j], listed.countries[j]
            truth[i] = j
        else:
            country = rng.choices(_COUNTRIES, weights=_WEIGHTS)[0]
            plate = random_plate(country, rng)
            if _norm(plate) in listed.normalized:
                continue
        r = apply_noise(plate, rng, noise)
        texts.append(r.text)
        candidates.append(list(r.candidates) or None)
        countries.append(read_country(country, rng, noise))
        wrong[i] = countries[-1] not in (None, country)
        conf[i], dropped[i] = r.confusions, r.dropped
        i += 1
    return TrafficSample(texts, candidates, countries, truth, conf, dropped, wrong)
