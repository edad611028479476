"""The match policy: which readings of a plate count as a hit, per list and plate length."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from anpr_engine.match.alphabet import DEFAULT_OCR_CLASSES, fold_codes
from anpr_engine.models import any_case

CountryPolicy = Literal["strict", "lenient"]


class MatchPolicy(BaseModel):
    """How tolerant matching is.

    mode `format` (default): a read that fits no national plate format of its country is corrected,
    position by position, to the OCR look-alikes the format allows, and its nearest corrections (the
    fewest characters changed) are looked up exactly; a read that fits a format is trusted as read.
    `ocr_equivalent`: any look-alike counts as equal, wherever it stands (more recall on unknown
    formats, many more false alerts on large lists). `exact`: none.
    max_equivalences bounds the characters a hit may correct or treat as equal. In every mode,
    max_differences (default 0) lets a hit have characters inserted or missing instead; one hit
    uses equivalences or differences, not both. In `format` mode only reads that fit no format of
    their country are matched with differences. In every mode a read's exact hits are among its hits.
    """

    model_config = ConfigDict(frozen=True)

    mode: Literal["exact", "format", "ocr_equivalent"] = Field(
        default="format", description="how OCR look-alikes are matched (see the class docstring, README)"
    )
    ambiguous: Literal["skip", "look_up"] = Field(
        default="skip",
        description="format mode, a read that fits no format and has several nearest corrections: `skip` "
        "looks up none of them (only the read as read), `look_up` every one",
    )
    country: CountryPolicy = Field(
        default="lenient",
        description="an entry with a plate country and a read with another OCR'd country: `strict` never "
        "match, `lenient` match with a lower score and match.country_mismatch (the country band is the "
        "least reliable field of a read)",
    )
    ocr_classes: tuple[str, ...] = Field(
        default=DEFAULT_OCR_CLASSES, description="groups of characters OCR confuses with each other"
    )
    max_equivalences: int = Field(default=2, ge=0, le=2, description="characters a hit may correct or treat as equal")
    list_max_equivalences: dict[str, int] = Field(
        default_factory=dict,
        description="per-list override, e.g. an exact-only multi-million list: {'sis': 0}",
    )
    length_max_equivalences: dict[int, int] = Field(
        default_factory=dict,
        description="cap by listed plate length (normalized characters), e.g. {4: 0}: four-character plates exact only",
    )
    max_differences: int = Field(
        default=0, ge=0, le=2, description="characters a hit may have inserted or missing (a substitution costs 2)"
    )
    list_max_differences: dict[str, int] = Field(default_factory=dict, description="per-list override")
    length_max_differences: dict[int, int] = Field(
        default_factory=dict, description="cap by listed plate length, e.g. {7: 1}"
    )

    _choices = any_case("mode", "ambiguous", "country")

    @field_validator("ocr_classes")
    @classmethod
    def _classes_valid(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        fold_codes(v)
        return v

    @field_validator(
        "list_max_equivalences", "length_max_equivalences", "list_max_differences", "length_max_differences"
    )
    @classmethod
    def _budgets_valid(cls, v: dict[Any, int]) -> dict[Any, int]:
        bad = {k: b for k, b in v.items() if not 0 <= b <= 2}
        if bad:
            raise ValueError(f"budgets must be 0..2: {bad}")
        return v

    def budget_for(self, list_name: str, plate_length: int | None = None) -> int:
        """Characters a hit on an entry of this list (and listed plate length) may correct or treat as equal."""
        if self.mode == "exact":
            return 0
        return _budget(
            self.max_equivalences, self.list_max_equivalences, self.length_max_equivalences, list_name, plate_length
        )

    def differences_for(self, list_name: str, plate_length: int | None = None) -> int:
        """Characters a hit on an entry of this list (and listed plate length) may have inserted or missing."""
        return _budget(
            self.max_differences, self.list_max_differences, self.length_max_differences, list_name, plate_length
        )


def _budget(default: int, per_list: dict[str, int], per_length: dict[int, int], name: str, length: int | None) -> int:
    """The list's budget (or the default), capped by the length's: the smallest that applies wins."""
    budget = per_list.get(name, default)
    if length is not None:
        budget = min(budget, per_length.get(length, budget))
    return budget
