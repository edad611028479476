"""Reads that crossed: which of a party's reads that hit nothing occur in another cluster's records.

A party's raw reads never leave its country; only hits do (its alerts to the joint centre, its hits
on a partner's entries to that partner), and each carries its read. So a read id found on another
cluster is a leak unless the read hit. `Search` finds ids in records as plain substrings of a
record's key, value, header names and header values (bytes, the id UTF-8 encoded): whatever the
format, JSON, JSON lines, an Arrow stream or anything else, as long as the id's bytes are there
(an id compressed or escaped by the application is not found).

Fast for the simulator's ids (UUIDs: lower-case hex and '-'): a record's bytes are cut into maximal
runs of those characters, and every substring of a run as long as an id is looked up in a set, so
an id is found wherever it is embedded, next to other hex digits too; one pass over the bytes for
any number of ids. Ids with other characters are searched for one by one (`bytes.find`), which is
fine for a few and slow for many. Pure: io.crossing reads the clusters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field

from anpr_engine.codec.reads import decode_messages

Header = tuple[str, bytes | None]
Record = tuple[bytes | None, bytes | None, Sequence[Header] | None]  # key, value, headers

TOKEN_CHARS = frozenset(b"0123456789abcdef-")  # the simulator's read ids (UUIDs) are made of these
SEPARATOR = b"\x00"  # between the fields of records searched together: no token character
CHUNK_BYTES = 16 << 20  # records are searched this many bytes at a time


@dataclass(frozen=True)
class Crossing:
    """A party's reads, those that hit, and the ids of those that did not hit but were found abroad
    (`where`: the first place each was found; `scanned`: the records searched)."""

    reads: int
    hits: int
    crossed: frozenset[str]
    where: Mapping[str, str] = field(default_factory=dict)
    scanned: int = 0

    @property
    def non_hits(self) -> int:
        return self.reads - self.hits


def fields(record: Record) -> Iterator[bytes]:
    """The bytes of a record an id is looked for in: key, value, header names and values."""
    key, value, headers = record
    if key is not None:
        yield key
    if value is not None:
        yield value
    for name, v in headers or ():
        yield name.encode()
        if v is not None:
            yield v


class Search:
    """Which of `ids` occur in the records fed to it (`found`), fed as they are read."""

    def __init__(self, ids: Iterable[str]) -> None:
        wanted = {i.encode() for i in ids}
        if b"" in wanted:
            raise ValueError("an empty id occurs everywhere")
        self.tokens: dict[int, set[bytes]] = {}  # by length: ids of token characters only
        self.others: set[bytes] = set()  # the rest, searched one by one
        for i in wanted:
            if TOKEN_CHARS.issuperset(i):
                self.tokens.setdefault(len(i), set()).add(i)
            else:
                self.others.add(i)
        self.found: set[str] = set()
        self._runs = re.compile(rb"[0-9a-f-]{%d,}" % min(self.tokens)) if self.tokens else None

    @property
    def remaining(self) -> int:
        """Ids not found yet."""
        return sum(map(len, self.tokens.values())) + len(self.others)

    def feed(self, records: Iterable[Record]) -> set[str]:
        """Look for the ids not found yet in `records`; returns those found now."""
        new: set[bytes] = set()
        it = iter(records)
        while self.remaining and (parts := _chunk(it)) is not None:
            new |= self._in(parts)
        found = {i.decode() for i in new}
        self.found |= found
        return found

    def _in(self, parts: list[bytes]) -> set[bytes]:
        """The ids not found yet that occur in one of `parts`, taken off the search."""
        blob = SEPARATOR.join(parts)  # an id without SEPARATOR is in it only where it is in a part
        hit: set[bytes] = set()
        if self._runs is not None:
            runs = self._runs.findall(blob)  # maximal runs of token characters, as long as an id at least
            shortest = min(self.tokens)
            for ids in self.tokens.values():
                hit |= ids.intersection(runs)  # the runs that are an id whole: most of them
            for run in (r for r in runs if len(r) > shortest):  # an id among other token characters
                for length, ids in self.tokens.items():
                    hit |= ids.intersection(run[i : i + length] for i in range(len(run) - length + 1))
        for i in self.others:
            if (i in blob) if SEPARATOR not in i else any(i in f for f in parts):
                hit.add(i)
        for ids in self.tokens.values():
            ids -= hit
        self.others -= hit
        if self.tokens and not any(self.tokens.values()):
            self.tokens, self._runs = {}, None
        return hit


def _chunk(records: Iterator[Record]) -> list[bytes] | None:
    """The fields of the next records, about CHUNK_BYTES of them (None: no record left)."""
    parts: list[bytes] = []
    size, seen = 0, False
    for record in records:
        seen = True
        for f in fields(record):
            parts.append(f)
            size += len(f) + 1
        if size >= CHUNK_BYTES:
            break
    return parts if seen else None


def crossed(reads: Set[str], hits: Set[str], records: Iterable[Record]) -> set[str]:
    """The read ids of `reads` not in `hits` that occur in `records` (another cluster's)."""
    search = Search(reads - hits)
    search.feed(records)
    return search.found


def read_ids(values: Sequence[bytes | None], content_types: Sequence[str | None]) -> set[str]:
    """The ids of the valid reads in messages of a reads topic (one read, JSON lines or an Arrow
    stream, by content type); what the engine would refuse holds no read."""
    table, _ = decode_messages(values, content_types)
    return {str(i) for i in table["read_id"].to_pylist()}


def alert_read_ids(values: Iterable[bytes | None]) -> set[str]:
    """The read ids of alerts (the JSON of an Alert: "read"."read_id"); anything else is skipped."""
    ids = set()
    for value in values:
        try:
            alert = json.loads(value) if value else None
        except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
            continue
        read = alert.get("read") if isinstance(alert, dict) else None
        rid = read.get("read_id") if isinstance(read, dict) else None
        if isinstance(rid, str) and rid:
            ids.add(rid)
    return ids
