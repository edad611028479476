"""Release, the treaty's individual assessment (Benelux Police Treaty art. 13): which records of a
party's watchlist topic go to which partner.

Nothing is shared by default. A list record's `release_to` names the partners its entries go to;
an entry's own `release_to`, where set, replaces its list's for that entry (`[]` withholds it from
all). A covert list's entries go nowhere unless its record also says `release_covert`. A list
record goes to every partner that gets one of its entries or that the list is released to, and
always before its first entry there: the partner must know a list's active generation and whether
it is covert before any of its entries can match.

`Exports` takes the watchlist topic's records in order and says what each changes on each
partner's export topic: the record as received, or a tombstone where one exported before is
withheld, removed or no longer released. A record the engine's table would refuse (unreadable, or
under a key other than its own) changes nothing, as there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from pydantic import ValidationError

from anpr_engine.models import LIST_KEY_PREFIX, WatchlistEntry, WatchlistList, entry_key, list_key


class Change(NamedTuple):
    """One record to write to a partner's export topic (value None: a tombstone)."""

    partner: str
    key: str
    value: bytes | None


class Exports:
    """What each partner's export topic holds, kept in step with the watchlist topic (`apply`)."""

    def __init__(self, partners: Iterable[str]) -> None:
        self.partners = tuple(partners)
        self.lists: dict[str, tuple[WatchlistList, bytes]] = {}  # list name -> record, value
        self.entries: dict[str, tuple[WatchlistEntry, bytes]] = {}  # record key -> entry, value
        self.keys_of_list: dict[str, set[str]] = {}  # list name -> its entries' record keys
        self.exported: dict[str, dict[str, bytes]] = {p: {} for p in self.partners}  # partner -> key -> value
        self._under: dict[str, dict[str, str]] = {p: {} for p in self.partners}  # partner -> entry key -> its list
        self._shown: dict[tuple[str, str], int] = {}  # (list name, partner) -> its entries exported there

    def apply(self, key: str, value: bytes | None) -> list[Change]:
        """The changes one record of the watchlist topic makes to the export topics, in the order
        they must be written."""
        is_list = key.startswith(LIST_KEY_PREFIX)
        record = _usable(key, value, is_list) if value is not None else None
        if value is not None and record is None:
            return []  # as in the engine's table (Watchlist.apply): an unusable record changes nothing
        if is_list:
            return self._list(key[len(LIST_KEY_PREFIX) :], value, record if isinstance(record, WatchlistList) else None)
        old = self.entries.pop(key, None)
        if old is not None:
            self.keys_of_list[old[0].list_name].discard(key)
        if isinstance(record, WatchlistEntry) and value is not None:
            self.entries[key] = (record, value)
            self.keys_of_list.setdefault(record.list_name, set()).add(key)
        changes, left = self._entry_changes(key)
        for name in sorted(left):
            changes += self._list_changes(name)
        return changes

    def released_to(self, entry: WatchlistEntry) -> frozenset[str]:
        """The partners `entry` goes to, as its list stands now."""
        listed = self.lists.get(entry.list_name)
        lst = listed[0] if listed is not None else None
        if lst is not None and lst.covert and not lst.release_covert:
            return frozenset()
        chosen = entry.release_to if entry.release_to is not None else (lst.release_to if lst else ())
        return frozenset(chosen) & frozenset(self.partners)

    def _list(self, name: str, value: bytes | None, record: WatchlistList | None) -> list[Change]:
        if record is not None and value is not None:
            self.lists[name] = (record, value)
        else:
            self.lists.pop(name, None)
        changes = self._list_changes(name, upsert_only=True)
        left: set[str] = set()
        for key in sorted(self.keys_of_list.get(name, ())):
            more, gone = self._entry_changes(key)
            changes += more
            left |= gone
        for other in sorted(left | {name}):
            changes += self._list_changes(other)
        return changes

    def _entry_changes(self, key: str) -> tuple[list[Change], set[str]]:
        """The entry `key` written or tombstoned on each partner as it stands now (its list record
        first where new there); and the lists it left on some partner."""
        held = self.entries.get(key)
        wanted = self.released_to(held[0]) if held is not None else frozenset()
        changes: list[Change] = []
        left: set[str] = set()
        for p in self.partners:
            there, under = self.exported[p], self._under[p]
            before = under.get(key)
            if held is not None and p in wanted:
                name = held[0].list_name
                if there.get(key) == held[1] and before == name:
                    continue
                if before != name:
                    if before is not None:
                        self._count(before, p, -1)
                        left.add(before)
                    self._count(name, p, +1)
                    under[key] = name
                    changes += self._list_changes(name, upsert_only=True, only=p)
                there[key] = held[1]
                changes.append(Change(p, key, held[1]))
            elif before is not None:
                del there[key], under[key]
                self._count(before, p, -1)
                left.add(before)
                changes.append(Change(p, key, None))
        return changes, left

    def _list_changes(self, name: str, upsert_only: bool = False, only: str | None = None) -> list[Change]:
        """The list record `name` brought up to date on each partner (or `only` one): written where
        it is wanted and differs; unless `upsert_only`, tombstoned where no longer wanted (removed
        at home, or nothing of it released there any more)."""
        listed = self.lists.get(name)
        key = LIST_KEY_PREFIX + name
        changes: list[Change] = []
        for p in self.partners if only is None else (only,):
            there = self.exported[p]
            if listed is not None and self._wanted(listed[0], p):
                if there.get(key) != listed[1]:
                    there[key] = listed[1]
                    changes.append(Change(p, key, listed[1]))
            elif not upsert_only and key in there and (listed is None or self._shown.get((name, p), 0) == 0):
                del there[key]
                changes.append(Change(p, key, None))
        return changes

    def _wanted(self, lst: WatchlistList, partner: str) -> bool:
        if lst.covert and not lst.release_covert:
            return False
        return partner in lst.release_to or self._shown.get((lst.list_name, partner), 0) > 0

    def _count(self, name: str, partner: str, step: int) -> None:
        self._shown[name, partner] = self._shown.get((name, partner), 0) + step


def _usable(key: str, value: bytes, is_list: bool) -> WatchlistEntry | WatchlistList | None:
    """The record of `value` if the engine's table would take it under `key`: a list record under
    its list's key, an entry under its own (models.entry_key); None if not."""
    try:
        if is_list:
            lst = WatchlistList.model_validate_json(value)
            return lst if key == list_key(lst.list_name) else None
        entry = WatchlistEntry.model_validate_json(value)
    except ValidationError:
        return None
    return entry if key == entry_key(entry.entry_id, entry.generation) else None


def catch_up(partner: str, desired: dict[str, bytes], held: dict[str, bytes]) -> list[Change]:
    """The writes that turn `held` (a partner's export topic as read back) into `desired` (what is
    released to it now), in a safe order: list records new there, entries, changed list records,
    then tombstones of entries and of lists. An entry never arrives before its list's record, and a
    replace's new entries arrive before the record that switches the list to their generation."""
    lists = [k for k in desired if k.startswith(LIST_KEY_PREFIX)]
    new_lists = [Change(partner, k, desired[k]) for k in lists if k not in held]
    entries = [
        Change(partner, k, v) for k, v in desired.items() if not k.startswith(LIST_KEY_PREFIX) and held.get(k) != v
    ]
    changed_lists = [Change(partner, k, desired[k]) for k in lists if k in held and held[k] != desired[k]]
    gone = [k for k in held if k not in desired]
    gone_entries = [Change(partner, k, None) for k in gone if not k.startswith(LIST_KEY_PREFIX)]
    gone_lists = [Change(partner, k, None) for k in gone if k.startswith(LIST_KEY_PREFIX)]
    return new_lists + entries + changed_lists + gone_entries + gone_lists
