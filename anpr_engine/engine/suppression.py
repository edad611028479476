"""Repeat suppression: one alert per listed vehicle passing one site within a window, and the
alerts already published that an engine taking over partitions must not send again."""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from anpr_engine.codec.alerts import OutgoingAlert


class Suppressor:
    """One alert per listed vehicle passing one site: repeats of the same (entry, site) within
    `window_ms` of the last alert (by the reads' own timestamps, so replays behave alike) are dropped.

    The alert kept is remembered by its id: the same alert again (its read delivered again after an
    aborted transaction or a restart before the commit) is not a repeat and is kept, else it would be
    lost. `seed` fills the state from alerts already published (see io.alert_history).
    """

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._last: dict[tuple[str, str], tuple[int, str]] = {}  # (entry, site) -> (ts_ms, alert id) kept last
        self._newest = 0

    def seed(self, kept: list[tuple[str, str, int, str]]) -> None:
        """Remember alerts (entry id, site, ts_ms, alert id) as kept, where newer than what is remembered."""
        for entry_id, site, ts_ms, aid in kept:
            self._remember((entry_id, site), ts_ms, aid)

    def keep(self, alerts: list[OutgoingAlert]) -> list[OutgoingAlert]:
        if self.window_ms <= 0:
            return alerts
        out = []
        for a in alerts:
            key = (a.entry_id, a.site)
            last = self._last.get(key)
            if last is not None and 0 <= a.ts_ms - last[0] < self.window_ms and last[1] != a.alert_id:
                continue
            self._remember(key, a.ts_ms, a.alert_id)
            out.append(a)
        if len(self._last) > 100_000:
            self._last = {k: v for k, v in self._last.items() if self._newest - v[0] < self.window_ms}
        return out

    def _remember(self, key: tuple[str, str], ts_ms: int, aid: str) -> None:
        last = self._last.get(key)
        if last is None or ts_ms >= last[0]:  # a retro alert of an older read does not move the window back
            self._last[key] = (ts_ms, aid)
        self._newest = max(self._newest, ts_ms)


class Published:
    """Alerts already on the alerts topics, (entry id, site, read ts_ms, alert id) each: what an engine
    taking over partitions must not alert again, be it the same alert or a repeat that the
    suppression window (`window_ms`) dropped after one of them."""

    def __init__(self, kept: Sequence[tuple[str, str, int, str]] = (), window_ms: int = 0) -> None:
        self.ids = {aid for *_, aid in kept}
        self.window_ms = window_ms
        times: dict[tuple[str, str], list[int]] = {}
        for entry_id, site, ts_ms, _ in kept:
            times.setdefault((entry_id, site), []).append(ts_ms)
        # tuples of ints, which the garbage collector stops tracking: lists would be traversed at every collection
        self._times = {k: tuple(sorted(v)) for k, v in times.items()}

    def covers(self, a: OutgoingAlert) -> bool:
        """Whether `a` is published already, or is a repeat of a published alert within the window."""
        if a.alert_id in self.ids:
            return True
        times = self._times.get((a.entry_id, a.site))
        if not times or self.window_ms <= 0:
            return False
        i = bisect.bisect_right(times, a.ts_ms)  # the last published at or before it
        return i > 0 and a.ts_ms - times[i - 1] < self.window_ms
