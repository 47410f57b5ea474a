"""Value types and the checks every command shares."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation, localcontext
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
    CARRIED_FORWARD = "carried_forward"
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


# While set, the time every event is stamped with and every "today" is taken from. Only
# the demo sets it, to tell its story with the record times it would have had live; only a
# store marked as a demo store accepts such times (ADR 44).
_story_time: ContextVar[datetime | None] = ContextVar("story_time", default=None)


def utc_now() -> datetime:
    story = _story_time.get()
    return story if story is not None else datetime.now(tz=UTC)


@contextmanager
def story_time(moment: datetime) -> Iterator[None]:
    """Stamp what is recorded inside the block at `moment` (a demo store's story only)."""
    if moment.tzinfo is None:
        raise ValueError("a story time must be aware (UTC)")
    token = _story_time.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _story_time.reset(token)


def utc_today() -> date:
    return utc_now().date()


# Every date the domain accepts lies in this range, so each store, read model and date
# arithmetic (a month after, a cycle's length) can hold it (ADR 26).
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2199, 12, 31)

# Characters that print nothing: text made only of these says nothing to a reader.
# Format characters (zero-width space and joiners, BOM) are `Cf`; the rest are fillers
# that Unicode classes as letters or symbols but that render blank.
_BLANK_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Zs", "Zl", "Zp", "Mn", "Me"})
# Line breaks and tabs are kept only in long-form text (notes, reasons, queries).
_MULTILINE_CONTROLS = frozenset("\n\t")


def _is_invisible(char: str) -> bool:
    return (
        char.isspace()
        or char in _BLANK_FILLERS
        or unicodedata.category(char) in _INVISIBLE_CATEGORIES
    )


def check_text(
    value: str, field: str, *, max_len: int, required: bool = True, multiline: bool = False
) -> str:
    """Printable text: no control characters (NUL included), no lone surrogates.

    Every store and read model must hold what the domain accepts; PostgreSQL text cannot
    hold NUL and UTF-8 cannot encode a lone surrogate, so both are refused here, once, for
    every path (API, CSV import, CLI).
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a string", field=field)
    allowed = _MULTILINE_CONTROLS if multiline else frozenset()
    for char in value:
        category = unicodedata.category(char)
        if (category == "Cc" and char not in allowed) or category == "Cs":
            kept = " (line breaks and tabs are allowed)" if multiline else ""
            raise InvalidInputError(
                f"{field} must not contain control characters such as U+{ord(char):04X}{kept}",
                field=field,
            )
    text = value.strip()
    if required and all(_is_invisible(char) for char in text):
        raise InvalidInputError(f"{field} must not be empty or invisible", field=field)
    if len(text) > max_len:
        raise InvalidInputError(f"{field} must be at most {max_len} characters", field=field)
    return text


_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,119}")


def check_identifier(value: str, field: str) -> str:
    """People, teams and cycle keys are opaque slugs: safe in URLs, CSV and logs."""
    # fullmatch: `$` would also match before a trailing newline.
    if not isinstance(value, str) or not _IDENT.fullmatch(value):
        raise InvalidInputError(
            f"{field} must be 1-120 letters, digits or . _ @ -, starting with a letter or digit",
            field=field,
        )
    return value


# ASCII digits only: Python's Decimal would also read "٢٣" as 23 and "1_000" as 1000.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")
MAX_DIGITS = 28
MAX_MAGNITUDE = 15


def canonical_decimal(number: Decimal) -> Decimal:
    """One form per value: no trailing zeros, no exponent (2.40 -> 2.4, 1E+2 -> 100)."""
    with localcontext() as context:
        # Exact: enough precision for every digit the number has, and for its exponent.
        context.prec = len(number.as_tuple().digits) + abs(number.adjusted()) + 2
        plain = number.normalize()
        if plain.as_tuple().exponent > 0:  # type: ignore[operator]
            plain = plain.quantize(Decimal(1))
        # -0 is 0: equal values are stored alike.
        return plain + 0 if plain.is_zero() else plain


def plain(number: Decimal) -> str:
    """A decimal as text without exponent notation, whatever form it was stored in."""
    return format(canonical_decimal(number), "f")


def check_decimal(value: Decimal | int | str, field: str) -> Decimal:
    """Metric values are finite decimals; floats are refused to keep scores exact.

    Text must be a plain or scientific decimal in ASCII digits. The result is canonical,
    so "2.40", "2.4" and 2.4 store and read back alike.
    """
    if isinstance(value, bool | float):
        raise InvalidInputError(
            f"{field} must be a decimal string or an integer, not a float", field=field
        )
    if isinstance(value, str):
        # Spaces around a number (a padded CSV cell) are not part of it.
        value = value.strip(" ")
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value):
        raise InvalidInputError(
            f"{field} must be a decimal number in ASCII digits, such as 41 or 2.4", field=field
        )
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidInputError(f"{field} must be a decimal number", field=field) from None
    if not number.is_finite():
        raise InvalidInputError(f"{field} must be finite", field=field)
    if number.is_zero():
        return canonical_decimal(number)
    if abs(number.adjusted()) > MAX_MAGNITUDE:
        raise InvalidInputError(f"{field} is out of range", field=field)
    canonical = canonical_decimal(number)
    if len(canonical.as_tuple().digits) > MAX_DIGITS:
        raise InvalidInputError(
            f"{field} has more than {MAX_DIGITS} significant digits", field=field
        )
    return canonical


def check_unit_interval(value: Decimal, field: str) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise InvalidInputError(f"{field} must be between 0 and 1", field=field)
    return value


def check_weight(value: Decimal | int | str, field: str = "weight") -> Decimal:
    weight = check_decimal(value, field)
    if weight <= 0:
        raise InvalidInputError(f"{field} must be positive", field=field)
    return weight


def check_date(day: date, field: str) -> date:
    """A date in the range every store and read model can hold (EARLIEST_DATE..LATEST_DATE)."""
    if not isinstance(day, date) or isinstance(day, datetime):
        raise InvalidInputError(f"{field} must be a date", field=field)
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise InvalidInputError(
            f"{field} must lie between {EARLIEST_DATE} and {LATEST_DATE}", field=field
        )
    return day


def check_not_future(day: date, field: str = "effective_on") -> date:
    check_date(day, field)
    if day > utc_today():
        raise InvalidInputError(f"{field} must not be in the future", field=field)
    return day


def check_reason(text: str, code: ReasonCode | str) -> Reason:
    reason_text = check_text(text, "reason", max_len=MAX_REASON, multiline=True)
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
