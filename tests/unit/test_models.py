"""The models' JSON schemas committed under schemas/ are the ones the models give."""

from pathlib import Path

from typer.testing import CliRunner

from anpr_engine.cli.engine import app as engine_app
from anpr_engine.models import MODELS


def test_committed_schemas_are_current(tmp_path: Path) -> None:
    result = CliRunner().invoke(engine_app, ["schemas", str(tmp_path)])
    assert result.exit_code == 0
    repo = Path(__file__).resolve().parents[2] / "schemas"
    for name in MODELS:
        assert (tmp_path / f"{name}.schema.json").read_text() == (repo / f"{name}.schema.json").read_text(), (
            f"schemas/{name}.schema.json is stale: run `make schemas`"
        )
