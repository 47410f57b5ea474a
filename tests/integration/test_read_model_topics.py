"""A read model that reads only some goals' events is given only those, decoded (ADR 52).

The history is test_rebuild's (the demo quarter, with its KPIs and readings, and a
quarter of imported check-ins); its read models are kept by the worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest
from eventsourcing.utils import clear_topic_cache, get_topic, register_topic, resolve_topic

from application.ledger import GoalLedger
from domain.key_result import KeyResult
from domain.kpi import Kpi
from projections.audit_trail import AuditTrail
from projections.kpi_health import KpiHealth
from projections.rebuild import Rebuild
from storage.views import ViewDatabase
from tests.integration import test_rebuild
from tests.integration.test_rebuild import snapshot

projected = test_rebuild.projected


def kpi_events(ledger: GoalLedger) -> tuple[int, int]:
    """The log's KPI events, and all its events."""
    kpis = total = 0
    position = 0
    while page := ledger.recorder.select_notifications(
        start=position, limit=500, inclusive_of_start=False
    ):
        total += len(page)
        kpis += sum(issubclass(resolve_topic(n.topic), Kpi.Event) for n in page)
        position = page[-1].id
    return kpis, total


def test_a_kpi_health_rebuild_decodes_kpi_events_only_and_builds_the_same_rows(
    projected: GoalLedger,
) -> None:
    ledger = projected
    views = ViewDatabase(ledger)
    kept = snapshot(views, (KpiHealth,))
    kpis, total = kpi_events(ledger)
    assert 0 < kpis < total / 10, (kpis, total)
    decode = ledger.mapper.to_domain_event
    with mock.patch.object(ledger.mapper, "to_domain_event", wraps=decode) as decoded:
        Rebuild(ledger, KpiHealth, batch_size=50).run()
    # Each KPI event of the log, and those read again to load a KPI: nothing else.
    topics = [call.args[0].topic for call in decoded.call_args_list]
    assert all(issubclass(resolve_topic(topic), Kpi.Event) for topic in topics)
    assert kpis <= len(topics) < 2 * kpis
    assert snapshot(views, (KpiHealth,)) == kept


def test_rebuilt_together_each_event_is_decoded_once_for_all(projected: GoalLedger) -> None:
    # The audit trail reads every event: with it, KPI health's filter skips nothing.
    ledger = projected
    _, total = kpi_events(ledger)
    decode = ledger.mapper.to_domain_event
    with mock.patch.object(ledger.mapper, "to_domain_event", wraps=decode) as decoded:
        Rebuild(ledger, AuditTrail, KpiHealth, batch_size=50).run()
    assert decoded.call_count == total


@pytest.fixture
def renamed_topic() -> Iterator[str]:
    """A reading's topic as an earlier release might have stored it."""
    topic = "goalpost_earlier.kpis:Kpi.ReadingTaken"
    register_topic(topic, Kpi.ReadingRecorded)
    yield topic
    clear_topic_cache()


def test_which_topics_a_read_model_reads(renamed_topic: str) -> None:
    assert KpiHealth.reads(get_topic(Kpi.ReadingRecorded))
    assert KpiHealth.reads(get_topic(Kpi.Created))
    assert not KpiHealth.reads(get_topic(KeyResult.CheckInRecorded))
    # Stored under an earlier name, the event is the class that name now resolves to.
    assert KpiHealth.reads(renamed_topic)
    assert AuditTrail.reads(get_topic(KeyResult.CheckInRecorded))
