"""Value types every resource's bodies share; requests refuse unknown fields, values are exact."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from domain.errors import InvalidInputError
from domain.plan_size import PlanWarningCode
from domain.scoring import rounded
from domain.values import (
    EARLIEST_DATE,
    LATEST_DATE,
    MAX_REASON,
    MAX_TITLE,
    ReasonCode,
    check_decimal,
    plain,
)


def _exact_input(value: object) -> Decimal:
    # The domain's own rule, so the API, the CSV import and the CLI accept alike; JSON
    # numbers arrive here as Decimal (api/json_body.py), never through float.
    try:
        return check_decimal(value, "value")  # type: ignore[arg-type]
    except InvalidInputError as error:
        raise ValueError(error.message.removeprefix("value ")) from None


Value = Annotated[
    Decimal,
    BeforeValidator(_exact_input),
    Field(
        description="An exact decimal, as a string or a JSON number, in ASCII digits.",
        examples=["41", "2.4"],
    ),
]
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    # Dates are ISO 8601 text: not a number of seconds, not a datetime.
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("must be an ISO 8601 date, YYYY-MM-DD")


def _day_in_range(day: date) -> date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"must lie between {EARLIEST_DATE} and {LATEST_DATE}")
    return day


def _moment_in_range(moment: datetime) -> datetime:
    # The same range as dates, so a moment can always be compared and moved a day.
    if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
        raise ValueError(f"must lie between {EARLIEST_DATE} and {LATEST_DATE}")
    return moment


Day = Annotated[
    date,
    BeforeValidator(_iso_day),
    AfterValidator(_day_in_range),
    Field(description=f"ISO 8601, from {EARLIEST_DATE} to {LATEST_DATE}."),
]
Moment = Annotated[datetime, AfterValidator(_moment_in_range)]

# Decimals answered as plain text, never in exponent notation (1E+2 is "100").
Exact = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]
Identifier = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$",
        max_length=120,
        examples=["head-of-cs"],
    ),
]
Title = Annotated[str, Field(min_length=1, max_length=MAX_TITLE)]
ReasonText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_REASON,
        examples=["data pipeline harder than scoped; agreed at the mid-quarter review"],
    ),
]
T = TypeVar("T")

# Scores are kept exact and travel rounded: the rounding happens here, once, whatever
# built the body (a read-model row or a replayed scoreboard).
Score = Annotated[
    Decimal,
    AfterValidator(rounded),
    Field(description="Rounded to four places.", examples=["0.6364"]),
]
# Read off a check-in's or a reading's `corrections`: whether there are any.
Corrected = Annotated[bool, BeforeValidator(bool), Field(validation_alias="corrections")]
Position = Annotated[
    int,
    Field(description="The log position this read reflects: every event up to it is included."),
]
LogHead = Annotated[
    int,
    Field(
        description="The log's last position when this was read: `position` short of it "
        "is how far the read model was behind."
    ),
]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FromRow(BaseModel):
    """A response read off a read model's row by attribute name: `model_validate(row)`.

    The row's dataclass is the one row type; a field named otherwise here names the row's
    attribute with `validation_alias`, which the published (serialization) schema ignores.
    """

    model_config = ConfigDict(from_attributes=True)


class Retire(Request):
    reason: ReasonText
    reason_code: ReasonCode
    effective_on: Day | None = None


class PlanWarningPublic(FromRow):
    """Plan-size guidance a write crossed: stored all the same (ADR 35)."""

    code: PlanWarningCode
    message: str


class Written(BaseModel):
    """What a write stored: the goal's id (a cycle's key) and its new version (its ETag)."""

    id: UUID | str
    version: int
    position: int | None = Field(
        default=None,
        description="The write's position in the event log; read models that have passed "
        "it show the write (absent when a retry replays an earlier result).",
    )
    check_in_id: UUID | None = None
    reading_id: UUID | None = None
    warnings: list[PlanWarningPublic] = Field(
        default_factory=list,
        description="Plan-size guidance (1-3 objectives per owner per cycle, 2-5 key "
        "results per objective) this write crossed; the write is stored regardless.",
    )


class RetiredPublic(FromRow):
    effective_on: date
    reason: str
    reason_code: ReasonCode
    actor: str
    recorded_at: datetime
    graduated_to_kpi: UUID | None = Field(
        default=None, description="The KPI a graduated goal carries on as (ADR 36)."
    )
    carried_to: UUID | None = Field(
        default=None,
        description="The key result of a later cycle a carried-forward one goes on as (ADR 37).",
    )


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
