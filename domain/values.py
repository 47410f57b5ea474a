"""Value types and the checks every command shares."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from domain.errors import InvalidInputError

MAX_TITLE = 200
MAX_NOTE = 2000
MAX_REASON = 2000
MAX_NAME = 120

E = TypeVar("E", bound=StrEnum)


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    STAY_ABOVE = "stay_above"
    STAY_BELOW = "stay_below"
    MILESTONE = "milestone"


class Confidence(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"


class ObjectiveKind(StrEnum):
    ASPIRATIONAL = "aspirational"
    COMMITTED = "committed"


class ReasonCode(StrEnum):
    PRIORITIES_CHANGED = "priorities_changed"
    WRONG_METRIC = "wrong_metric"
    DATA_ERROR = "data_error"
    GRADUATED_TO_KPI = "graduated_to_kpi"
    DUPLICATE = "duplicate"
    OTHER = "other"


class KpiDirection(StrEnum):
    """Which side of its threshold a KPI is healthy on."""

    STAY_ABOVE = "stay_above"
    STAY_BELOW = "stay_below"


@dataclass(frozen=True)
class Reason:
    """Why a plan changed: free text an auditor reads, and a code reports group by."""

    text: str
    code: ReasonCode


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


def utc_today() -> date:
    return utc_now().date()


def check_text(value: str, field: str, *, max_len: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a string", field=field)
    text = value.strip()
    if required and not text:
        raise InvalidInputError(f"{field} must not be empty", field=field)
    if len(text) > max_len:
        raise InvalidInputError(f"{field} must be at most {max_len} characters", field=field)
    return text


_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$")


def check_identifier(value: str, field: str) -> str:
    """People, teams and cycle keys are opaque slugs: safe in URLs, CSV and logs."""
    if not isinstance(value, str) or not _IDENT.match(value):
        raise InvalidInputError(
            f"{field} must be 1-120 letters, digits or . _ @ -, starting with a letter or digit",
            field=field,
        )
    return value


def check_decimal(value: Decimal | int | str, field: str) -> Decimal:
    """Metric values are finite decimals; floats are refused to keep scores exact."""
    if isinstance(value, bool | float):
        raise InvalidInputError(
            f"{field} must be a decimal string or an integer, not a float", field=field
        )
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInputError(f"{field} must be a decimal number", field=field) from None
    if not number.is_finite():
        raise InvalidInputError(f"{field} must be finite", field=field)
    if abs(number.adjusted()) > 15 or len(number.as_tuple().digits) > 28:
        raise InvalidInputError(f"{field} is out of range", field=field)
    # Normalise -0 so equal values are stored alike.
    return number + 0 if number.is_zero() else number


def check_unit_interval(value: Decimal, field: str) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise InvalidInputError(f"{field} must be between 0 and 1", field=field)
    return value


def check_weight(value: Decimal | int | str, field: str = "weight") -> Decimal:
    weight = check_decimal(value, field)
    if weight <= 0:
        raise InvalidInputError(f"{field} must be positive", field=field)
    return weight


def check_not_future(day: date, field: str = "effective_on") -> date:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise InvalidInputError(f"{field} must be a date", field=field)
    if day > utc_today():
        raise InvalidInputError(f"{field} must not be in the future", field=field)
    return day


def check_reason(text: str, code: ReasonCode | str) -> Reason:
    reason_text = check_text(text, "reason", max_len=MAX_REASON)
    try:
        reason_code = ReasonCode(code)
    except ValueError:
        allowed = ", ".join(c.value for c in ReasonCode)
        raise InvalidInputError(
            f"reason_code must be one of: {allowed}", field="reason_code"
        ) from None
    return Reason(reason_text, reason_code)


def check_enum(enum: type[E], value: E | str, field: str) -> E:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise InvalidInputError(f"{field} must be one of: {allowed}", field=field) from None
