"""The lists of the watchlist topic: which generation of each list's entries is active, and which
lists are covert. Lists are numbered; every entry slot of a Watchlist holds its list's number, so
the active-generation rule is one vectorized comparison over the few hits of a batch."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from anpr_engine.models import PARTY_SEPARATOR, WatchlistList


class Lists:
    """List records by name; a list named by entries but without a record is a plain list at generation 0.
    A partner's list is named `<party>||<its name>` (models.of_party)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self.party: list[str] = []  # by list number: the listing partner, "" for this party's own lists
        self.records: list[WatchlistList | None] = []
        self.active = np.zeros(0, dtype=np.int32)  # by list number
        self.covert = np.zeros(0, dtype=bool)

    def __len__(self) -> int:
        return len(self._ids)

    def number(self, name: str) -> int:
        """The list's number, given one on first sight."""
        n = self._ids.get(name)
        if n is None:
            n = self._ids[name] = len(self.records)
            self.party.append(name.split(PARTY_SEPARATOR, 1)[0] if PARTY_SEPARATOR in name else "")
            self.records.append(None)
            self.active = np.append(self.active, np.int32(0))
            self.covert = np.append(self.covert, False)
        return n

    def numbers(self, names: list[str]) -> np.ndarray:
        """Numbers of many list names (one dictionary lookup per distinct name)."""
        encoded = pa.array(names, pa.string()).dictionary_encode()
        distinct = np.array([self.number(n) for n in encoded.dictionary.to_pylist()], dtype=np.int32)
        return distinct[encoded.indices.to_numpy()] if len(names) else np.zeros(0, dtype=np.int32)

    def names(self) -> list[str]:
        return list(self._ids)

    def record(self, name: str) -> WatchlistList | None:
        n = self._ids.get(name)
        return None if n is None else self.records[n]

    def set(self, name: str, record: WatchlistList | None) -> tuple[int, int, int]:
        """Put (or, with None, drop) a list's record; returns (list number, generation before, after)."""
        n = self.number(name)
        before = int(self.active[n])
        self.records[n] = record
        self.active[n] = 0 if record is None else record.generation
        self.covert[n] = record is not None and record.covert
        return n, before, int(self.active[n])
