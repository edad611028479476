"""The operator console: a Starlette application (ASGI, served by uvicorn) with server-sent events
(sse-starlette) for live alerts. The page is plain HTML and JavaScript from `static/`, no build step.

The console's state is rebuilt from the alerts and feedback topics at start (in a federation also
the partners' ones MirrorMaker copies here: io.console_feed.followed_topics) and kept live by the
feed thread (io.console_feed) through the hub (console.hub); what a user gets is cut to their role on
the server (console.routes, console.access). A verdict is done when the broker has it; every console,
this one included, shows it when it comes back from the feedback topic.

This module builds the application (its state, lifespan and routes) and serves it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from anpr_engine.config import Settings
from anpr_engine.console.access import Sessions
from anpr_engine.console.hub import Hub
from anpr_engine.console.routes import ROUTES
from anpr_engine.console.sites import site_coordinates
from anpr_engine.io.console_feed import ConsoleFeed, ConsoleOut, FeedRecord


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """While serving: the feed delivers its records to the hub in the event loop, the hub ticks;
    after, the feed is stopped and the producer closed."""
    hub: Hub = app.state.hub
    feed: ConsoleFeed = app.state.feed
    out: ConsoleOut = app.state.out
    loop = asyncio.get_running_loop()

    def deliver(records: list[FeedRecord]) -> None:  # from the feed's thread
        loop.call_soon_threadsafe(hub.take, records)

    feed.deliver = deliver
    feed.start()
    ticker = asyncio.create_task(hub.ticking())
    try:
        yield
    finally:
        ticker.cancel()
        feed.stop()
        out.close()


def create_app(settings: Settings, feed: ConsoleFeed, out: ConsoleOut) -> Starlette:
    """The console for these settings, fed by `feed` (started when the app starts serving)."""
    app = Starlette(routes=ROUTES, lifespan=lifespan)
    app.state.settings = settings
    app.state.sessions = Sessions(settings.console.users)
    app.state.hub = Hub(settings, out)
    app.state.out = out
    app.state.feed = feed
    app.state.sites = site_coordinates(settings.console.sites)
    return app


def connected_app(settings: Settings) -> Starlette:
    """The console with its Kafka clients (its own topics created if missing, io.console_feed.created_topics);
    raises the BrokerError of a cluster that cannot be reached or refuses."""
    from anpr_engine.io.admin import ensure_topics
    from anpr_engine.io.console_feed import created_topics

    ensure_topics(settings, only=created_topics(settings))
    return create_app(settings, ConsoleFeed(settings, lambda records: None), ConsoleOut(settings))


def serve(settings: Settings, port: int | None = None, host: str | None = None) -> None:
    """Serve the console until SIGINT/SIGTERM."""
    import uvicorn

    c = settings.console
    app = connected_app(settings)
    uvicorn.run(app, host=host or c.host, port=c.port if port is None else port, log_level="warning")
