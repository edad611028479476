"""Wire models (pydantic v2): plate reads in, watchlist entries, alerts out.

JSON Schemas of these models are exported to `schemas/` (see `anpr-engine schemas`) so that
cameras, gateways and operator tools written in other languages can produce and consume them.
Timestamps are UTC milliseconds since the epoch; countries are ISO 3166-1 alpha-2 codes.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)  # fmt: skip

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", examples=["NL", "BE", "DE"])]
EpochMs = Annotated[int, Field(ge=0, le=2**63 - 1, description="UTC milliseconds since 1970-01-01")]


def _not_anpr(name: str) -> str:
    if name == "anpr":
        raise ValueError("a party may not be named anpr: MirrorMaker would read anpr.* topics as replicated from it")
    return name


PartyName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9]{1,15}$",
        description="a party of the federation (its cluster's name: nl, be, jc); never `anpr`",
        examples=["nl", "be", "jc"],
    ),
    BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),  # as users type them: BE is be
    AfterValidator(_not_anpr),
]
MAX_CANDIDATES = 4
ALERT_NAMESPACE = uuid.UUID("6f1c3c1e-8e0a-4f54-9a55-6a2d0f3c0b1d")


class Direction(StrEnum):
    """Direction of travel relative to the camera's country."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Category(StrEnum):
    STOLEN_VEHICLE = "stolen_vehicle"
    STOLEN_PLATE = "stolen_plate"
    WANTED_PERSON = "wanted_person"
    MISSING_PERSON = "missing_person"
    DRUGS = "drugs"
    HUMAN_TRAFFICKING = "human_trafficking"
    BURGLARY = "burglary"
    UNINSURED = "uninsured"
    OTHER = "other"


class Action(StrEnum):
    """Requested action (Schengen SIS vocabulary plus national ones)."""

    DISCREET_CHECK = "discreet_check"
    INQUIRY_CHECK = "inquiry_check"
    SPECIFIC_CHECK = "specific_check"
    SEIZE = "seize"
    STOP_AND_CHECK = "stop_and_check"
    OBSERVE_ONLY = "observe_only"
    INFORM_LISTING_UNIT = "inform_listing_unit"


class PlateRead(BaseModel):
    """One plate read by one camera."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    read_id: str = Field(min_length=1, max_length=128)
    camera_id: str = Field(min_length=1, max_length=64)
    camera_country: CountryCode
    site: str = Field(min_length=1, max_length=128, description="named crossing, e.g. 'A2 Eijsden'")
    lane: int = Field(ge=0, le=64)
    direction: Direction
    ts_ms: EpochMs
    plate_text: str = Field(max_length=256, description="plate as OCR'd, unnormalized")
    plate_country: CountryCode | None = Field(default=None, description="plate country if OCR'd")
    confidence: float = Field(ge=0.0, le=1.0)
    candidates: list[Annotated[str, Field(max_length=256)]] | None = Field(
        default=None,
        max_length=MAX_CANDIDATES,
        description="the camera's next-best readings of the plate (top-N OCR), best first; each is matched too",
    )


KEY_SEPARATOR = "|"
LIST_KEY_PREFIX = "list|"
# A partner's list names and entry ids in this party's table are `<party>||<name>`: no entry key has
# two '|' in a row (ids have none), and no list name may have them (LIST_NAME_PATTERN).
PARTY_SEPARATOR = "||"
LIST_NAME_PATTERN = r"^[^|]*(\|[^|]+)*\|?$"


def of_party(party: str, name: str) -> str:
    """A partner's list name, entry id or entry key as the table of this party holds it."""
    return f"{party}{PARTY_SEPARATOR}{name}"


class WatchlistEntry(BaseModel):
    """One listed plate on one list of one agency."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    entry_id: str = Field(min_length=1, max_length=128, pattern=r"^[^|]+$", description="without '|'")
    plate: str = Field(
        min_length=1,
        max_length=64,
        description="as printed; one or two '*' make a wildcard entry (a witness's partial plate, e.g. '12-AB*')",
    )
    plate_country: CountryCode | None = Field(default=None, description="None: a plate of any country")
    list_name: str = Field(min_length=1, max_length=64, pattern=LIST_NAME_PATTERN, description="no '||'")
    agency: str = Field(min_length=1, max_length=128)
    agency_country: CountryCode
    category: Category
    priority: int = Field(default=50, ge=0, le=100, description="0 highest")
    action: Action = Action.STOP_AND_CHECK
    valid_from_ms: EpochMs | None = None
    valid_until_ms: EpochMs | None = None
    note: str | None = Field(default=None, max_length=512)
    generation: int = Field(
        default=0,
        ge=0,
        le=2**31 - 1,
        description="the list generation the entry belongs to: it matches only while its list's active "
        "generation is this one (a whole-list replace publishes a new generation, then switches)",
    )
    release_to: tuple[PartyName, ...] | None = Field(
        default=None,
        description="the partners this entry is released to, in place of its list's release_to; [] withholds "
        "it from all (federation: an individual assessment, Benelux Police Treaty art. 13)",
    )


class WatchlistList(BaseModel):
    """A list of one agency: defaults for its entries, whether its hits are covert, and which
    generation of its entries is active. Published on the watchlist topic under `list_key(list_name)`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    record: Literal["list"] = Field(description="marks a list record (entries have no such field)")
    list_name: str = Field(min_length=1, max_length=64, pattern=LIST_NAME_PATTERN, description="no '||'")
    agency: str = Field(min_length=1, max_length=128)
    agency_country: CountryCode
    category: Category | None = Field(default=None, description="default category of entries added without one")
    priority: int = Field(default=50, ge=0, le=100, description="default priority; 0 highest")
    action: Action = Action.STOP_AND_CHECK
    covert: bool = Field(default=False, description="hits go to the covert alerts topic only")
    default_validity_s: int | None = Field(
        default=None, ge=1, le=10 * 366 * 86_400, description="entries added without an end are listed this long"
    )
    generation: int = Field(default=0, ge=0, le=2**31 - 1, description="the active generation of its entries")
    release_to: tuple[PartyName, ...] = Field(
        default=(), description="the partners its entries are released to (federation); none by default"
    )
    release_covert: bool = Field(
        default=False, description="a covert list's entries are released (to release_to) only when this is set"
    )


def entry_key(entry_id: str, generation: int = 0) -> str:
    """An entry's record key: its id, with `|<generation>` after generation 0 (so that a replace's
    new generation lives beside the old until the switch)."""
    return entry_id if generation == 0 else f"{entry_id}{KEY_SEPARATOR}{generation}"


def list_key(list_name: str) -> str:
    """A list record's key (entry ids have no '|', so it never names an entry)."""
    return LIST_KEY_PREFIX + list_name


class MatchKind(StrEnum):
    EXACT = "exact"
    OCR_EQUIVALENT = "ocr_equivalent"
    DIFFERENCES = "differences"
    WILDCARD = "wildcard"


class MatchInfo(BaseModel):
    """How a read matched an entry."""

    model_config = ConfigDict(frozen=True)

    kind: MatchKind
    equivalences: int = Field(ge=0, description="characters equal only as OCR look-alikes")
    differences: int = Field(default=0, ge=0, description="inserted or missing characters")
    score: float = Field(ge=0.0, le=1.0, description="1.0 for an exact match")
    candidate: int = Field(
        default=0, ge=0, le=MAX_CANDIDATES, description="which reading matched: 0 plate_text, k the k-th of candidates"
    )
    plate_read: str = Field(description="normalized plate as read (the reading that matched)")
    plate_listed: str = Field(description="normalized plate as listed")
    country_mismatch: bool = Field(
        default=False,
        description="the read's OCR'd plate country differs from the listed one (country policy `lenient`)",
    )


class Alert(BaseModel):
    """A hit: a read that matched a watchlist entry."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = 1
    alert_id: str
    read: PlateRead
    entry: WatchlistEntry
    match: MatchInfo
    produced_at_ms: EpochMs
    retro: bool = Field(
        default=False,
        description="the read passed before the entry was listed (or its validity extended); read.ts_ms is when",
    )
    matched_in: PartyName | None = Field(
        default=None, description="federation: the party whose engine matched the read (its cameras saw it)"
    )
    listed_by: PartyName | None = Field(
        default=None,
        description="federation: the party that listed the entry; the same as matched_in for its own lists",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cross_border(self) -> bool:
        """A camera in one country saw a vehicle listed by another country's agency."""
        return self.read.camera_country != self.entry.agency_country


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    FALSE_HIT = "false_hit"
    NO_ACTION = "no_action"


class FalseHitReason(StrEnum):
    MISREAD = "misread"
    WRONG_COUNTRY = "wrong_country"
    PLATE_NOT_AS_LISTED = "plate_not_as_listed"
    OTHER = "other"


class AlertFeedback(BaseModel):
    """An operator's verdict on one alert, on the compacted feedback topic keyed by alert id (the
    last verdict stands). The alert's list and match kind are copied in, so false-hit rates can be
    computed from this topic alone."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = 1
    alert_id: str = Field(min_length=1, max_length=256)
    outcome: Outcome
    reason: FalseHitReason | None = Field(default=None, description="why a false hit (false_hit only)")
    note: str | None = Field(default=None, max_length=512)
    by: str = Field(min_length=1, max_length=64, description="the console user who recorded it")
    by_role: str = Field(max_length=16)
    at_ms: EpochMs
    list_name: str = Field(max_length=64)
    match_kind: MatchKind

    @model_validator(mode="after")
    def _reason_with_false_hit(self) -> AlertFeedback:
        if (self.outcome == Outcome.FALSE_HIT) != (self.reason is not None):
            raise ValueError("a reason is given with a false hit, and only then")
        return self


class CovertView(BaseModel):
    """One view of a covert alert in the console, on the audit topic."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = 1
    alert_id: str
    list_name: str
    user: str
    role: str
    at_ms: EpochMs
    via: str = Field(description="how it was shown: page (the first screen) or live")


def any_case(*fields: str) -> Any:
    """A before-validator for the Literal choices of `fields` (settings as users type them:
    `debug`, `Exactly-Once`): a string equal to a choice but for case becomes the choice's own
    spelling; anything else is left to the field's own check. In a model:
    `_choices = any_case("mode", "country")`."""
    return field_validator(*fields, mode="before")(_canonical_choice)


def _canonical_choice(cls: type[BaseModel], value: object, info: ValidationInfo) -> object:
    if not isinstance(value, str) or info.field_name is None:
        return value
    for choice in _choices(cls.model_fields[info.field_name].annotation):
        if isinstance(choice, str) and choice.casefold() == value.casefold():
            return choice
    return value


def _choices(annotation: object) -> list[object]:
    """The values of the Literals in a field's annotation (also inside `X | None`, Annotated)."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    if get_origin(annotation) in (Union, UnionType, Annotated):
        return [c for arg in get_args(annotation) for c in _choices(arg)]
    return []


def first_error(e: ValidationError, whole: str) -> str:
    """A model's first complaint as `field: message` (`whole` where it is about the whole value)."""
    first = e.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or whole}: {first['msg']}"


MODELS: dict[str, type[BaseModel]] = {
    "plate_read": PlateRead,
    "watchlist_entry": WatchlistEntry,
    "watchlist_list": WatchlistList,
    "alert": Alert,
    "alert_feedback": AlertFeedback,
    "covert_view": CovertView,
}
