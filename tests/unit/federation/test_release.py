"""Release (federation/release.py) against a plain recomputation from the watchlist as it stands:
after every record, each partner's export topic holds exactly what is released to it; a list
record is there before any of its entries; nothing of a covert list leaves without release_covert."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from anpr_engine.federation.release import Change, Exports, catch_up
from anpr_engine.models import LIST_KEY_PREFIX, Category, WatchlistEntry, WatchlistList, entry_key, list_key

PARTNERS = ("be", "jc")
LISTS = ("stolen", "wanted")
parties = st.lists(st.sampled_from([*PARTNERS, "de"]), max_size=3, unique=True).map(tuple)


@st.composite
def list_records(draw: st.DrawFn) -> tuple[str, bytes | None]:
    name = draw(st.sampled_from(LISTS))
    if draw(st.integers(0, 9)) == 0:
        return list_key(name), None
    record = WatchlistList(
        record="list", list_name=name, agency="KLPD", agency_country="NL", covert=draw(st.booleans()),
        generation=draw(st.integers(0, 2)), release_to=draw(parties), release_covert=draw(st.booleans()),
    )  # fmt: skip
    return list_key(name), record.model_dump_json().encode()


@st.composite
def entry_records(draw: st.DrawFn) -> tuple[str, bytes | None]:
    key = f"e{draw(st.integers(0, 4))}"
    kind = draw(st.integers(0, 9))  # 0: a tombstone, 1: unreadable, 2: an entry under another entry's key
    if kind == 0:
        return key, None
    if kind == 1:
        return key, b'{"entry_id": 3'  # unreadable: leaves the key's entry as it was
    entry = WatchlistEntry(
        entry_id=key if kind != 2 else "e9", plate=f"{key}-AB-12", list_name=draw(st.sampled_from(LISTS)),
        agency="KLPD", agency_country="NL", category=Category.STOLEN_VEHICLE,
        note=draw(st.sampled_from([None, "a", "b"])), release_to=draw(st.one_of(st.none(), parties)),
    )  # fmt: skip
    return key, entry.model_dump_json().encode()


def usable(key: str, value: bytes) -> bool:
    """A record the engine's table takes: a list record under its list's key, or an entry under its own."""
    try:
        if key.startswith(LIST_KEY_PREFIX):
            return key == list_key(WatchlistList.model_validate_json(value).list_name)
        entry = WatchlistEntry.model_validate_json(value)
    except ValueError:
        return False
    return key == entry_key(entry.entry_id, entry.generation)


def desired(home: dict[str, bytes]) -> dict[str, dict[str, bytes]]:
    """What each partner should hold, computed afresh from the watchlist topic's current records."""
    lists, entries = {}, {}
    for key, value in home.items():
        if key.startswith(LIST_KEY_PREFIX):
            lists[key[len(LIST_KEY_PREFIX) :]] = WatchlistList.model_validate_json(value)
        else:
            entries[key] = WatchlistEntry.model_validate_json(value)
    out: dict[str, dict[str, bytes]] = {p: {} for p in PARTNERS}
    for key, e in entries.items():
        lst = lists.get(e.list_name)
        if lst is not None and lst.covert and not lst.release_covert:
            continue
        chosen = e.release_to if e.release_to is not None else (lst.release_to if lst is not None else ())
        for p in set(chosen) & set(PARTNERS):
            out[p][key] = home[key]
    for name, lst in lists.items():
        if lst.covert and not lst.release_covert:
            continue
        for p in PARTNERS:
            if p in lst.release_to or any(k in entries and entries[k].list_name == name for k in out[p]):
                out[p][list_key(name)] = home[list_key(name)]
    return out


@settings(max_examples=300)
@given(st.lists(st.one_of(list_records(), entry_records()), max_size=40))
def test_each_partner_holds_what_is_released_to_it_after_every_record(records: list[tuple[str, bytes | None]]) -> None:
    exports = Exports(PARTNERS)
    home: dict[str, bytes] = {}
    topics: dict[str, dict[str, bytes]] = {p: {} for p in PARTNERS}
    for key, value in records:
        if value is None:
            home.pop(key, None)
        elif usable(key, value):
            home[key] = value  # as the engine's Watchlist.apply: an unusable record changes nothing
        for change in exports.apply(key, value):
            _write(topics, change, home)
        assert topics == desired(home)
        assert topics == exports.exported


def _write(topics: dict[str, dict[str, bytes]], change: Change, home: dict[str, bytes]) -> None:
    """Write one change to a partner's topic, checking that an entry never arrives before its list's
    record (where the list has one at home) and that nothing of a covert list leaves unless released so."""
    there = topics[change.partner]
    if change.value is None:
        there.pop(change.key, None)
        return
    if change.key.startswith(LIST_KEY_PREFIX):
        lst = WatchlistList.model_validate_json(change.value)
        assert not lst.covert or lst.release_covert
    else:
        name = WatchlistEntry.model_validate_json(change.value).list_name
        if list_key(name) in home:
            assert list_key(name) in there, f"{change.key} written to {change.partner} before its list {name}"
    there[change.key] = change.value


def test_a_list_record_goes_before_its_first_entry_and_after_its_last_is_withdrawn() -> None:
    exports = Exports(PARTNERS)
    lst = WatchlistList(record="list", list_name="stolen", agency="KLPD", agency_country="NL")
    entry = WatchlistEntry(entry_id="e1", plate="12-AB-34", list_name="stolen", agency="KLPD", agency_country="NL",
                           category=Category.STOLEN_VEHICLE, release_to=("be",))  # fmt: skip
    assert exports.apply(list_key("stolen"), lst.model_dump_json().encode()) == []  # released to nobody
    changes = exports.apply("e1", entry.model_dump_json().encode())
    assert [(c.partner, c.key) for c in changes] == [("be", "list|stolen"), ("be", "e1")]
    withheld = entry.model_copy(update={"release_to": ()})
    changes = exports.apply("e1", withheld.model_dump_json().encode())
    assert [(c.partner, c.key, c.value) for c in changes] == [("be", "e1", None), ("be", "list|stolen", None)]


def test_a_covert_list_is_released_only_when_its_record_says_so() -> None:
    exports = Exports(PARTNERS)
    covert = WatchlistList(record="list", list_name="obs", agency="KLPD", agency_country="NL", covert=True,
                           release_to=("be",))  # fmt: skip
    entry = WatchlistEntry(entry_id="e1", plate="12-AB-34", list_name="obs", agency="KLPD", agency_country="NL",
                           category=Category.DRUGS)  # fmt: skip
    exports.apply(list_key("obs"), covert.model_dump_json().encode())
    assert exports.apply("e1", entry.model_dump_json().encode()) == []
    assert exports.apply("e1", entry.model_copy(update={"release_to": ("be",)}).model_dump_json().encode()) == []
    released = covert.model_copy(update={"release_covert": True}).model_dump_json().encode()
    changes = exports.apply(list_key("obs"), released)
    assert [(c.partner, c.key) for c in changes] == [("be", "list|obs"), ("be", "e1")]


@given(st.lists(st.one_of(list_records(), entry_records()), max_size=30), st.data())
def test_catching_up_turns_what_a_topic_holds_into_what_is_released(
    records: list[tuple[str, bytes | None]], data: st.DataObject
) -> None:
    exports = Exports(PARTNERS)
    home: dict[str, bytes] = {}
    for key, value in records:
        exports.apply(key, value)
        if value is None:
            home.pop(key, None)
        elif usable(key, value):
            home[key] = value
    for p in PARTNERS:
        keys = sorted({*home, "e9", "list|gone"})
        held = {
            k: data.draw(st.sampled_from([b"{}", home.get(k, b"{}")]))
            for k in data.draw(st.sets(st.sampled_from(keys)))
        }
        topic = dict(held)
        for change in catch_up(p, exports.exported[p], held):
            _write({p: topic, **{q: {} for q in PARTNERS if q != p}}, change, home)
        assert topic == exports.exported[p] == desired(home)[p]
