"""The console's hub: it takes the records of the feed into the ConsoleState, fans the changes out
to the clients of the server-sent events, audits who saw covert alerts, and ticks once a second
(overdue lists, the shared view's "changed"). Everything here runs in the event loop's thread.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sse_starlette.event import ServerSentEvent

from anpr_engine.config import Settings
from anpr_engine.console.access import User
from anpr_engine.console.state import Card, ConsoleState
from anpr_engine.io.console_feed import AlertRecord, ConsoleOut, FeedRecord
from anpr_engine.models import CovertView

CLIENT_QUEUE = 2000  # events a slow client may have waiting before it is told to load the page again
SEND_EVERY_S = 0.1  # least time between two sends of changed cards to the clients
TICK_S = 1.0  # how often overdue lists and the shared view's "changed" are sent


def frame(event: str, data: str) -> bytes:
    """One server-sent event, encoded once for every client that gets it (encoding it per client
    took 15 % of the console's time with 10 clients at 1 000 alerts/s)."""
    return ServerSentEvent(data=data, event=event).encode()


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


RELOAD = frame("reload", "{}")


@dataclass(eq=False)
class Client:
    user: User
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(CLIENT_QUEUE))
    overdue: str = ""
    behind: bool = False

    def send(self, event: bytes) -> None:
        if self.behind:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:  # it cannot keep up: drop its backlog, have it start again
            self.behind = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RELOAD)


class Hub:
    """The state and the clients: records from the feed are applied in the event loop's thread
    (no locks), and each change is sent once per kind of view (with or without covert alerts)."""

    def __init__(self, settings: Settings, out: ConsoleOut) -> None:
        self.settings = settings
        f = settings.federation
        self.state = ConsoleState(settings.console.unacked_limit, f.party, f.role == "centre")
        self.out = out
        self.clients: set[Client] = set()
        self.changed = False
        self.pending: dict[str, Card] = {}  # changed since the last send
        self._send_at: float | None = None
        self._sent_at = float("-inf")

    def take(self, records: list[FeedRecord]) -> None:
        for r in records:
            card = (
                self.state.add_alert(r.alert, r.covert, r.kafka_ts_ms, r.origin, r.abroad)
                if isinstance(r, AlertRecord)
                else self.state.add_verdict(r.alert_id, r.verdict, r.origin)
            )
            if card is not None:
                self.pending[card.key] = card
        if not self.pending:
            return
        self.changed = True
        if self._send_at is not None:
            return
        loop = asyncio.get_running_loop()
        self._send_at = max(loop.time(), self._sent_at + SEND_EVERY_S)
        loop.call_at(self._send_at, self.send)

    def send(self) -> None:
        """The cards changed since the last send, to every client that sees plates: at once when
        the last send is SEND_EVERY_S old, else then (at 1 000 alerts/s, ten events a second a
        client instead of one per fetch)."""
        self._send_at, self._sent_at = None, asyncio.get_running_loop().time()
        cards, self.pending = self.pending, {}
        watching = [c for c in self.clients if c.user.sees_plates]
        if not watching:
            return
        verdicts = self.state.verdicts
        views = {k: c.view(verdicts) for k, c in cards.items()}
        open_views = frame("cards", compact([v for v in views.values() if not v["covert"]]))
        all_views = (
            frame("cards", compact(list(views.values()))) if any(v["covert"] for v in views.values()) else open_views
        )
        covert = [c for c in cards.values() if c.covert]
        for client in watching:
            client.send(all_views if client.user.sees_covert else open_views)
            if covert and client.user.sees_covert:
                self.audit(client.user, covert, "live")

    def audit(self, user: User, cards: list[Card], via: str) -> None:
        if not cards:
            return
        now = int(time.time() * 1000)
        self.out.audit(
            [CovertView(alert_id=c.latest.alert_id, list_name=c.latest.entry.list_name, user=user.name,
                        role=user.role, at_ms=now, via=via) for c in cards]
        )  # fmt: skip

    def join(self, user: User) -> AsyncIterator[bytes]:
        """The events for a new client of `user`, who gets them from now on: "hello" first, then
        what is sent to it until it disconnects or falls behind (then "reload" is its last)."""
        client = Client(user)
        self.clients.add(client)
        return self._stream(client)

    async def _stream(self, client: Client) -> AsyncIterator[bytes]:
        try:
            yield frame("hello", "{}")
            while True:
                event = await client.queue.get()
                yield event
                if event is RELOAD:
                    return
        finally:
            self.clients.discard(client)

    def tick(self) -> None:
        """Once a second: each client's overdue lists when they changed; the shared view's clients
        are told that the counts changed (they fetch them again)."""
        changed, self.changed = self.changed, False
        overdue: dict[tuple[str | None, bool], str] = {}  # once per agency and covert view
        counts = frame("counts", "{}")
        for client in self.clients:
            user = client.user
            if user.sees_plates:
                view = (user.agency, user.sees_covert)
                if view not in overdue:
                    overdue[view] = compact(self.state.overdue(*view))
                if overdue[view] != client.overdue:
                    client.overdue = overdue[view]
                    client.send(frame("overdue", overdue[view]))
            if changed:
                client.send(counts)

    async def ticking(self) -> None:
        """`tick` every TICK_S until cancelled."""
        while True:
            await asyncio.sleep(TICK_S)
            self.tick()
