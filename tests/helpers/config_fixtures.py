"""Fixtures around the settings: no configuration file in use while a test runs."""

from collections.abc import Iterator

import pytest

from anpr_engine.config import use_config_file


@pytest.fixture
def no_file() -> Iterator[None]:
    use_config_file(None)
    yield
    use_config_file(None)
