"""The settings model: properties the engine sets itself are refused, and every setting is documented."""

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from anpr_engine.config import Settings


def test_properties_the_engine_sets_itself_cannot_be_passed_through(no_file: object) -> None:
    for field, prop in [("kafka_consumer", "enable.auto.commit"), ("kafka_producer", "transactional.id"),
                        ("kafka_extra", "group.id"), ("kafka_admin", "bootstrap.servers")]:  # fmt: skip
        with pytest.raises(ValueError, match=f"{field}.{prop}"):
            Settings(**{field: {prop: "x"}})  # type: ignore[arg-type]


def settings_table(model: type[BaseModel] = Settings, prefix: str = "") -> str:
    """The table of every setting in docs/configuration.md: file key, environment variable, default, description.
    Regenerate it with: python -c 'from tests.unit.test_config import settings_table as t; print(t())'"""
    head = "| setting (file key) | environment | default | what it does |\n|---|---|---|---|\n" if not prefix else ""
    rows = []
    for name, f in model.model_fields.items():
        default = f.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            rows.append(settings_table(type(default), f"{prefix}{name}.").rstrip("\n"))
            continue
        env = (
            "ANPR_KAFKA_BOOTSTRAP"
            if name == "bootstrap_servers"
            else "ANPR_" + (prefix + name).upper().replace(".", "__")
        )
        shown = default if isinstance(default, str) else json.dumps(default, default=str)
        rows.append(f"| `{prefix}{name}` | `{env}` | `{shown}` | {(f.description or '').replace('|', chr(92) + '|')} |")
    return head + "\n".join(rows) + "\n"


def test_the_docs_document_every_setting_with_its_environment_name_and_default() -> None:
    page = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert settings_table() in page
    assert " |  |\n" not in settings_table()  # every setting says what it does


@pytest.mark.parametrize(
    ("partners", "problem"),
    [(["anpr"], "may not be named anpr"), (["be", "BE"], "named twice"), (["b"], "pattern"), ([1], "string")],
)
def test_partners_are_party_names_each_once_in_any_case(partners: list[object], problem: str) -> None:
    assert Settings(federation={"partners": ["BE", "jc"]}).federation.partners == ("be", "jc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=problem):
        Settings(federation={"partners": partners})  # type: ignore[arg-type]
