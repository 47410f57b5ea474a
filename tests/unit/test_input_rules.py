"""What the domain accepts is what every store and read model can hold: text, numbers, dates.

The rules live in the domain so every path (the API, the CSV import, the CLI) is covered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from domain.cycle import Cycle
from domain.errors import InvalidInputError
from domain.kpi import Kpi
from domain.objective import Objective
from domain.values import (
    EARLIEST_DATE,
    LATEST_DATE,
    check_decimal,
    check_identifier,
    check_reason,
    check_text,
    plain,
)
from tests.unit.test_goals import Q3_START, a_cycle, a_key_result, an_objective

CONTROL = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\r"]
INVISIBLE = ["\u200b", "\u200b\u200d", "\ufeff", "\u3164", " \u2800 ", "\u00a0\u2002"]


@pytest.mark.parametrize("char", CONTROL)
def test_control_characters_are_refused_naming_the_field(char: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_text(f"a{char}b", "title", max_len=200)
    assert refused.value.field == "title"
    assert f"U+{ord(char):04X}" in refused.value.message


def test_line_breaks_and_tabs_only_in_long_form_text() -> None:
    assert check_text("one\n\ttwo", "note", max_len=200, multiline=True) == "one\n\ttwo"
    for char in ("\n", "\t"):
        with pytest.raises(InvalidInputError):
            check_text(f"a{char}b", "title", max_len=200)
    # NUL is refused even where line breaks are welcome.
    with pytest.raises(InvalidInputError):
        check_text("a\x00b", "note", max_len=200, multiline=True)
    assert check_reason("moved\nto Q4", "other").text == "moved\nto Q4"


def test_lone_surrogates_are_refused() -> None:
    # UTF-8 cannot encode them, so no store could hold them.
    with pytest.raises(InvalidInputError):
        check_text("a\ud800b", "note", max_len=200, multiline=True)


@pytest.mark.parametrize("text", INVISIBLE)
def test_required_text_must_show_something(text: str) -> None:
    with pytest.raises(InvalidInputError, match="empty or invisible"):
        check_text(text, "title", max_len=200)
    # Where text is optional, invisible text is still not a control character.
    assert check_text("a" + text + "b", "title", max_len=200)


def test_identifiers_refuse_a_trailing_newline() -> None:
    assert check_identifier("head-of-cs", "owner") == "head-of-cs"
    for bad in ("head-of-cs\n", "analyst\x00", "\u0663\u0662", ""):
        with pytest.raises(InvalidInputError):
            check_identifier(bad, "owner")


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("41", "41"),
        ("2.40", "2.4"),
        ("1e2", "100"),
        ("1E+3", "1000"),
        ("-0", "0"),
        ("0.000", "0"),
        ("62.123456789012345678901", "62.123456789012345678901"),
        (Decimal("1E+2"), "100"),
        (Decimal("0.0000001"), "0.0000001"),
        (7, "7"),
        (" 2.5 ", "2.5"),
    ],
)
def test_decimals_take_one_plain_form(given: str | Decimal | int, canonical: str) -> None:
    value = check_decimal(given, "value")
    assert plain(value) == canonical
    assert value == Decimal(canonical)


@pytest.mark.parametrize(
    "given",
    ["\u0662\u0663", "1_000", "\uff11", "1,5", "0x10", "NaN", "Infinity", "", "1e99999", 2.5, True],
)
def test_decimals_are_ascii_digits_and_never_floats(given: object) -> None:
    with pytest.raises(InvalidInputError) as refused:
        check_decimal(given, "value")  # type: ignore[arg-type]
    assert refused.value.field == "value"


def test_decimals_have_bounded_magnitude_and_digits() -> None:
    assert check_decimal("1" + "0" * 15, "value") == Decimal(10) ** 15
    with pytest.raises(InvalidInputError, match="out of range"):
        check_decimal("1" + "0" * 16, "value")
    # Trailing zeros are not significant digits.
    assert check_decimal("1." + "0" * 40, "value") == 1
    with pytest.raises(InvalidInputError, match="significant digits"):
        check_decimal("1." + "1" * 28, "value")


def test_dates_outside_the_documented_range_are_refused() -> None:
    for starts_on, ends_on, field in (
        (date(1, 1, 1), date(1, 3, 31), "starts_on"),
        (date(9999, 10, 1), date(9999, 12, 31), "starts_on"),
        (date(2199, 10, 1), date(2200, 1, 31), "ends_on"),
    ):
        with pytest.raises(InvalidInputError) as refused:
            Cycle.open(actor="ceo", key="far", starts_on=starts_on, ends_on=ends_on)
        assert refused.value.field == field
    assert Cycle.open(actor="ceo", key="first", starts_on=EARLIEST_DATE, ends_on=date(1970, 3, 31))
    assert Cycle.open(actor="ceo", key="last", starts_on=date(2199, 10, 1), ends_on=LATEST_DATE)


def _every_text_field() -> list[tuple[str, Callable[[str], object]]]:
    """Each text field a command takes, with a way to send it one value."""
    cycle = a_cycle()
    objective = an_objective(cycle)

    def key_result(**fields: str) -> object:
        return a_key_result(cycle, objective, **fields)

    def kpi(**fields: str) -> object:
        definition = {
            "area": "Support",
            "name": "First response",
            "owner": "analyst",
            "unit": "hours",
            "formula": "median",
            "data_source": "helpdesk",
        } | fields
        return Kpi.define(
            actor="analyst",
            cadence="weekly",
            direction="stay_below",
            target="2",
            target_set_on=Q3_START,
            **definition,  # type: ignore[arg-type]
        )

    def check_in(note: str) -> object:
        return key_result().record_check_in(
            actor="analyst", cycle=cycle, value="3", confidence="on_track", note=note,
            effective_on=Q3_START,
        )  # fmt: skip

    return [
        ("title", lambda t: Objective.create(
            actor="ceo", cycle=cycle, title=t, owner="ceo", kind="committed"
        )),
        ("title", lambda t: key_result(title=t)),
        ("unit", lambda t: key_result(unit=t)),
        ("measurement.source", lambda t: key_result(measurement_source=t)),
        ("measurement.query", lambda t: key_result(measurement_query=t)),
        ("note", check_in),
        ("reason", lambda t: check_reason(t, "other")),
        ("area", lambda t: kpi(area=t)),
        ("name", lambda t: kpi(name=t)),
        ("unit", lambda t: kpi(unit=t)),
        ("formula", lambda t: kpi(formula=t)),
        ("data_source", lambda t: kpi(data_source=t)),
    ]  # fmt: skip


@pytest.mark.parametrize(("field", "send"), _every_text_field())
def test_every_text_field_refuses_nul(field: str, send: Callable[[str], object]) -> None:
    with pytest.raises(InvalidInputError) as refused:
        send("a\x00b")
    assert refused.value.field == field
