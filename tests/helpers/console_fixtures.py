"""The console fixture: a console process on fresh topics, ended after the test.

Loaded for every test (tests/conftest.py): the console helpers (argon2, httpx, the engine's models)
are imported when the fixture is used."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.helpers.console import Console


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    from tests.helpers.console import console_settings, start_console
    from tests.helpers.kafka import terminate

    c = start_console(tmp_path, console_settings(uuid.uuid4().hex[:10]))
    yield c
    for client in c.opened:
        client.close()
    terminate(c.proc)  # type: ignore[arg-type]
