"""What each event changed, as the audit trail shows it: the goal before and after.

One row per event class in `HANDLING`. Each event class belongs to one kind of goal, so
a row's functions take that goal and that event, typed. "Before" is read from the goal
as it stood before the event, "after" from the goal as it stands after it, both the
domain's own aggregates, so values mean what they mean to the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol
from uuid import UUID

from domain.access import AccessGrant
from domain.cycle import Cycle
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from domain.people import Person, Team
from domain.reports import counts
from domain.review_cycle import EvidenceReadLog, ReviewCycle
from domain.scoring import objective_score, rounded, traffic_light
from domain.self_assessment import latest_self_assessment
from domain.signal import SIGNAL_KINDS
from domain.values import Confidence, plain


class GoalsThen(Protocol):
    """Goals as they stood at the event being projected."""

    def cycle(self, key: str) -> Cycle | None: ...

    def key_result(self, key_result_id: UUID) -> KeyResult | None: ...


@dataclass(frozen=True)
class Change:
    """What a row shows of an event: the goal after it, and what it is about."""

    after: dict[str, Any]
    subject_id: UUID | None = None
    # Where the goal knows the effective day better than the event says (a correction
    # has none of its own; a creation dates the first plan).
    effective_on: date | None = None


# Cached: equal decimals have one plain form, and a check-in's value before is mostly
# the one the previous check-in wrote after; the canonical form is slow to compute.
@lru_cache(maxsize=4096)
def number(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


# Before


def _active(*_: object) -> dict[str, Any]:
    return {"status": "active"}


def _parent(objective: Objective, *_: object) -> dict[str, Any]:
    return {"parent_id": str(objective.parent_id) if objective.parent_id else None}


def _value_before_check_in(
    kr: KeyResult, event: KeyResult.CheckInRecorded, _: object
) -> dict[str, Any]:
    # Without an earlier check-in the value is the baseline of the plan in force then.
    latest = kr.latest_value(event.effective_on)
    return {"value": number(kr.plan_on(event.effective_on).baseline if latest is None else latest)}


def _value_before_correction(
    kr: KeyResult, event: KeyResult.CheckInCorrected, _: object
) -> dict[str, Any]:
    return {"value": number(kr.check_ins[event.check_in_id].value)}


def _plan_before(kr: KeyResult, *_: object) -> dict[str, Any]:
    plan = kr.current_plan
    return {"baseline": number(plan.baseline), "target": number(plan.target)}


def _weight_before(kr: KeyResult, *_: object) -> dict[str, Any]:
    return {"weight": number(kr.current_plan.weight)}


def _score_before_retiring_key_result(
    kr: KeyResult, event: KeyResult.Retired, goals: GoalsThen
) -> dict[str, Any]:
    cycle = goals.cycle(kr.cycle_id)
    status = kr.status(cycle, event.effective_on) if cycle else None
    score = status.score if status else None
    return {
        "status": "active",
        "score": format(rounded(score), "f") if score is not None else None,
        "traffic_light": traffic_light(score).value if score is not None else None,
    }


def _score_before_retiring_objective(
    objective: Objective, event: Objective.Retired, goals: GoalsThen
) -> dict[str, Any]:
    return {"status": "active", **_objective_score(objective, event.effective_on, goals)}


def _objective_score(objective: Objective, on: date, goals: GoalsThen) -> dict[str, Any]:
    """The objective's score on its retirement's effective date (never "today")."""
    cycle = goals.cycle(objective.cycle_id)
    if cycle is None:
        return {}
    pairs = []
    for kr_id in objective.key_result_ids:
        kr = goals.key_result(kr_id)
        if kr is None:
            continue
        status = kr.status(cycle, on)
        # As the objective's score counts them: graduated and carried ones at their final.
        if counts(status):
            pairs.append((status.score, status.plan.weight))
    score = objective_score(pairs)
    if score is None:
        return {}
    return {"score": str(rounded(score)), "traffic_light": traffic_light(score).value}


def _reading_before(kpi: Kpi, event: Kpi.ReadingRecorded, _: object) -> dict[str, Any]:
    readings = kpi.readings_until(event.effective_on)
    return {"value": number(readings[-1].value) if readings else None}


def _reading_before_correction(kpi: Kpi, event: Kpi.ReadingCorrected, _: object) -> dict[str, Any]:
    return {"value": number(kpi.readings[event.reading_id].value)}


def _threshold_before(kpi: Kpi, *_: object) -> dict[str, Any]:
    threshold = kpi.thresholds[-1]
    return {
        "target": number(threshold.target),
        "healthy_low": number(threshold.healthy_low),
        "healthy_high": number(threshold.healthy_high),
    }


# After


def _status(status: str) -> Callable[..., Change]:
    return lambda *_: Change({"status": status})


def _graduated(_: KeyResult, event: KeyResult.Graduated) -> Change:
    return Change({"status": "retired", "graduated_to_kpi": str(event.kpi_id)})


def _graduated_from(_: Kpi, event: Kpi.GraduatedFrom) -> Change:
    return Change({"graduated_from": str(event.key_result_id)})


def _carried_forward(_: KeyResult, event: KeyResult.CarriedForward) -> Change:
    after = {
        "status": "carried_forward",
        "carried_to": str(event.to_key_result_id),
        "to_cycle_id": event.to_cycle_id,
    }
    return Change(after, event.to_key_result_id)


def _carried_from(_: Objective, event: Objective.CarriedFrom) -> Change:
    return Change({"carried_from": str(event.objective_id)}, event.objective_id)


def _key_result_created(kr: KeyResult, _: object) -> Change:
    plan = kr.current_plan
    after = {
        "title": kr.title,
        "objective_id": str(kr.objective_id),
        "direction": kr.direction.value,
        "unit": kr.unit,
        "baseline": number(plan.baseline),
        "target": number(plan.target),
        "weight": number(plan.weight),
        "measurement": kr.measurement,
    }
    if kr.carried_from is not None:
        # Its predecessor, of an earlier cycle (ADR 37): the row is its carry, seen in.
        after["carried_from"] = str(kr.carried_from)
    return Change(after, effective_on=plan.effective_on)


def _check_in_recorded(_: KeyResult, event: KeyResult.CheckInRecorded) -> Change:
    # The check-in as the event makes it (KeyResult.CheckInRecorded.apply), read from the
    # event: made from the goal's log, one check-in object for every row projected.
    after = {
        "value": number(event.value),
        "confidence": Confidence(event.confidence).value,
        "note": event.note,
    }
    return Change(after, event.check_in_id, event.effective_on)


def _check_in_corrected(kr: KeyResult, event: KeyResult.CheckInCorrected) -> Change:
    check_in = kr.check_ins[event.check_in_id]
    return Change({"value": number(check_in.value)}, check_in.id, check_in.effective_on)


def _rebaselined(kr: KeyResult, _: object) -> Change:
    plan = kr.current_plan
    return Change({"baseline": number(plan.baseline), "target": number(plan.target)})


def _reweighted(kr: KeyResult, _: object) -> Change:
    return Change({"weight": number(kr.current_plan.weight)})


def _objective_created(objective: Objective, _: object) -> Change:
    after: dict[str, Any] = {"title": objective.title, "kind": objective.kind.value}
    if objective.parent_id:
        after["parent_id"] = str(objective.parent_id)
    return Change(after)


def _key_result_added(_: Objective, event: Objective.KeyResultAdded) -> Change:
    return Change({"key_result_id": str(event.key_result_id)}, event.key_result_id)


def _aligned(objective: Objective, _: object) -> Change:
    return Change(_parent(objective))


def _cycle_opened(cycle: Cycle, _: object) -> Change:
    return Change({"starts_on": str(cycle.starts_on), "ends_on": str(cycle.ends_on)})


def _objective_added(_: Cycle, event: Cycle.ObjectiveAdded) -> Change:
    return Change({"objective_id": str(event.objective_id)}, event.objective_id)


def _kpi_defined(kpi: Kpi, _: object) -> Change:
    threshold = kpi.thresholds[-1]
    after = {
        "area": kpi.area,
        "name": kpi.name,
        "unit": kpi.unit,
        "direction": kpi.direction.value,
        "target": number(threshold.target),
        "healthy_low": number(threshold.healthy_low),
        "healthy_high": number(threshold.healthy_high),
        "formula": kpi.formula,
        "data_source": kpi.data_source,
        "cadence": kpi.cadence.value,
    }
    return Change(after, effective_on=threshold.set_on)


def _reading(kpi: Kpi, event: Kpi.ReadingRecorded | Kpi.ReadingCorrected) -> Change:
    reading = kpi.readings[event.reading_id]
    after = {
        "value": number(reading.value),
        "healthy": kpi.is_healthy(reading),
        "note": reading.note,
    }
    return Change(after, reading.id, reading.effective_on)


def _target_changed(kpi: Kpi, _: object) -> Change:
    threshold = kpi.thresholds[-1]
    after = {
        "target": number(threshold.target),
        "healthy_low": number(threshold.healthy_low),
        "healthy_high": number(threshold.healthy_high),
    }
    return Change(after)


def _self_assessed(goal: KeyResult | Objective, _: object) -> Change:
    assessment = latest_self_assessment(goal)
    assert assessment is not None  # the event being projected recorded one
    return Change({"grade": number(assessment.grade), "reflection": assessment.reflection})


def _self_assessment_before(goal: KeyResult | Objective, *_: object) -> dict[str, Any]:
    # A later assessment supersedes an earlier one: the row shows which it replaced.
    earlier = latest_self_assessment(goal)
    return {"grade": number(earlier.grade) if earlier else None}


def _grant_issued(grant: AccessGrant, _: object) -> Change:
    return Change({"roles": sorted(r.value for r in grant.roles), "team": grant.team})


def _owner_before(goal: KeyResult | Objective | Kpi, *_: object) -> dict[str, Any]:
    return {"owner": goal.owner}


def _transferred(goal: KeyResult | Objective | Kpi, event: Any) -> Change:
    return Change({"owner": goal.owner}, effective_on=event.effective_on)


def _contributor(status: str) -> Callable[[KeyResult, Any], Change]:
    def change(_: KeyResult, event: Any) -> Change:
        return Change(
            {"contributor": event.contributor, "status": status}, None, event.effective_on
        )

    return change


def _review_cycle_opened(cycle: ReviewCycle, _: object) -> Change:
    return Change(
        {"key": cycle.key, "starts_on": str(cycle.starts_on), "ends_on": str(cycle.ends_on)}
    )


def _reviewer_assigned(_: ReviewCycle, event: ReviewCycle.ReviewerAssigned) -> Change:
    return Change({"reviewer": event.reviewer, "reviewee": event.reviewee})


def _read_log_started(log: EvidenceReadLog, _: object) -> Change:
    return Change({"person": log.person})


def _evidence_read(log: EvidenceReadLog, event: EvidenceReadLog.Read) -> Change:
    after = {
        "person": log.person,
        "review_cycle": event.review_cycle,
        "from": str(event.period_from),
        "to": str(event.period_to),
    }
    return Change(after)


# People and teams (ADR 40): memberships, managers and departures; never a name or an
# e-mail, which the events hold sealed (ADR 41).


def _registered(person: Person, _: object) -> Change:
    return Change({"status": "registered"})


def _membership(status: str) -> Callable[[Person, Any], Change]:
    def change(_: Person, event: Any) -> Change:
        return Change({"team": event.team_id, "membership": status})

    return change


def _member(status: str) -> Callable[[Team, Any], Change]:
    def change(_: Team, event: Any) -> Change:
        return Change({"person": event.person_id, "membership": status})

    return change


def _manager_before(person: Person, event: Person.ManagerChanged, _: object) -> dict[str, Any]:
    return {"manager_id": person.manager_on(event.effective_on)}


def _manager_changed(_: Person, event: Person.ManagerChanged) -> Change:
    return Change({"manager_id": event.manager_id})


def _team_formed(team: Team, _: object) -> Change:
    return Change({"name": team.name})


@dataclass(frozen=True)
class Handling:
    """One event class: what the row shows after it, and what it reads of the goal before
    it (where the row shows a value the event replaces)."""

    after: Callable[[Any, Any], Change]
    before: Callable[[Any, Any, GoalsThen], dict[str, Any]] | None = None


HANDLING: dict[type[object], Handling] = {
    KeyResult.Created: Handling(_key_result_created),
    KeyResult.CheckInRecorded: Handling(_check_in_recorded, _value_before_check_in),
    KeyResult.CheckInCorrected: Handling(_check_in_corrected, _value_before_correction),
    # From the KPI's readings (ADR 38): shown as the check-ins and corrections they are.
    KeyResult.CheckInFromReading: Handling(_check_in_recorded, _value_before_check_in),
    KeyResult.CheckInCorrectedFromReading: Handling(_check_in_corrected, _value_before_correction),
    KeyResult.Rebaselined: Handling(_rebaselined, _plan_before),
    KeyResult.Reweighted: Handling(_reweighted, _weight_before),
    KeyResult.Retired: Handling(_status("retired"), _score_before_retiring_key_result),
    KeyResult.Graduated: Handling(_graduated, _score_before_retiring_key_result),
    KeyResult.CarriedForward: Handling(_carried_forward, _score_before_retiring_key_result),
    KeyResult.SelfAssessed: Handling(_self_assessed, _self_assessment_before),
    Objective.Created: Handling(_objective_created),
    Objective.KeyResultAdded: Handling(_key_result_added),
    Objective.AlignedToParent: Handling(_aligned, _parent),
    Objective.Retired: Handling(_status("retired"), _score_before_retiring_objective),
    Objective.SelfAssessed: Handling(_self_assessed, _self_assessment_before),
    Objective.CarriedFrom: Handling(_carried_from),
    Cycle.Opened: Handling(_cycle_opened),
    Cycle.ObjectiveAdded: Handling(_objective_added),
    Cycle.Closed: Handling(_status("closed")),
    Kpi.Defined: Handling(_kpi_defined),
    Kpi.ReadingRecorded: Handling(_reading, _reading_before),
    Kpi.ReadingCorrected: Handling(_reading, _reading_before_correction),
    Kpi.TargetChanged: Handling(_target_changed, _threshold_before),
    Kpi.Retired: Handling(_status("retired"), _active),
    Kpi.GraduatedFrom: Handling(_graduated_from),
    AccessGrant.Issued: Handling(_grant_issued),
    AccessGrant.Revoked: Handling(_status("revoked")),
    Person.Registered: Handling(_registered),
    Person.DetailsChanged: Handling(_status("details_changed")),
    Person.JoinedTeam: Handling(_membership("joined")),
    Person.LeftTeam: Handling(_membership("left")),
    Person.ManagerChanged: Handling(_manager_changed, _manager_before),
    Person.Departed: Handling(_status("departed")),
    Person.Erased: Handling(_status("erased")),
    Team.Formed: Handling(_team_formed),
    Team.MemberJoined: Handling(_member("joined")),
    Team.MemberLeft: Handling(_member("left")),
    # Ownership over time, contributors, review cycles and evidence reads (ADR 42).
    KeyResult.Transferred: Handling(_transferred, _owner_before),
    Objective.Transferred: Handling(_transferred, _owner_before),
    Kpi.Transferred: Handling(_transferred, _owner_before),
    KeyResult.ContributorAdded: Handling(_contributor("contributing")),
    KeyResult.ContributorRemoved: Handling(_contributor("ended")),
    ReviewCycle.Opened: Handling(_review_cycle_opened),
    ReviewCycle.ReviewerAssigned: Handling(_reviewer_assigned),
    EvidenceReadLog.Started: Handling(_read_log_started),
    EvidenceReadLog.Read: Handling(_evidence_read),
}

# Event classes the trail leaves out on purpose, beside those HANDLING shows. A signal
# (docs/adr/0039-signals.md) changes no goal and is nobody's doing: it has no before and
# after, and would only crowd the goals' rows (evidence reads an owner's rows).
NOT_AUDITED: frozenset[type[object]] = frozenset(SIGNAL_KINDS)


def before(goal: object, event: object, goals: GoalsThen) -> dict[str, Any]:
    """What the event is about to change, from the goal as it stood (None before creation)."""
    handling = HANDLING.get(type(event))
    if goal is None or handling is None or handling.before is None:
        return {}
    return handling.before(goal, event, goals)


def after(goal: object, event: object) -> Change:
    """What the row shows of the event, from the goal as it stands after it."""
    handling = HANDLING.get(type(event))
    return handling.after(goal, event) if handling is not None else Change({})
