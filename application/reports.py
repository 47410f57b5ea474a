"""Reads across goals, by replaying their events as of a day and as known at a time:
objective status, cycle scoreboards, KPI lines, the snapshot check, lists of ids."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import cast
from uuid import UUID

from application.core import LedgerCore
from application.values import SnapshotMismatch
from domain.base import LedgerAggregate
from domain.cycle import Cycle
from domain.errors import NotFoundError
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from domain.reports import CycleScoreboard, KeyResultLine, KpiLine, ObjectiveStatus
from domain.self_assessment import latest_self_assessment
from domain.values import utc_today


class Reports(LedgerCore):
    def objective_status(
        self,
        objective_id: UUID,
        *,
        as_of: date | None = None,
        known_at: datetime | None = None,
    ) -> ObjectiveStatus:
        objective = self.get_objective(objective_id, known_at)
        cycle = self.get_cycle(objective.cycle_id, known_at)
        return self._objective_status(objective, cycle, self.day_or_default(cycle, as_of), known_at)

    def _objective_status(
        self, objective: Objective, cycle: Cycle, as_of: date, known_at: datetime | None
    ) -> ObjectiveStatus:
        lines = []
        for key_result_id in objective.key_result_ids:
            key_result = self.get_key_result(key_result_id, known_at)
            lines.append(KeyResultLine.of(key_result, cycle, as_of, objective.kind))
        retirement = objective.retirement
        return ObjectiveStatus.compose(
            id=objective.id,
            cycle_id=objective.cycle_id,
            as_of=as_of,
            title=objective.title,
            owner=objective.owner,
            kind=objective.kind,
            parent_id=objective.parent_id,
            version=objective.version,
            retired=retirement if retirement and retirement.effective_on <= as_of else None,
            key_results=tuple(lines),
            self_assessment=latest_self_assessment(objective),
            carried_from=objective.carried_from,
        )

    def cycle_scoreboard(
        self, key: str, *, as_of: date | None = None, known_at: datetime | None = None
    ) -> CycleScoreboard:
        cycle = self.get_cycle(key, known_at)
        day = self.day_or_default(cycle, as_of)
        return CycleScoreboard(
            key=cycle.key,
            starts_on=cycle.starts_on,
            ends_on=cycle.ends_on,
            closed_at=cycle.closed_at,
            as_of=day,
            known_at=known_at,
            objectives=tuple(
                self._objective_status(self.get_objective(oid, known_at), cycle, day, known_at)
                for oid in cycle.objective_ids
            ),
        )

    def check_snapshots(self) -> tuple[int, list[SnapshotMismatch]]:
        """Every stored snapshot against its goal's events replayed to its version.

        Snapshots are a cache the events alone should give again; one forged or damaged
        would change what its goal loads as, and the seal covers events, not snapshots.
        Each goal's events are replayed once, compared at each of its snapshots. Returns
        the number of snapshots checked and those that differ.
        """
        if self.snapshots is None:
            return 0, []
        checked, found = 0, []
        for key_result_id in self._created_ids(KeyResult.Created):
            stored = {s.originator_version: s for s in self.snapshots.get(key_result_id)}
            if not stored:
                continue
            replayed: LedgerAggregate | None = None
            for event in cast(Iterable[LedgerAggregate.Event], self.events.get(key_result_id)):
                replayed = event.mutate(replayed)
                snapshot = stored.pop(event.originator_version, None)
                if snapshot is None:
                    continue
                checked += 1
                if cast(KeyResult.Snapshot, snapshot).mutate(None) != replayed:
                    found.append(
                        SnapshotMismatch(
                            key_result_id,
                            event.originator_version,
                            "the snapshot differs from the replayed events",
                        )
                    )
            for version in sorted(stored):
                checked += 1
                found.append(SnapshotMismatch(key_result_id, version, "no event has this version"))
        return checked, found

    def objective_ids(self, cycle_id: str | None = None) -> list[UUID]:
        """Objectives in creation order, of one cycle or of all."""
        if cycle_id is not None:
            return list(self.get_cycle(cycle_id).objective_ids)
        return list(self._created_ids(Objective.Created))

    def kpi_ids(self) -> list[UUID]:
        return list(self._created_ids(Kpi.Defined))

    def cycle_keys(self) -> list[str]:
        return [self._get(Cycle, cid).key for cid in self._created_ids(Cycle.Opened)]

    def cycles(self, known_at: datetime | None = None) -> list[Cycle]:
        """Every cycle opened (by `known_at`, when given), in the order opened."""
        found = []
        for cycle_id in self._created_ids(Cycle.Opened):
            try:
                found.append(self._get_known_at(Cycle, cycle_id, known_at))
            except NotFoundError:
                continue
        return found

    def kpi_lines(
        self, *, as_of: date | None = None, known_at: datetime | None = None
    ) -> list[KpiLine]:
        day = as_of if as_of is not None else utc_today()
        lines = []
        for kpi_id in self._created_ids(Kpi.Defined):
            try:
                kpi = self.get_kpi(kpi_id, known_at)
            except NotFoundError:
                continue
            lines.append(
                KpiLine(
                    id=kpi.id,
                    area=kpi.area,
                    name=kpi.name,
                    owner=kpi.owner,
                    unit=kpi.unit,
                    direction=kpi.direction,
                    version=kpi.version,
                    status=kpi.status(day),
                    okr_candidate=kpi.is_okr_candidate(day),
                )
            )
        return lines
