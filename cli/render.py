"""Plain-text tables of the read models, for terminals and logs alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from uuid import UUID

from domain.base import Retirement
from domain.kpi import KpiStatus
from domain.reports import CycleScoreboard, KeyResultLine, KpiLine, ObjectiveStatus
from domain.scoring import rounded
from domain.values import KpiDirection, ReasonCode

NONE = "-"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], indent: str = "") -> list[str]:
    """Columns padded to their widest cell; trailing spaces trimmed so diffs stay clean."""
    body = [list(row) for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        return (indent + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(row) for row in body)]


def number(value: Decimal) -> str:
    # Fixed-point, so 1E+1 never reaches an operator.
    return f"{value:f}"


def score(value: Decimal | None) -> str:
    return number(rounded(value)) if value is not None else NONE


def signed(value: Decimal | None) -> str:
    return f"{rounded(value):+f}" if value is not None else NONE


def render_scoreboard(board: CycleScoreboard) -> str:
    state = f"closed {board.closed_at.isoformat()}" if board.closed_at else "open"
    knowledge = (
        f"as recorded by {board.known_at.isoformat()}"
        if board.known_at is not None
        else "from everything recorded"
    )
    lines = [
        f"Cycle {board.key}  {board.starts_on} to {board.ends_on}  ({state})",
        f"Scores as of {board.as_of}, {knowledge}",
    ]
    titles = {objective.id: objective.title for objective in board.objectives}
    for objective in board.objectives:
        lines += ["", *_objective(objective, titles)]
    lines += ["", "By owner (goals not retired):", *_owners(board)]
    lines += [
        "",
        f"Net confidence: {signed(board.net_confidence)}  "
        "(share of key results on track minus share off track)",
    ]
    return "\n".join(lines)


def _owners(board: CycleScoreboard) -> list[str]:
    owners = sorted(
        {objective.owner for objective in board.objectives}
        | {line.owner for objective in board.objectives for line in objective.key_results}
    )
    rows = []
    for owner in owners:
        rollup = board.rollup(owner)
        rows.append(
            [
                owner,
                str(rollup.objectives),
                score(rollup.score),
                str(rollup.key_results),
                score(rollup.key_result_score),
                f"{rollup.green}/{rollup.amber}/{rollup.red}",
                str(rollup.behind),
                str(rollup.stale),
                signed(rollup.net_confidence),
            ]
        )
    headers = [
        "owner",
        "objectives",
        "score",
        "key results",
        "kr score",
        "green/amber/red",
        "behind",
        "stale",
        "net confidence",
    ]
    return table(headers, rows, indent="  ")


def _objective(objective: ObjectiveStatus, titles: Mapping[UUID, str]) -> list[str]:
    light = objective.traffic_light.value if objective.traffic_light else NONE
    about = [objective.kind.value, f"owner {objective.owner}"]
    if objective.parent_id is not None:
        about.append(f"aligned to {titles.get(objective.parent_id, str(objective.parent_id))}")
    against = ""
    if objective.score_against_original_plan != objective.score:
        against = f"  (against the original plan {score(objective.score_against_original_plan)})"
    lines = [
        f"Objective: {objective.title}  ({', '.join(about)})",
        f"  Score {score(objective.score)}  {light}{against}",
    ]
    if objective.retired is not None:
        retired = objective.retired
        lines.append(
            f"  RETIRED on {retired.effective_on} by {retired.actor} "
            f"({retired.reason_code.value}): {retired.reason}"
        )
    rows: list[list[str]] = []
    notes: list[str] = []
    for kr in objective.key_results:
        rows += _key_result_rows(kr)
        retired_kr = kr.status.retired
        if retired_kr is not None:
            notes.append(
                f"  * {kr.title}: retired on {retired_kr.effective_on} by {retired_kr.actor} "
                f"({retired_kr.reason_code.value}): {retired_kr.reason}"
            )
    headers = ["Key result", "Owner", "Unit", "Baseline → target", "Latest", "Score", "Light"]
    headers += ["Pace", "Stale", "Status"]
    return [*lines, *table(headers, rows, indent="  "), *notes]


def _key_result_rows(kr: KeyResultLine) -> list[list[str]]:
    status = kr.status
    plan, original = status.plan, status.original_plan
    latest = number(status.value) if status.last_check_in is not None else "no check-in"
    row = [
        kr.title,
        kr.owner,
        kr.unit,
        f"{number(plan.baseline)} → {number(plan.target)}",
        latest,
        score(status.score),
        status.traffic_light.value,
        status.pace.value.replace("_", " "),
        "yes" if status.stale else "no",
        _closed(status.retired),
    ]
    rows = [row]
    if (plan.baseline, plan.target) != (original.baseline, original.target):
        # Re-baselined: the original plan stays visible, so a lowered target shows.
        rows.append(
            [
                "",
                "",
                "original plan:",
                f"{number(original.baseline)} → {number(original.target)}",
                "",
                score(status.score_against_original_plan),
                "",
                "",
                "",
                f"re-baselined {plan.effective_on}",
            ]
        )
    return rows


def render_kpis(kpi_lines: Sequence[KpiLine], directions: Mapping[UUID, KpiDirection]) -> str:
    if not kpi_lines:
        return "KPIs: none defined"
    ordered = sorted(kpi_lines, key=lambda line: line.area)
    rows = [
        [
            line.area,
            line.name,
            line.owner,
            _healthy_level(line.status, directions.get(line.id), line.unit),
            str(line.status.threshold.set_on),
            _latest(line.status),
            _healthy(line.status),
            "yes" if line.okr_candidate else "no",
        ]
        for line in ordered
    ]
    headers = ["Area (KRA)", "KPI", "Owner", "Healthy level", "Set on", "Latest reading"]
    headers += ["Healthy", "OKR candidate"]
    lines = ["KPIs", *table(headers, rows)]
    for line in ordered:
        if line.status.retired is not None:
            retired = line.status.retired
            lines.append(
                f"* {line.name}: retired on {retired.effective_on} by {retired.actor} "
                f"({retired.reason_code.value}): {retired.reason}"
            )
    return "\n".join(lines)


def _healthy_level(status: KpiStatus, direction: KpiDirection | None, unit: str) -> str:
    threshold = status.threshold
    suffix = f" {unit}" if unit else ""
    if threshold.healthy_low is not None or threshold.healthy_high is not None:
        low = number(threshold.healthy_low) if threshold.healthy_low is not None else "…"
        high = number(threshold.healthy_high) if threshold.healthy_high is not None else "…"
        return f"{low} to {high}{suffix}"
    side = {KpiDirection.STAY_BELOW: "≤ ", KpiDirection.STAY_ABOVE: "≥ ", None: ""}[direction]
    return f"{side}{number(threshold.target)}{suffix}"


# How a key result left its cycle early, by the reason code of its retirement.
_CLOSED_AS = {
    ReasonCode.CARRIED_FORWARD: "carried forward *",
    ReasonCode.GRADUATED_TO_KPI: "graduated *",
}


def _closed(retired: Retirement | None) -> str:
    if retired is None:
        return "active"
    return _CLOSED_AS.get(retired.reason_code, "retired *")


def _latest(status: KpiStatus) -> str:
    reading = status.last_reading
    if reading is None:
        return "no reading"
    return f"{number(reading.value)} on {reading.effective_on}"


def _healthy(status: KpiStatus) -> str:
    if status.retired is not None:
        return "retired *"
    if status.healthy is None:
        return NONE
    return "yes" if status.healthy else "no"
