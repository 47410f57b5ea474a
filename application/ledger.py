"""GoalLedger: the eventsourcing Application, the one entry point for commands and goal reads.

Composed of one mixin per job over `LedgerCore` (application/core.py), each in a module
of its own; the values commands take and give back are importable from here too.
"""

from __future__ import annotations

from collections.abc import Sequence

from application.access import AccessCommands
from application.carry_forward import CarryForwardCommands
from application.core import RecordTimeIndex, replay
from application.cycles import CycleCommands
from application.graduation import GraduationCommands
from application.imports import CheckInImports
from application.key_results import KeyResultCommands
from application.kpi_key_results import KpiKeyResultCommands
from application.kpis import KpiCommands
from application.objectives import ObjectiveCommands
from application.ownership import OwnershipCommands
from application.people import PeopleCommands
from application.reports import Reports
from application.review_cycles import ReviewCycleCommands
from application.self_assessments import SelfAssessmentCommands
from application.signals import SignalCommands
from application.transcoding import DateAsISO
from application.values import CheckInImport, ImportReport, Saved, SnapshotMismatch


class GoalLedger(
    CycleCommands,
    ObjectiveCommands,
    KeyResultCommands,
    SelfAssessmentCommands,
    KpiCommands,
    GraduationCommands,
    CarryForwardCommands,
    KpiKeyResultCommands,
    OwnershipCommands,
    ReviewCycleCommands,
    AccessCommands,
    PeopleCommands,
    SignalCommands,
    CheckInImports,
    Reports,
):
    """Commands do get → authorise → call → save; every error leaves the history unchanged.

    A write command takes the caller's `grant` (None: an operator at the store, such as
    the CLI, an import or the demo, whom the authority table does not govern) and the
    idempotent `request` it completes (None: not idempotent).
    """

    name = "goalpost"


__all__: Sequence[str] = [
    "CheckInImport",
    "DateAsISO",
    "GoalLedger",
    "ImportReport",
    "RecordTimeIndex",
    "Saved",
    "SnapshotMismatch",
    "replay",
]
