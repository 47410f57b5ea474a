"""Audit trail: every event of every goal, with who, when, why, and the value before and after.

Flags for the auditors' change report are computed here, once, from the domain's own
aggregates as they stood at that point of the log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.access import AccessGrant
from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from domain.scoring import TrafficLight, objective_score, rounded, traffic_light
from projections.base import ReadModel
from projections.database import ViewTransaction

BACKDATED_AFTER_DAYS = 7


class Flag:
    TARGET_LOWERED = "target_lowered"
    RETIRED_WHILE_RED = "retired_while_red"
    REBASELINED_AFTER_HALF = "rebaselined_after_half_the_cycle"
    BACKDATED = "backdated_more_than_7_days"
    CHANGED_AFTER_CLOSE = "changed_after_close"


KINDS: dict[type[LedgerAggregate], str] = {
    Cycle: "cycle",
    Objective: "objective",
    KeyResult: "key_result",
    Kpi: "kpi",
    AccessGrant: "access_grant",
}


def event_name(event: object) -> str:
    """`KeyResult.CheckInRecorded` -> `check_in_recorded`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(event).__name__).lower()


def _number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class Entry:
    goal: LedgerAggregate
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    effective_on: date | None = None
    cycle_id: str | None = None
    subject_id: UUID | None = None


class AuditTrail(ReadModel):
    name = "audit_trail"
    _position = 0
    tables = (
        "CREATE TABLE IF NOT EXISTS {audit_trail} ("
        " position {int} PRIMARY KEY,"
        " goal_id {uuid} NOT NULL,"
        " goal_kind {text} NOT NULL,"
        " version {int} NOT NULL,"
        " event {text} NOT NULL,"
        " actor {text} NOT NULL,"
        " recorded_at {time} NOT NULL,"
        " effective_on {date},"
        " cycle_id {text},"
        " owner {text},"
        " reason {text},"
        " reason_code {text},"
        " subject_id {uuid},"
        " before {json} NOT NULL,"
        " after {json} NOT NULL,"
        " flags {json} NOT NULL)",
        "CREATE INDEX IF NOT EXISTS goalpost_audit_trail_goal ON {audit_trail} (goal_id, position)",
        "CREATE INDEX IF NOT EXISTS goalpost_audit_trail_cycle"
        " ON {audit_trail} (cycle_id, position)",
    )

    # What the event is about to change, read from the goal as it stood.

    def before(self, event: LedgerAggregate.Event, position: int) -> dict[str, Any]:
        self._position = position
        goal = self.replicas.get(event.originator_id, position - 1)
        if isinstance(goal, KeyResult):
            return self._key_result_before(goal, event)
        if isinstance(goal, Kpi):
            return self._kpi_before(goal, event)
        if isinstance(goal, Objective):
            if isinstance(event, Objective.AlignedToParent):
                return {"parent_id": str(goal.parent_id) if goal.parent_id else None}
            if isinstance(event, Objective.Retired):
                return {
                    "status": "active",
                    **self._objective_score(goal, position, event.effective_on),
                }
        return {}

    def _key_result_before(self, kr: KeyResult, event: object) -> dict[str, Any]:
        plan = kr.current_plan
        if isinstance(event, KeyResult.CheckInRecorded):
            latest = kr.latest_check_in(event.effective_on)
            return {"value": _number(latest.value if latest else plan.baseline)}
        if isinstance(event, KeyResult.CheckInCorrected):
            return {"value": _number(kr.check_ins[event.check_in_id].value)}
        if isinstance(event, KeyResult.Rebaselined):
            return {"baseline": _number(plan.baseline), "target": _number(plan.target)}
        if isinstance(event, KeyResult.Reweighted):
            return {"weight": _number(plan.weight)}
        if isinstance(event, KeyResult.Retired):
            cycle = self._cycle(kr.cycle_id)
            status = kr.status(cycle, event.effective_on) if cycle else None
            score = status.score if status else None
            return {
                "status": "active",
                "score": _number(rounded(score)) if score is not None else None,
                "traffic_light": traffic_light(score).value if score is not None else None,
            }
        return {}

    def _kpi_before(self, kpi: Kpi, event: object) -> dict[str, Any]:
        if isinstance(event, Kpi.ReadingRecorded):
            readings = kpi.readings_until(event.effective_on)
            return {"value": _number(readings[-1].value) if readings else None}
        if isinstance(event, Kpi.ReadingCorrected):
            return {"value": _number(kpi.readings[event.reading_id].value)}
        if isinstance(event, Kpi.TargetChanged):
            threshold = kpi.thresholds[-1]
            return {
                "target": _number(threshold.target),
                "healthy_low": _number(threshold.healthy_low),
                "healthy_high": _number(threshold.healthy_high),
            }
        if isinstance(event, Kpi.Retired):
            return {"status": "active"}
        return {}

    def _objective_score(self, objective: Objective, position: int, day: date) -> dict[str, Any]:
        """The objective's score on its retirement's effective date (never "today")."""
        cycle = self._cycle(objective.cycle_id)
        if cycle is None:
            return {}
        pairs = []
        for kr_id in objective.key_result_ids:
            kr = self.replicas.typed(KeyResult, kr_id, position)
            if kr is None:
                continue
            status = kr.status(cycle, day)
            if status.retired is None:
                pairs.append((status.score, status.plan.weight))
        score = objective_score(pairs)
        if score is None:
            return {}
        return {"score": str(rounded(score)), "traffic_light": traffic_light(score).value}

    def _cycle(self, key: str) -> Cycle | None:
        """The goal's cycle as it stood at the event being projected."""
        return self.replicas.typed(Cycle, Cycle.create_id(key), self._position)

    # The row, from the goal as it stands after the event.

    def after(
        self,
        tx: ViewTransaction,
        event: LedgerAggregate.Event,
        stored: Notification,
        before: dict[str, Any],
    ) -> None:
        self._position = stored.id
        goal = self.replicas.get(event.originator_id, stored.id)
        if goal is None:
            return
        entry = Entry(goal=goal, before=before)
        entry.effective_on = getattr(event, "effective_on", None)
        self._describe(entry, event)
        self._flag(entry, event, stored.id)
        tx.execute(
            "INSERT INTO {audit_trail} (position, goal_id, goal_kind, version, event, actor,"
            " recorded_at, effective_on, cycle_id, owner, reason, reason_code, subject_id,"
            " before, after, flags)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                stored.id,
                event.originator_id,
                KINDS.get(type(goal), type(goal).__name__.lower()),
                event.originator_version,
                event_name(event),
                event.actor,
                event.timestamp,
                entry.effective_on,
                entry.cycle_id,
                getattr(goal, "owner", None) or getattr(goal, "subject", None),
                getattr(event, "reason", None),
                getattr(event, "reason_code", None),
                entry.subject_id,
                entry.before,
                entry.after,
                entry.flags,
            ),
        )

    def _describe(self, entry: Entry, event: object) -> None:  # noqa: PLR0912 - one branch per event type
        goal = entry.goal
        if isinstance(goal, KeyResult):
            entry.cycle_id = goal.cycle_id
            plan = goal.current_plan
            if isinstance(event, KeyResult.Created):
                entry.effective_on = plan.effective_on
                entry.after = {
                    "title": goal.title,
                    "objective_id": str(goal.objective_id),
                    "direction": goal.direction.value,
                    "unit": goal.unit,
                    "baseline": str(plan.baseline),
                    "target": str(plan.target),
                    "weight": str(plan.weight),
                    "measurement": goal.measurement,
                }
            elif isinstance(event, KeyResult.CheckInRecorded | KeyResult.CheckInCorrected):
                check_in = goal.check_ins[event.check_in_id]
                entry.subject_id = check_in.id
                entry.effective_on = check_in.effective_on
                entry.after = {"value": str(check_in.value)}
                if isinstance(event, KeyResult.CheckInRecorded):
                    entry.after |= {"confidence": check_in.confidence.value, "note": check_in.note}
            elif isinstance(event, KeyResult.Rebaselined):
                entry.after = {"baseline": str(plan.baseline), "target": str(plan.target)}
            elif isinstance(event, KeyResult.Reweighted):
                entry.after = {"weight": str(plan.weight)}
            elif isinstance(event, KeyResult.Retired):
                entry.after = {"status": "retired"}
        elif isinstance(goal, Objective):
            entry.cycle_id = goal.cycle_id
            if isinstance(event, Objective.Created):
                entry.after = {"title": goal.title, "kind": goal.kind.value}
                if goal.parent_id:
                    entry.after["parent_id"] = str(goal.parent_id)
            elif isinstance(event, Objective.KeyResultAdded):
                entry.subject_id = event.key_result_id
                entry.after = {"key_result_id": str(event.key_result_id)}
            elif isinstance(event, Objective.AlignedToParent):
                entry.after = {"parent_id": str(goal.parent_id) if goal.parent_id else None}
            elif isinstance(event, Objective.Retired):
                entry.after = {"status": "retired"}
        elif isinstance(goal, Cycle):
            entry.cycle_id = goal.key
            if isinstance(event, Cycle.Opened):
                entry.after = {"starts_on": str(goal.starts_on), "ends_on": str(goal.ends_on)}
            elif isinstance(event, Cycle.ObjectiveAdded):
                entry.subject_id = event.objective_id
                entry.after = {"objective_id": str(event.objective_id)}
            elif isinstance(event, Cycle.Closed):
                entry.after = {"status": "closed"}
        elif isinstance(goal, Kpi):
            self._describe_kpi(entry, goal, event)
        elif isinstance(goal, AccessGrant):
            entry.after = (
                {"roles": sorted(r.value for r in goal.roles), "team": goal.team}
                if isinstance(event, AccessGrant.Issued)
                else {"status": "revoked"}
            )

    @staticmethod
    def _describe_kpi(entry: Entry, kpi: Kpi, event: object) -> None:
        threshold = kpi.thresholds[-1]
        if isinstance(event, Kpi.Defined):
            entry.effective_on = threshold.set_on
            entry.after = {
                "area": kpi.area,
                "name": kpi.name,
                "direction": kpi.direction.value,
                "target": str(threshold.target),
                "healthy_low": _number(threshold.healthy_low),
                "healthy_high": _number(threshold.healthy_high),
                "formula": kpi.formula,
                "data_source": kpi.data_source,
                "cadence": kpi.cadence.value,
            }
        elif isinstance(event, Kpi.ReadingRecorded | Kpi.ReadingCorrected):
            reading = kpi.readings[event.reading_id]
            entry.subject_id = reading.id
            entry.effective_on = reading.effective_on
            entry.after = {"value": str(reading.value), "healthy": kpi.is_healthy(reading)}
        elif isinstance(event, Kpi.TargetChanged):
            entry.after = {
                "target": str(threshold.target),
                "healthy_low": _number(threshold.healthy_low),
                "healthy_high": _number(threshold.healthy_high),
            }
        elif isinstance(event, Kpi.Retired):
            entry.after = {"status": "retired"}

    def _flag(self, entry: Entry, event: LedgerAggregate.Event, position: int) -> None:
        recorded_on = event.timestamp.date()
        if entry.effective_on is not None and (
            recorded_on - entry.effective_on > timedelta(days=BACKDATED_AFTER_DAYS)
        ):
            entry.flags.append(Flag.BACKDATED)
        if isinstance(event, KeyResult.Rebaselined):
            if Decimal(entry.after["target"]) < Decimal(entry.before["target"]):
                entry.flags.append(Flag.TARGET_LOWERED)
            cycle = self._cycle(entry.cycle_id) if entry.cycle_id else None
            if cycle is not None:
                half = cycle.starts_on + (cycle.ends_on - cycle.starts_on) / 2
                if max(recorded_on, event.effective_on) > half:
                    entry.flags.append(Flag.REBASELINED_AFTER_HALF)
        if isinstance(event, Kpi.TargetChanged) and Decimal(entry.after["target"]) < Decimal(
            entry.before["target"]
        ):
            entry.flags.append(Flag.TARGET_LOWERED)
        if (
            isinstance(event, KeyResult.Retired | Objective.Retired)
            and entry.before.get("traffic_light") == TrafficLight.RED.value
        ):
            entry.flags.append(Flag.RETIRED_WHILE_RED)
        if entry.cycle_id is not None and not isinstance(event, Cycle.Closed):
            cycle = self._cycle(entry.cycle_id)
            if (
                cycle is not None
                and cycle.closed_at is not None
                and (event.timestamp > cycle.closed_at)
            ):
                entry.flags.append(Flag.CHANGED_AFTER_CLOSE)
