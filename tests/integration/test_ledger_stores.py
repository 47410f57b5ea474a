"""The goal ledger on real stores: each story runs once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.utils import clear_topic_cache, get_topic, register_topic
from psycopg import sql

from application.ledger import GoalLedger, Saved
from application.stores import init_store, open_ledger
from domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    CycleClosedError,
    DomainError,
    GoalRetiredError,
    InvalidInputError,
    NotFoundError,
    StaleVersionError,
)
from domain.key_result import KeyResult
from domain.scoring import rounded
from domain.values import utc_now, utc_today
from storage.settings import StoreUrlError, store_env
from tests.conftest import pg_admin, pg_url_for
from tests.integration.conftest import RawHistory

RACES = 20


def days_ago(days: int) -> date:
    return utc_today() - timedelta(days=days)


@dataclass(frozen=True)
class Quarter:
    cycle: str
    starts_on: date
    ends_on: date
    objective_id: UUID
    nps_id: UUID


def plan_quarter(ledger: GoalLedger) -> Quarter:
    """A quarter sixty days in, one objective, one key result: NPS from 32 to 50."""
    starts_on, ends_on = days_ago(60), utc_today() + timedelta(days=30)
    ledger.open_cycle(actor="cfo", key="this-quarter", starts_on=starts_on, ends_on=ends_on)
    objective = ledger.create_objective(
        actor="marketer",
        cycle_id="this-quarter",
        title="Customers love our support",
        owner="support-team",
        kind="committed",
    )
    nps = ledger.create_key_result(
        actor="marketer",
        objective_id=objective.id,
        title="NPS",
        owner="marketer",
        unit="points",
        direction="increase",
        baseline=32,
        target=50,
        measurement_source="survey-tool",
        measurement_query="nps(last_30_days)",
        effective_on=starts_on,
    )
    return Quarter("this-quarter", starts_on, ends_on, objective.id, nps.id)


def check_in(
    ledger: GoalLedger,
    key_result_id: UUID,
    value: Decimal | int | str,
    effective_on: date,
    **kwargs: Any,
) -> Saved:
    return ledger.record_check_in(
        actor="marketer",
        key_result_id=key_result_id,
        value=value,
        confidence="on_track",
        note="next: call the detractors",
        effective_on=effective_on,
        **kwargs,
    )


@contextmanager
def refused(ledger: GoalLedger, error: type[DomainError]) -> Iterator[None]:
    """The command fails with `error` and the notification log does not move."""
    position = ledger.recorder.max_notification_id()
    with pytest.raises(error):
        yield
    assert ledger.recorder.max_notification_id() == position


def test_a_quarters_scores_read_back_the_same_after_a_restart(store_url: str) -> None:
    ledger = open_ledger(store_url, create_tables=True)
    try:
        # Open the quarter with the support team's objective and its NPS key result.
        quarter = plan_quarter(ledger)

        # A second key result, twice the weight: churn down from 3.1 % to 2.0 %.
        churn = ledger.create_key_result(
            actor="marketer",
            objective_id=quarter.objective_id,
            title="Churn",
            owner="planner",
            unit="%",
            direction="decrease",
            baseline="3.1",
            target="2.0",
            weight=2,
            measurement_source="billing",
            measurement_query="monthly_churn()",
            effective_on=quarter.starts_on,
        )

        # Fortnightly check-ins: NPS 36 then 41, churn 2.8 then 2.4.
        check_in(ledger, quarter.nps_id, 36, days_ago(30))
        check_in(ledger, churn.id, "2.8", days_ago(30))
        check_in(ledger, quarter.nps_id, 41, days_ago(10))
        check_in(ledger, churn.id, "2.4", days_ago(10))

        # The spec's own examples: NPS at 41 scores 0.5, churn at 2.4 scores 0.636.
        today = utc_today()
        before = ledger.objective_status(quarter.objective_id, as_of=today)
        scores = {line.title: line.status.score for line in before.key_results}
        assert scores["NPS"] == Decimal("0.5")
        assert rounded(scores["Churn"]) == Decimal("0.6364")

        # The objective is their weighted mean, exactly: (0.5 * 1 + 0.636... * 2) / 3.
        assert before.score is not None
        assert rounded(before.score) == Decimal("0.5909")
        scoreboard = ledger.cycle_scoreboard(quarter.cycle, as_of=today)
        position = ledger.recorder.max_notification_id()
    finally:
        ledger.close()

    # Restart: a new ledger on the same URL, as the next process would open it.
    reopened = open_ledger(store_url)
    try:
        # Every score, version and record time reads back identical.
        assert reopened.objective_status(quarter.objective_id, as_of=today) == before
        assert reopened.cycle_scoreboard(quarter.cycle, as_of=today) == scoreboard
        assert reopened.recorder.max_notification_id() == position
    finally:
        reopened.close()


def test_bitemporal_reads_answer_as_of_a_date_and_known_at_a_time(ledger: GoalLedger) -> None:
    # Nothing is known before the quarter is planned.
    before_anything = utc_now()
    quarter = plan_quarter(ledger)
    cycle = ledger.get_cycle(quarter.cycle)

    def value(as_of: date, known_at: datetime | None = None) -> Decimal:
        key_result = ledger.get_key_result(quarter.nps_id, known_at=known_at)
        return key_result.status(cycle, as_of).value

    # Week one, twenty days ago: NPS 36.
    check_in(ledger, quarter.nps_id, 36, days_ago(20))
    after_week_one = utc_now()

    # Ten days ago: NPS 41.
    week_two = check_in(ledger, quarter.nps_id, 41, days_ago(10))
    after_week_two = utc_now()

    # The survey export double-counted detractors: week two is corrected to 44.
    assert week_two.check_in_id is not None
    ledger.correct_check_in(
        actor="marketer",
        key_result_id=quarter.nps_id,
        check_in_id=week_two.check_in_id,
        value=44,
        reason="survey export double-counted detractors",
        reason_code="data_error",
    )
    after_correction = utc_now()

    # A late report, backdated to fifteen days ago: NPS 38.
    check_in(ledger, quarter.nps_id, 38, days_ago(15))

    # As of a date, with all we know now: the latest check-in effective on or before it.
    assert value(days_ago(21)) == 32  # no check-in yet: the baseline
    assert value(days_ago(20)) == 36
    assert value(days_ago(15)) == 38
    assert value(days_ago(10)) == 44

    # Known at a time, as of today: what we knew then.
    today = utc_today()
    assert value(today, known_at=after_week_one) == 36
    assert value(today, known_at=after_week_two) == 41
    assert value(today, known_at=after_correction) == 44

    # Both together: fifteen days ago, as known before the late report arrived.
    assert value(days_ago(15), known_at=after_correction) == 36

    # The correction recorded later does not rewrite what was known before it...
    known_then = ledger.get_key_result(quarter.nps_id, known_at=after_week_two)
    status_then = known_then.status(cycle, today)
    assert status_then.score == Decimal("0.5")
    assert status_then.last_check_in is not None
    assert status_then.last_check_in.corrections == ()

    # ...and every read after it shows the corrected value, with who, why and the original.
    status_now = ledger.get_key_result(quarter.nps_id).status(cycle, days_ago(10))
    assert status_now.last_check_in is not None
    assert status_now.last_check_in.original_value == 41
    (correction,) = status_now.last_check_in.corrections
    assert (correction.value, correction.actor) == (44, "marketer")
    assert correction.reason == "survey export double-counted detractors"

    # The objective's view agrees, with as_of and known_at together.
    objective_then = ledger.objective_status(
        quarter.objective_id, as_of=days_ago(10), known_at=after_week_two
    )
    assert [line.status.value for line in objective_then.key_results] == [41]

    # The same instant written in another time zone is the same instant.
    in_kolkata = after_week_two.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert value(today, known_at=in_kolkata) == 41

    # Before the key result was recorded there is nothing to know.
    with pytest.raises(NotFoundError):
        ledger.get_key_result(quarter.nps_id, known_at=before_anything)


def _waiting_at(barrier: threading.Barrier, save: Callable[..., Any]) -> Callable[..., Any]:
    """Hold each save until the other process has loaded the goal too."""

    def save_together(*args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return save(*args, **kwargs)

    return save_together


def test_two_processes_racing_on_one_key_result_store_exactly_one_check_in(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two ledgers with two connection pools, like two API processes, on real threads."""
    # API process A plans the quarter; process B opens the same store.
    process_a = open_ledger(store_url, create_tables=True)
    process_b = open_ledger(store_url)
    try:
        quarter = plan_quarter(process_a)

        # Each process loads the goal, then waits at the barrier, then both save at once.
        barrier = threading.Barrier(2, timeout=10)
        for process in (process_a, process_b):
            monkeypatch.setattr(process, "save", _waiting_at(barrier, process.save))

        def race(process: GoalLedger, value: int, version: int) -> Saved | Exception:
            try:
                return check_in(
                    process, quarter.nps_id, value, utc_today(), expected_version=version
                )
            except Exception as e:  # every outcome is judged below, in the main thread
                return e

        stored: list[UUID] = []
        with ThreadPoolExecutor(max_workers=2) as threads:
            for attempt in range(RACES):
                version = process_a.get_key_result(quarter.nps_id).version
                position = process_a.recorder.max_notification_id()
                assert position is not None

                # Both submit a check-in against the same version at the same moment.
                outcomes = [
                    f.result()
                    for f in [
                        threads.submit(race, process_a, 40 + attempt, version),
                        threads.submit(race, process_b, 60 + attempt, version),
                    ]
                ]

                # Whatever the answers, the log grew by the winner's event alone (PostgreSQL
                # may skip a position for the loser's insert: the feed is gap-aware).
                winners = [o for o in outcomes if isinstance(o, Saved)]
                assert len(winners) <= 1, outcomes
                added = process_b.recorder.select_notifications(
                    start=position, limit=10, inclusive_of_start=False
                )
                assert [(n.originator_id, n.originator_version) for n in added] == [
                    (quarter.nps_id, version + 1) for _ in winners
                ]

                # Exactly one wins; the other is told of the conflict, not of a stale form.
                losers = [o for o in outcomes if not isinstance(o, Saved)]
                assert len(winners) == 1, outcomes
                assert [type(o) for o in losers] == [ConcurrencyError], outcomes
                assert winners[0].version == version + 1
                assert winners[0].check_in_id is not None
                stored.append(winners[0].check_in_id)

        # Both processes read the same history: the twenty winners, in order, nothing else.
        for process in (process_a, process_b):
            key_result = process.get_key_result(quarter.nps_id)
            assert [c.id for c in key_result.check_ins] == stored
            assert key_result.version == 1 + RACES
            assert len(list(process.events.get(quarter.nps_id))) == 1 + RACES
    finally:
        process_a.close()
        process_b.close()


def test_a_stale_version_is_refused_and_names_the_current_one(ledger: GoalLedger) -> None:
    quarter = plan_quarter(ledger)

    # A manager opens the key result's form at version 1.
    form_version = ledger.get_key_result(quarter.nps_id).version
    assert form_version == 1

    # Meanwhile its owner checks in.
    check_in(ledger, quarter.nps_id, 41, days_ago(1), expected_version=form_version)

    # The manager's submission is refused, telling the version to reload...
    with refused(ledger, StaleVersionError):
        try:
            check_in(ledger, quarter.nps_id, 45, days_ago(1), expected_version=form_version)
        except StaleVersionError as e:
            assert e.current_version == 2
            raise

    # ...and nothing of it was kept.
    assert [c.value for c in ledger.get_key_result(quarter.nps_id).check_ins] == [41]


def test_history_cannot_be_updated_deleted_or_truncated_in_the_database(
    ledger: GoalLedger, raw_history: RawHistory
) -> None:
    # Some history: a quarter planned, two check-ins, one corrected.
    quarter = plan_quarter(ledger)
    check_in(ledger, quarter.nps_id, 36, days_ago(20))
    week_two = check_in(ledger, quarter.nps_id, 41, days_ago(10))
    assert week_two.check_in_id is not None
    ledger.correct_check_in(
        actor="marketer",
        key_result_id=quarter.nps_id,
        check_in_id=week_two.check_in_id,
        value=44,
        reason="survey export double-counted detractors",
        reason_code="data_error",
    )
    tables = (raw_history.events_table, raw_history.times_table)
    before = {table: raw_history.rows(table) for table in tables}

    # Every event's record time is indexed beside it.
    events, times = (before[table] for table in tables)
    assert len(events) == len(times) == ledger.recorder.max_notification_id() == 8

    # Someone with the app's own database login tries to rewrite or erase it, table by table.
    attempts = [raw_history.update, raw_history.delete]
    if raw_history.store == "postgres":
        attempts.append(raw_history.truncate)
    for table in tables:
        for attempt in attempts:
            error = attempt(table)
            # The database itself refuses, naming the rule.
            assert error is not None, f"{attempt.__name__} on {table} was allowed"
            assert "append-only" in str(error), error

    # Afterwards every row is byte for byte what it was, none missing, none added.
    for table in tables:
        assert raw_history.rows(table) == before[table]

    # And the ledger reads the same history it wrote.
    assert ledger.get_key_result(quarter.nps_id).status(
        ledger.get_cycle(quarter.cycle), utc_today()
    ).value == Decimal(44)


def test_an_event_stored_under_an_older_schema_reads_after_the_schema_changes(
    ledger: GoalLedger,
) -> None:
    """Upcasting through the library's own mapper, on the real stored bytes.

    The check-in is stored by today's class (class version 1, so no version in its
    state). The next release is simulated by a class with one more field, class
    version 2 and `upcast_v1_v2`, to which the stored topic is made to resolve, as
    `register_topic` does for moved classes. This reads the real row back through
    the application's event store (`Mapper.to_domain_event`, which runs the upcast
    chain from the stored version to the class's), so it exercises exactly what the
    next release will do, with no hand-written rows to drift from the real encoding.
    """
    quarter = plan_quarter(ledger)

    # Today's release records a check-in: class version 1, nothing versioned in the state.
    saved = check_in(ledger, quarter.nps_id, 41, days_ago(3))
    old_topic = get_topic(KeyResult.CheckInRecorded)
    stored = ledger.recorder.select_events(quarter.nps_id, desc=True, limit=1)[0]
    assert stored.topic == old_topic
    assert b"class_version" not in stored.state
    before = ledger.get_key_result(quarter.nps_id)

    # The next release records where each value came from; old check-ins were typed in.
    class CheckInRecordedV2(KeyResult.CheckInRecorded):
        class_version = 2
        source: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["source"] = "manual"

    # Deploy it: the stored topic now resolves to the new class.
    clear_topic_cache()
    register_topic(old_topic, CheckInRecordedV2)
    try:
        # The old event reads back as the new class, upcast, its old fields intact.
        event = list(ledger.events.get(quarter.nps_id))[-1]
        assert isinstance(event, CheckInRecordedV2)
        assert event.source == "manual"
        assert event.check_in_id == saved.check_in_id
        assert (event.value, event.effective_on) == (Decimal(41), days_ago(3))
        assert (event.actor, event.note) == ("marketer", "next: call the detractors")
        assert event.originator_version == saved.version

        # The key result replays through the new class to exactly the same state.
        after = ledger.get_key_result(quarter.nps_id)
        assert after.check_ins == before.check_ins
        assert after.version == before.version

        # Events the new release writes carry their version, so they are not upcast again.
        restored = ledger.mapper.to_stored_event(event)
        assert b'"class_version":2' in restored.state.replace(b" ", b"")
        reread = ledger.mapper.to_domain_event(restored)
        assert isinstance(reread, CheckInRecordedV2)
        assert reread.source == "manual"
    finally:
        # Roll the release back for the tests that follow.
        clear_topic_cache()
    assert type(list(ledger.events.get(quarter.nps_id))[-1]) is KeyResult.CheckInRecorded


def test_refused_commands_store_nothing_and_a_closed_cycle_takes_only_corrections(
    ledger: GoalLedger,
) -> None:
    quarter = plan_quarter(ledger)
    week_one = check_in(ledger, quarter.nps_id, 36, days_ago(20))
    assert week_one.check_in_id is not None

    # A check-in about tomorrow is refused: values are never in the future.
    with refused(ledger, InvalidInputError):
        check_in(ledger, quarter.nps_id, 40, utc_today() + timedelta(days=1))

    # So is one dated before the quarter began, and a float value that would round.
    with refused(ledger, InvalidInputError):
        check_in(ledger, quarter.nps_id, 40, quarter.starts_on - timedelta(days=1))
    with refused(ledger, InvalidInputError):
        check_in(ledger, quarter.nps_id, 40.1, days_ago(1))  # type: ignore[arg-type]

    # A change of plan without a reason is refused.
    with refused(ledger, InvalidInputError):
        ledger.rebaseline_key_result(
            actor="marketer",
            key_result_id=quarter.nps_id,
            baseline=30,
            target=45,
            reason="   ",
            reason_code="priorities_changed",
        )

    # Opening the same quarter twice is refused.
    with refused(ledger, AlreadyExistsError):
        ledger.open_cycle(
            actor="cfo", key=quarter.cycle, starts_on=quarter.starts_on, ends_on=quarter.ends_on
        )

    # A second key result is retired with a reason; it takes no more check-ins.
    retired = ledger.create_key_result(
        actor="marketer",
        objective_id=quarter.objective_id,
        title="Tickets closed",
        owner="planner",
        unit="tickets",
        direction="increase",
        baseline=0,
        target=500,
        measurement_source="helpdesk",
        measurement_query="closed()",
        effective_on=quarter.starts_on,
    )
    ledger.retire_key_result(
        actor="marketer",
        key_result_id=retired.id,
        reason="rewards closing over solving",
        reason_code="wrong_metric",
        effective_on=days_ago(5),
    )
    with refused(ledger, GoalRetiredError):
        check_in(ledger, retired.id, 120, days_ago(1))

    # The CFO closes the quarter: its grades freeze.
    ledger.close_cycle(actor="cfo", key=quarter.cycle)
    with refused(ledger, CycleClosedError):
        check_in(ledger, quarter.nps_id, 45, days_ago(1))
    with refused(ledger, CycleClosedError):
        ledger.rebaseline_key_result(
            actor="marketer",
            key_result_id=quarter.nps_id,
            baseline=32,
            target=45,
            reason="target was too ambitious",
            reason_code="priorities_changed",
        )
    with refused(ledger, CycleClosedError):
        ledger.create_objective(
            actor="marketer",
            cycle_id=quarter.cycle,
            title="Late objective",
            owner="marketer",
            kind="aspirational",
        )

    # A correction with a reason is still accepted after the close: one event, no more.
    position = ledger.recorder.max_notification_id()
    assert position is not None
    corrected = ledger.correct_check_in(
        actor="marketer",
        key_result_id=quarter.nps_id,
        check_in_id=week_one.check_in_id,
        value=37,
        reason="late survey responses",
        reason_code="data_error",
    )
    assert corrected.positions == (position + 1,)
    assert ledger.recorder.max_notification_id() == position + 1

    # Every refusal left the key result as it was: created, one check-in, one correction.
    key_result = ledger.get_key_result(quarter.nps_id)
    assert key_result.version == 3
    assert [c.value for c in key_result.check_ins] == [37]


def test_the_store_is_initialised_once_and_opened_without_ddl(store_url: str) -> None:
    # The operator initialises the store; running it again (the next deploy) is harmless.
    init_store(store_url)
    init_store(store_url)

    # An API process opens it without creating anything, and records history.
    ledger = open_ledger(store_url)
    try:
        quarter = plan_quarter(ledger)
        check_in(ledger, quarter.nps_id, 41, days_ago(1))
    finally:
        ledger.close()

    # Initialising again with history present keeps it, and keeps it append-only.
    init_store(store_url)
    reopened = open_ledger(store_url)
    try:
        key_result = reopened.get_key_result(quarter.nps_id)
        assert [c.value for c in key_result.check_ins] == [41]
        assert reopened.recorder.max_notification_id() == 6
    finally:
        reopened.close()


def _objects(dbname: str) -> set[tuple[str, str, str]]:
    """(schema, kind, name) of every table, index, sequence, type, function and trigger."""
    query = """
        SELECT n.nspname, c.relkind::text, c.relname
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        UNION ALL
        SELECT n.nspname, 'function', p.proname
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        UNION ALL
        SELECT n.nspname, 'trigger', c.relname || ':' || t.tgname
          FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE NOT t.tgisinternal
    """
    with pg_admin(dbname) as conn:
        rows = conn.execute(query).fetchall()
    return {
        (str(schema), str(kind), str(name))
        for schema, kind, name in rows
        if schema not in ("pg_catalog", "information_schema") and schema != "pg_toast"
    }


@pytest.mark.postgres
def test_postgres_keeps_every_table_type_and_function_in_the_ledgers_schema(
    pg_database: str, pg_schema: str, pg_url: str
) -> None:
    # What the database holds before the ledger creates its store.
    before = _objects(pg_database)

    # The ledger creates its store in the schema the URL names, and records some history.
    ledger = open_ledger(pg_url, create_tables=True)
    try:
        plan_quarter(ledger)
    finally:
        ledger.close()

    # The library's tables, type and function, and Goalpost's tables and triggers, live there.
    created = _objects(pg_database) - before
    assert {
        ("r", "goalpost_events"),
        ("r", "goalpost_events_times"),
        ("i", "goalpost_events_notification_id_idx"),
        ("S", "goalpost_events_notification_id_seq"),
        ("c", "stored_event_uuid"),
        ("function", "es_insert_events_uuid"),
        ("function", "goalpost_refuse_change"),
    } <= {(kind, name) for _, kind, name in created}
    guarded = [name.split(":")[0] for _, kind, name in created if kind == "trigger"]
    assert sorted(set(guarded)) == [
        "goalpost_events",
        "goalpost_events_demo",
        "goalpost_events_times",
    ]

    # Nothing was created anywhere else (toast tables aside, which PostgreSQL owns).
    assert {schema for schema, _, _ in created} <= {pg_schema, "pg_toast"}

    # A second schema in the same database is a separate, empty store.
    other = f"{pg_schema}_other"
    with pg_admin(pg_database) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(other)))
    try:
        neighbour = open_ledger(pg_url_for(pg_database, other), create_tables=True)
        try:
            assert neighbour.recorder.max_notification_id() is None
            assert neighbour.cycle_keys() == []
        finally:
            neighbour.close()
    finally:
        with pg_admin(pg_database) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(other)))


@pytest.mark.postgres
@pytest.mark.parametrize(
    "setting", ["POSTGRES_ENABLE_DB_FUNCTIONS", "GOALPOST_POSTGRES_ENABLE_DB_FUNCTIONS"]
)
def test_known_at_still_works_when_the_operator_enables_the_librarys_db_functions(
    pg_url: str, setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library reads its settings from the process environment, plain or app-prefixed.

    Its db-functions insert path would skip Goalpost's record times.
    """
    # The operator switches on the library's documented PostgreSQL insert functions.
    monkeypatch.setenv(setting, "y")
    ledger = open_ledger(pg_url, create_tables=True)
    try:
        # A quarter is planned as usual.
        quarter = plan_quarter(ledger)

        # What is known a moment later includes the key result just created.
        assert ledger.get_key_result(quarter.nps_id, known_at=utc_now()).version == 1
    finally:
        ledger.close()


@pytest.mark.postgres
def test_a_schema_named_with_capitals_works_or_is_refused_when_the_url_is_read(
    pg_database: str,
) -> None:
    """Either answer is fine; failing at the first write, after the URL was accepted, is not."""
    # The DBA created a schema with capitals in its name, and the URL names it.
    schema = f"Reporting_{uuid4().hex[:8]}"
    with pg_admin(pg_database) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        url = pg_url_for(pg_database, schema)

        # Refused when the URL is read, with a message naming the setting: fine.
        try:
            store_env(url, create_tables=True)
        except StoreUrlError:
            return

        # Accepted: then the store must work.
        ledger = open_ledger(url, create_tables=True)
        try:
            quarter = plan_quarter(ledger)
            assert ledger.get_key_result(quarter.nps_id).version == 1
        finally:
            ledger.close()
    finally:
        with pg_admin(pg_database) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
