"""Border traffic: cameras at the Limburg crossings, the two countries' watchlists, and a stream of reads.

A share of the passing vehicles is drawn from the watchlists; cameras on both sides see them, so a
vehicle listed by one country is often read by the other's camera (a cross-border hit). Every read
comes with its ground truth: the entry ids of the vehicle it shows, and the noise applied.

In a federation each country publishes its own cameras' reads to its own cluster: the stream is the
same, filtered by the camera's country (`camera_country`), so the two countries' runs together are
the mixed run.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from anpr_engine.models import Action, Category, Direction, PlateRead, WatchlistEntry
from anpr_simulators.noise import NoiseModel, apply_noise, read_country
from anpr_simulators.plates import random_plate


@dataclass(frozen=True)
class Camera:
    camera_id: str
    country: str
    site: str
    lanes: int


# Cameras at the crossings of the Limburg border, one on each side (site names from the primer).
CAMERAS = (
    Camera("NL-EIJSDEN-A2", "NL", "A2 Eijsden", 3),
    Camera("BE-LIXHE-E25", "BE", "E25 Visé-Lixhe", 3),
    Camera("NL-SMEERMAAS", "NL", "Smeermaas", 1),
    Camera("BE-LANAKEN", "BE", "Lanaken", 1),
    Camera("NL-STEIN-A76", "NL", "A76 Stein", 2),
    Camera("BE-MAASMECHELEN-E314", "BE", "E314 Maasmechelen", 2),
    Camera("NL-ROOSTEREN", "NL", "Roosteren", 1),
    Camera("BE-MAASEIK", "BE", "Maaseik", 1),
    Camera("NL-THORN", "NL", "Thorn", 1),
    Camera("BE-KESSENICH", "BE", "Kessenich", 1),
    Camera("NL-BOCHOLTZ-A76", "NL", "A76 Bocholtz", 2),
    Camera("NL-VENLO-A67", "NL", "A67 Venlo", 2),
)


def camera_country(country: str) -> str:
    """`country` as the cameras name it (any case in, ISO alpha-2 upper case out). Raises ValueError
    when the simulator has no camera there: a run publishing one country's cameras would publish nothing."""
    code = country.strip().upper()
    known = sorted({c.country for c in CAMERAS})
    if code not in known:
        raise ValueError(f"no cameras in {country!r} in the simulator (its cameras are in {', '.join(known)})")
    return code


TRAFFIC_MIX = (("NL", 0.45), ("BE", 0.35), ("DE", 0.12), ("FR", 0.05), ("LU", 0.03))
AGENCIES = {
    "NL": ("Politie Eenheid Limburg", ("nl-stolen", "nl-wanted", "nl-ondermijning")),
    "BE": ("Federale Politie / PZ Maasland", ("be-stolen", "be-wanted", "be-drugs")),
}
LIST_CATEGORIES = {
    "stolen": (Category.STOLEN_VEHICLE, Category.STOLEN_PLATE),
    "wanted": (Category.WANTED_PERSON, Category.MISSING_PERSON, Category.HUMAN_TRAFFICKING),
    "ondermijning": (Category.DRUGS, Category.BURGLARY),
    "drugs": (Category.DRUGS, Category.HUMAN_TRAFFICKING),
}


def _country(rng: random.Random) -> str:
    return rng.choices([c for c, _ in TRAFFIC_MIX], weights=[w for _, w in TRAFFIC_MIX])[0]


def make_watchlists(size_per_country: int, seed: int) -> list[WatchlistEntry]:
    """Entries of the NL and BE lists: mostly domestic plates, some foreign, all distinct plates."""
    rng = random.Random(seed ^ 0x5EED)
    entries: list[WatchlistEntry] = []
    seen: set[tuple[str, str]] = set()
    for agency_country, (agency, lists) in AGENCIES.items():
        n = 0
        while n < size_per_country:
            pc = agency_country if rng.random() < 0.7 else _country(rng)
            plate = random_plate(pc, rng)
            if (plate, pc) in seen:
                continue
            seen.add((plate, pc))
            list_name = rng.choice(lists)
            category = rng.choice(LIST_CATEGORIES[list_name.split("-")[1]])
            entries.append(
                WatchlistEntry(
                    entry_id=f"{agency_country}-{n:08d}",
                    plate=plate,
                    plate_country=pc,
                    list_name=list_name,
                    agency=agency,
                    agency_country=agency_country,
                    category=category,
                    priority=rng.choice((5, 10, 20, 50, 80)),
                    action=rng.choice(list(Action)),
                )
            )
            n += 1
    return entries


@dataclass(frozen=True)
class SimulatedRead:
    read: PlateRead
    truth: tuple[str, ...]  # entry ids of the vehicle shown
    confusions: int
    dropped: int


class Traffic:
    """An endless, seeded stream of reads at the border cameras."""

    def __init__(
        self,
        watchlist: list[WatchlistEntry],
        seed: int = 1,
        listed_share: float = 0.02,
        noise: NoiseModel | None = None,
        start_ms: int | None = None,
        live: bool = False,
    ) -> None:
        """`live`: stamp reads with the wall clock (publishing in real time); else from start_ms onwards."""
        self.rng = random.Random(seed)
        self.listed = watchlist
        self.listed_share = listed_share if watchlist else 0.0
        self.noise = noise or NoiseModel()
        self.ts_ms = start_ms if start_ms is not None else time.time_ns() // 1_000_000
        self.live = live
        self._uuid_rng = random.Random(seed ^ 0xABCDEF)

    def __iter__(self) -> Iterator[SimulatedRead]:
        return self

    def __next__(self) -> SimulatedRead:
        rng = self.rng
        truth: tuple[str, ...]
        if rng.random() < self.listed_share:
            e = rng.choice(self.listed)
            plate, pc, truth = e.plate, e.plate_country or _country(rng), (e.entry_id,)
        else:
            pc = _country(rng)
            plate, truth = random_plate(pc, rng), ()
        cam = rng.choice(CAMERAS)
        noisy = apply_noise(plate, rng, self.noise)
        self.ts_ms = time.time_ns() // 1_000_000 if self.live else self.ts_ms + rng.randint(0, 40)
        read = PlateRead(
            read_id=str(uuid.UUID(int=self._uuid_rng.getrandbits(128), version=4)),
            camera_id=cam.camera_id,
            camera_country=cam.country,
            site=cam.site,
            lane=rng.randrange(cam.lanes),
            direction=rng.choice((Direction.INBOUND, Direction.OUTBOUND)),
            ts_ms=self.ts_ms,
            plate_text=noisy.text,
            plate_country=read_country(pc, rng, self.noise),
            confidence=noisy.confidence,
            candidates=list(noisy.candidates) or None,
        )
        return SimulatedRead(read, truth, noisy.confusions, noisy.dropped)

    def take(self, n: int) -> list[SimulatedRead]:
        return [next(self) for _ in range(n)]


MALFORMED = (
    b"{not json",
    b'{"read_id": "x", "camera_id": "c"}',
    b'{"read_id":"m1","camera_id":"NL-X","camera_country":"nl","site":"s","lane":0,"direction":"inbound",'
    b'"ts_ms":1,"plate_text":"AB","confidence":0.5}',
    b"",
    b"\xff\xfe\x00garbage",
)


def malformed_message(rng: random.Random) -> bytes:
    """A message a broken camera gateway might send."""
    return rng.choice(MALFORMED)
