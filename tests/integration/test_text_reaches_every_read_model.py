"""Any text the domain accepts, in any field, is applied by every read model on PostgreSQL.

A NUL in a check-in note was accepted and stored; PostgreSQL text cannot hold NUL, so the
worker failed on that event every second and every read model stayed behind it. The
domain now refuses what a store cannot hold; this property holds the two together: what
is accepted reaches the head of every read model through the real worker.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.ledger import GoalLedger
from domain.errors import InvalidInputError
from domain.values import utc_today
from projections.registry import READ_MODELS, worker_for
from projections.worker import ProjectionWorker
from storage.views import ViewDatabase

pytestmark = pytest.mark.postgres

# Text that broke, or could break, a store or a read model: NUL and other controls, lone
# surrogates, invisible characters, quotes and backslashes for JSON and SQL, wide scripts.
TRICKY = [
    "a\u0000b",
    "\u0000",
    "tab\tand\nnewline",
    "\r\n",
    "\u001b[31mred",
    "\ud800",
    "\u200b\u200d",
    "\ufeffbom",
    "quote ' and \" and \\ backslash",
    "\\u0000 as text",
    "emoji \U0001f408 and \u54c8",
    "\u202eright-to-left",
    "x" * 300,
    "%s %(name)s {} $1",
    "\u2028line\u2029separators",
]
TEXT = st.one_of(st.sampled_from(TRICKY), st.text(max_size=30))


def _sends(ledger: GoalLedger, cycle: str) -> list[tuple[str, Callable[[str], object]]]:
    """Each text field of each command, with a way to send it one text."""
    objective = ledger.create_objective(
        actor="analyst", cycle_id=cycle, title="Text", owner="analyst", kind="committed"
    ).id
    key_result_fields = {
        "title": "Text",
        "unit": "",
        "measurement_source": "survey",
        "measurement_query": "q",
    }

    def key_result(**text: str) -> UUID:
        fields = key_result_fields | text
        return ledger.create_key_result(
            actor="analyst", objective_id=objective, owner="analyst", direction="increase",
            baseline="0", target="10", **fields,
        ).id  # fmt: skip

    kpi_fields = {
        "area": "Support",
        "name": "Reply time",
        "unit": "h",
        "formula": "median",
        "data_source": "desk",
    }

    def kpi(**text: str) -> UUID:
        fields = kpi_fields | text
        return ledger.define_kpi(
            actor="analyst", owner="analyst", cadence="weekly", direction="stay_below", target="2",
            **fields,
        ).id  # fmt: skip

    plain_key_result = key_result()
    plain_kpi = kpi()
    return [
        ("objective title", lambda t: ledger.create_objective(
            actor="analyst", cycle_id=cycle, title=t, owner="analyst", kind="committed"
        )),
        ("key result title", lambda t: key_result(title=t)),
        ("unit", lambda t: key_result(unit=t)),
        ("measurement source", lambda t: key_result(measurement_source=t)),
        ("measurement query", lambda t: key_result(measurement_query=t)),
        ("check-in note", lambda t: ledger.record_check_in(
            actor="analyst", key_result_id=plain_key_result, value="1", confidence="on_track",
            note=t,
        )),
        ("re-baseline reason", lambda t: ledger.rebaseline_key_result(
            actor="analyst", key_result_id=key_result(), baseline="0", target="8", reason=t,
            reason_code="other",
        )),
        ("KPI area", lambda t: kpi(area=t)),
        ("KPI name", lambda t: kpi(name=t)),
        ("KPI formula", lambda t: kpi(formula=t)),
        ("KPI data source", lambda t: kpi(data_source=t)),
        ("reading note", lambda t: ledger.record_kpi_reading(
            actor="analyst", kpi_id=plain_kpi, value="3", note=t
        )),
        ("retirement reason", lambda t: ledger.retire_kpi(
            actor="analyst", kpi_id=kpi(), reason=t, reason_code="other"
        )),
    ]  # fmt: skip


def _caught_up(worker: ProjectionWorker, views: ViewDatabase, ledger: GoalLedger) -> None:
    """The worker applies everything; every read model then stands at the log's head."""
    worker.run_until_caught_up()
    head = ledger.recorder.max_notification_id() or 0
    positions = {model.name: views.position(model.name) for model in READ_MODELS}
    assert positions == dict.fromkeys(positions, head), (head, positions)


def test_a_nul_note_is_refused_and_the_read_models_reach_the_head(pg_ledger: GoalLedger) -> None:
    ledger = pg_ledger
    worker = worker_for(ledger)
    worker.create_tables()
    views = ViewDatabase(ledger)
    today = utc_today()
    ledger.open_cycle(actor="ceo", key="now", starts_on=today - timedelta(days=30), ends_on=today)
    sends = dict(_sends(ledger, "now"))
    # The note that stalled every read model is refused, naming its field.
    with pytest.raises(InvalidInputError) as refused:
        sends["check-in note"]("a\u0000b")
    assert refused.value.field == "note"
    # The note it might have been is accepted, and reaches every read model.
    sends["check-in note"]("a b")
    _caught_up(worker, views, ledger)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TEXT)
def test_any_accepted_text_in_any_field_reaches_every_read_model(
    pg_ledger: GoalLedger, text: str
) -> None:
    ledger = pg_ledger
    if ledger.recorder.max_notification_id() is None:
        worker_for(ledger).create_tables()
        today = utc_today()
        ledger.open_cycle(
            actor="ceo", key="now", starts_on=today - timedelta(days=30), ends_on=today
        )
    worker = worker_for(ledger)
    views = ViewDatabase(ledger)
    sends = _sends(ledger, "now")
    accepted = 0
    for _, send in sends:
        try:
            send(text)
        except InvalidInputError:
            continue
        accepted += 1
    _caught_up(worker, views, ledger)
    # Some text is refused everywhere (a NUL), some only in short fields (a line break);
    # short, printable text that shows a letter or digit is accepted everywhere. (Text of
    # only combining marks or fillers prints nothing, and required fields refuse it.)
    shows_something = any(char.isascii() and char.isalnum() for char in text)
    if shows_something and text.isprintable() and len(text) <= 100:
        assert accepted == len(sends), text
