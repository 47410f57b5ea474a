"""The printable evidence page: what a reviewer reads at a glance, every item with its source.

Plain HTML and inline SVG built from the evidence alone (no template engine, no script,
nothing fetched), so the same evidence always gives the same bytes and the page prints
as it shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from html import escape

from api.evidence_chart import MONTHS, key_result_chart
from api.evidence_relations import relations_section
from api.evidence_style import STYLE
from projections.evidence.items import (
    AreaEvidence,
    CarryItem,
    CheckInItem,
    Citation,
    KeyResultEvidence,
    KpiEvidence,
    MonthSummary,
    ObjectiveEvidence,
    PersonEvidence,
    PlanChangeItem,
    ReadingItem,
    RetirementItem,
    ScoreItem,
    SelfAssessmentItem,
    TargetChangeItem,
)

NONE = "\N{EN DASH}"
# A month cell lists this many KPI readings; more (daily, weekly KPIs) are summarised.
MAX_READINGS_LISTED = 5
CONFIDENCE = {"on_track": "on track", "at_risk": "at risk", "off_track": "off track"}


def render_evidence(evidence: PersonEvidence, names: Mapping[str, str] | None = None) -> str:
    """The whole page; a pure function of the evidence and the display names of the
    people it names (ADR 40), shown beside their ids."""
    named = dict(names or {})
    # Send back exactly: to the second, unless an event falls in that second's fraction.
    known_at = evidence.known_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    title = f"Appraisal evidence: {_named(evidence.person, named)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}, {evidence.period_from} to {evidence.period_to}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Review period <b>{evidence.period_from}</b> to '
        f"<b>{evidence.period_to}</b>, as it was recorded and known at "
        f"<b>{_moment(evidence.known_at)}</b>.</p>",
        '<p class="hint">KRA/KPI achievement is the backbone of the review; OKR contribution is '
        "narrative evidence, not a score. Every item cites its event: "
        '<span class="cite">#position·vN</span> is its place in the event log and the '
        "goal's version. The same request with <code>known_at="
        f"{escape(known_at)}</code> gives this same page.</p>",
        _overview(evidence),
        relations_section(evidence),
        "<h2>KRA and KPI achievement</h2>",
        _areas(evidence.areas),
        "<h2>OKR contribution</h2>",
        _objectives(evidence, named),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# Pieces


def _moment(at: datetime) -> str:
    """A time as people read it: UTC, to the second, saying so."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _when(effective_on: object, cite: Citation) -> str:
    """When a change took effect and when it was recorded: a change dated back reads as one."""
    return f"effective {effective_on}, recorded {_moment(cite.recorded_at)} by {escape(cite.actor)}"


def _cite(cite: Citation) -> str:
    detail = (
        f"{cite.event}, goal {cite.goal_id} version {cite.version}, by {cite.actor} at "
        f"{_moment(cite.recorded_at)}"
    )
    return f'<span class="cite" title="{escape(detail)}">#{cite.position}·v{cite.version}</span>'


def _flags(flags: Sequence[str]) -> str:
    return "".join(f'<span class="flag">{escape(f.replace("_", " "))}</span>' for f in flags)


def _num(value: Decimal | None) -> str:
    return NONE if value is None else escape(format(value, "f"))


def _month_name(key: str) -> str:
    year, month = key.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def _reason(reason: str | None, code: str | None) -> str:
    text = escape(reason) if reason else '<span class="muted">no reason recorded</span>'
    return f'{text} <span class="muted">({escape(code or "no code")})</span>'


def _share(part: int, whole: int, share: Decimal | None) -> str:
    if share is None:
        return '<span class="empty">no readings</span>'
    percent = (share * 100).quantize(Decimal("1"))
    css = "good" if share >= Decimal("0.7") else ("warn" if share >= Decimal("0.4") else "bad")
    return f'<span class="{css}">{part} of {whole}</span> ({percent}%)'


def _overview(evidence: PersonEvidence) -> str:
    head = "".join(f'<th class="n">{_month_name(m.month)}</th>' for m in evidence.months)

    def row(label: str, cells: list[str]) -> str:
        return f"<tr><th>{label}</th>{''.join(cells)}</tr>"

    def cell(value: int | str, css: str = "") -> str:
        return f'<td class="n {css}">{value}</td>'

    months = evidence.months
    kpis = [k for area in evidence.areas for k in area.kpis]

    def readings(index: int, month: MonthSummary) -> str:
        if month.readings:
            return cell(f"{month.readings} ({month.healthy_readings})")
        if not any(k.months[index].active for k in kpis):
            # No KPI of the person's existed yet (or any more): nothing was missed.
            return cell("no KPI", "muted")
        return cell(0, "empty")

    rows = [
        row("key results in play", [cell(m.key_results) for m in months]),
        row(
            "… without a check-in",
            [
                cell(
                    m.key_results_without_check_in,
                    "empty" if m.key_results_without_check_in else "",
                )
                for m in months
            ],
        ),
        row("OKR check-ins", [cell(m.check_ins) for m in months]),
        row("with a note", [cell(m.notes) for m in months]),
        row(
            "KPI readings (healthy)",
            [readings(index, m) for index, m in enumerate(months)],
        ),
        row("changes of plan", [cell(m.changes) for m in months]),
    ]
    return (
        "<h2>Evidence month by month</h2>"
        '<p class="hint">Every month of the period carries its own evidence below, the '
        "first as fully as the last; a month without check-ins or readings is shown as a "
        "gap, not left out.</p>"
        f'<table class="overview"><tr><th></th>{head}</tr>{"".join(rows)}</table>'
    )


def _level(kpi: KpiEvidence, target: Decimal, low: Decimal | None, high: Decimal | None) -> str:
    """A healthy level in the KPI's unit: "≤ 2.5 % of MRR", "99.9 to 100 %"."""
    unit = f"\N{NO-BREAK SPACE}{escape(kpi.unit)}" if kpi.unit else ""
    if low is not None and high is not None:
        return f"{_num(low)} to {_num(high)}{unit}"
    if low is not None:
        return f"≥ {_num(low)}{unit}"
    if high is not None:
        return f"≤ {_num(high)}{unit}"
    return f"{'≥' if kpi.direction == 'stay_above' else '≤'} {_num(target)}{unit}"


def _areas(areas: Sequence[AreaEvidence]) -> str:
    if not areas:
        return '<p class="empty">No KPIs owned in this period.</p>'
    parts = []
    for area in areas:
        parts.append(
            f"<h3>{escape(area.area)} "
            f'<span class="muted">— readings in the healthy range: '
            f"{_share(area.healthy_count, area.reading_count, area.healthy_share)}</span></h3>"
        )
        months = area.kpis[0].months
        head = "".join(f"<th>{_month_name(m.month)}</th>" for m in months)
        rows = [
            "<tr><th>KPI</th><th>Healthy level</th><th>Healthy readings</th><th>Trend</th>"
            f"{head}</tr>"
        ]
        changes: list[str] = []
        for kpi in area.kpis:
            rows.append(_kpi_row(kpi))
            changes.extend(_target_change(kpi, c) for c in kpi.target_changes)
            if kpi.retired is not None:
                changes.append(_retirement(f"KPI “{escape(kpi.name)}” retired", kpi.retired))
        parts.append(f"<table>{''.join(rows)}</table>")
        parts.extend(changes)
    return "\n".join(parts)


def _kpi_row(kpi: KpiEvidence) -> str:
    start, end = kpi.threshold_at_start, kpi.threshold_at_end
    level = _level(kpi, end.target, end.healthy_low, end.healthy_high)
    if start.cite.position != end.cite.position:
        before = _level(kpi, start.target, start.healthy_low, start.healthy_high)
        level = f"{before} → {level}"
    trend = '<span class="muted">one reading or none</span>'
    if kpi.trend is not None:
        css = {"improving": "good", "worsening": "bad"}.get(kpi.trend.verdict, "muted")
        trend = (
            f"{_num(kpi.trend.first_value)} → {_num(kpi.trend.last_value)} "
            f'<span class="{css}">{kpi.trend.verdict}</span>'
        )
    cells = []
    active = [index for index, month in enumerate(kpi.months) if month.active]
    for index, month in enumerate(kpi.months):
        if not month.active:
            # Outside the KPI's life nothing was due: said plainly, not as a gap.
            early = not active or index < active[0]
            cells.append(f'<td class="none">{"not yet defined" if early else "retired"}</td>')
            continue
        if not month.readings:
            cells.append('<td class="empty">no reading</td>')
            continue
        if len(month.readings) > MAX_READINGS_LISTED:
            cells.append(f"<td>{_readings_summary(month.readings)}</td>")
            continue
        cells.append(f"<td>{'<br>'.join(_reading(r) for r in month.readings)}</td>")
    definition = escape(kpi.formula or "")
    return (
        f'<tr><td><b title="{definition}">{escape(kpi.name)}</b> {_cite(kpi.defined)}</td>'
        f"<td>{level}</td>"
        f"<td>{_share(kpi.healthy_count, kpi.reading_count, kpi.healthy_share)}</td>"
        f"<td>{trend}</td>{''.join(cells)}</tr>"
    )


def _readings_summary(readings: Sequence[ReadingItem]) -> str:
    """A month of daily or weekly readings: counts, first and last (the JSON lists all)."""
    healthy = sum(1 for r in readings if r.healthy)
    first, last = readings[0], readings[-1]
    return (
        f"{len(readings)} readings, {healthy} healthy<br>first {_reading(first)}<br>"
        f"last {_reading(last)}"
    )


def _reading(reading: ReadingItem) -> str:
    mark = '<span class="good">✓</span>' if reading.healthy else '<span class="bad">✗</span>'
    corrected = ""
    if reading.corrections:
        corrected = f' <span class="corr">(recorded {_num(reading.recorded_value)})</span>'
    return (
        f"{reading.effective_on:%d %b}: <b>{_num(reading.value)}</b> {mark}{corrected} "
        f"{_cite(reading.cite)}"
    )


def _target_change(kpi: KpiEvidence, change: TargetChangeItem) -> str:
    before = (
        _level(kpi, change.target_before, change.healthy_low_before, change.healthy_high_before)
        if change.target_before is not None
        else NONE
    )
    after = _level(kpi, change.target_after, change.healthy_low_after, change.healthy_high_after)
    return (
        f'<div class="change"><b>Target of “{escape(kpi.name)}” changed</b> from {before} to '
        f"{after}, {_when(change.effective_on, change.cite)}: "
        f"{_reason(change.reason, change.reason_code)}{_flags(change.flags)} "
        f"{_cite(change.cite)}</div>"
    )


def _retirement(label: str, retired: RetirementItem) -> str:
    then = ""
    if retired.score_then is not None:
        light = escape(retired.traffic_light_then or "")
        then = f"; it stood at {_num(retired.score_then)} ({light})"
    return (
        f'<div class="retired"><b>{label}</b> {_when(retired.effective_on, retired.cite)}: '
        f"{_reason(retired.reason, retired.reason_code)}{then}"
        f"{_flags(retired.flags)} {_cite(retired.cite)}</div>"
    )


def _carry(carry: CarryItem) -> str:
    """The carry that closed a key result: one line of work goes on in a later cycle."""
    then = ""
    if carry.score_then is not None:
        then = f"; it stood at {_num(carry.score_then)} ({escape(carry.traffic_light_then or '')})"
    return (
        f'<div class="retired"><b>Carried forward</b> to {escape(carry.cycle_id)} as key result '
        f"{carry.key_result_id}, {_when(carry.effective_on, carry.cite)}: "
        f"{_reason(carry.reason, 'carried_forward')}{then} {_cite(carry.cite)}</div>"
    )


def _objectives(evidence: PersonEvidence, names: Mapping[str, str]) -> str:
    if not evidence.objectives:
        return '<p class="empty">No OKRs owned in this period.</p>'
    parts = []
    for objective in evidence.objectives:
        parts.append(_objective(evidence, objective, names))
    return "\n".join(parts)


def _named(person_id: str, names: Mapping[str, str]) -> str:
    name = names.get(person_id)
    return f"{name} ({person_id})" if name is not None else person_id


def _objective(
    evidence: PersonEvidence, objective: ObjectiveEvidence, names: Mapping[str, str]
) -> str:
    title = escape(objective.title or str(objective.objective_id))
    about = ", ".join(
        escape(x)
        for x in (
            f"cycle {objective.cycle_id}" if objective.cycle_id else None,
            objective.kind,
            f"owned by {_named(objective.owner, names)}" if objective.owner else None,
        )
        if x
    )
    cite = _cite(objective.created) if objective.created else ""
    parts = [f'<h3>Objective: {title} <span class="muted">({about})</span> {cite}</h3>']
    parts.append(_self_assessment(objective.self_assessment))
    if objective.retired is not None:
        parts.append(_retirement("Objective retired", objective.retired))
    if not objective.key_results:
        parts.append(
            f'<p class="muted">No key results of {escape(evidence.person)}\'s own '
            "under this objective.</p>"
        )
    parts.extend(_key_result(evidence, kr) for kr in objective.key_results)
    return "\n".join(parts)


def _key_result(evidence: PersonEvidence, kr: KeyResultEvidence) -> str:
    plan, original = kr.plan_at_end, kr.original_plan
    unit = f" {escape(kr.unit)}" if kr.unit else ""
    final = '<span class="empty">no check-in in the period</span>'
    if kr.final is not None:
        final = f"<b>{_num(kr.final.value)}</b>{unit} "
        final += f'<span class="muted">on {kr.final.effective_on}</span>'
    lines = [
        f"<h4>{escape(kr.title)} {_cite(kr.created)}</h4>",
        f'<p class="plan">Baseline <b>{_num(plan.baseline)}</b> → target '
        f"<b>{_num(plan.target)}</b> → final {final}</p>",
        _score(kr.score_at_end, retired=kr.retired is not None),
        _self_assessment(kr.self_assessment),
    ]
    if (plan.baseline, plan.target) != (original.baseline, original.target):
        lines.append(
            f"<p>Originally {_num(original.baseline)} → {_num(original.target)} "
            f'<span class="muted">(from {original.effective_on})</span>; see the '
            "re-baselines below.</p>"
        )
    lines.append(
        f'<p class="muted">{escape(kr.direction)}; measured by '
        f"{escape(kr.measurement_source or NONE)}; {kr.check_in_count} check-ins in the period; "
        f"weight {_num(plan.weight)}.</p>"
    )
    lines.append(_confidence_strip(kr))
    if kr.carried_from is not None:
        lines.append(f'<p class="muted">Carried forward from key result {kr.carried_from}.</p>')
    changes = [_plan_change(change) for change in kr.plan_changes]
    if kr.retired is not None:
        changes.append(_retirement("Retired", kr.retired))
    if kr.carried_to is not None:
        changes.append(_carry(kr.carried_to))
    return (
        '<div class="card"><div class="card-head"><div class="facts">'
        f"{''.join(lines)}{''.join(changes)}</div>"
        f'<div class="chart">{key_result_chart(evidence, kr)}</div></div>'
        f"{_check_in_table(kr)}</div>"
    )


def _score(score: ScoreItem, *, retired: bool) -> str:
    """The score where the key result ended in the period, as `/v1/scores` gives it."""
    css = {"green": "good", "amber": "warn", "red": "bad"}.get(score.traffic_light, "muted")
    when = "when retired" if retired else "at the end"
    source = f" {_cite(score.check_in)}" if score.check_in is not None else " (the baseline)"
    return (
        f'<p class="score">Score {when} <b class="{css}">{_num(score.score)}</b> '
        f'<span class="{css}">{escape(score.traffic_light)}</span> '
        f'<span class="muted">on {score.as_of}, from the value {_num(score.value)}'
        f"{source}</span></p>"
    )


def _self_assessment(item: SelfAssessmentItem | None) -> str:
    """The owner's own grade and reflection, beside the computed score (ADR 34)."""
    if item is None:
        return ""
    reflection = escape(item.reflection).replace("\n", "<br>")
    return (
        f'<p class="self">Self-assessed <b>{_num(item.grade)}</b> by {escape(item.cite.actor)} '
        f'<span class="muted">(recorded {_moment(item.cite.recorded_at)})</span>: '
        f"{reflection}{_flags(item.flags)} {_cite(item.cite)}</p>"
    )


def _confidence_strip(kr: KeyResultEvidence) -> str:
    parts = ['<p class="strip">Confidence: ']
    for month in (m for m in kr.months if m.active):
        label = MONTHS[month.starts_on.month - 1]
        dots = "".join(
            f'<span class="dot {escape(c.confidence)}" '
            f'title="{c.effective_on}: {CONFIDENCE.get(c.confidence, c.confidence)}"></span>'
            for c in month.check_ins
        )
        parts.append(f'<span class="m">{label}</span>{dots or "<span class=empty>none</span>"}')
    parts.append("</p>")
    return "".join(parts)


def _plan_change(change: PlanChangeItem) -> str:
    if change.kind == "rebaselined":
        what = (
            f"<b>Re-baselined</b>: baseline {_num(change.baseline_before)} → "
            f"{_num(change.baseline_after)}, target {_num(change.target_before)} → "
            f"{_num(change.target_after)}"
        )
    else:
        what = f"<b>Re-weighted</b>: {_num(change.weight_before)} → {_num(change.weight_after)}"
    return (
        f'<div class="change">{what}, {_when(change.effective_on, change.cite)}: '
        f"{_reason(change.reason, change.reason_code)}"
        f"{_flags(change.flags)} {_cite(change.cite)}</div>"
    )


def _check_in_table(kr: KeyResultEvidence) -> str:
    rows = ['<table class="checkins"><tr><th>Month</th><th>Check-ins and notes</th></tr>']
    for month in kr.months:
        if not month.active:
            continue
        if month.check_ins:
            cell = "".join(_check_in(c) for c in month.check_ins)
        else:
            cell = '<span class="empty">no check-in this month</span>'
        rows.append(f'<tr><td class="month">{_month_name(month.month)}</td><td>{cell}</td></tr>')
    rows.append("</table>")
    outside = _month_ranges([m.month for m in kr.months if not m.active])
    if outside:
        cycle = f"cycle {kr.cycle_id}" if kr.cycle_id else "its life"
        rows.append(f'<p class="muted">Outside {escape(cycle)}: {outside}.</p>')
    return "".join(rows)


def _month_ranges(keys: Sequence[str]) -> str:
    """Months as runs: `2026-01`..`2026-06`, `2026-10` -> "Jan 2026 to Jun 2026, Oct 2026"."""
    runs: list[list[str]] = []
    for key in keys:
        year, month = (int(part) for part in key.split("-"))
        if runs:
            last_year, last_month = (int(part) for part in runs[-1][-1].split("-"))
            if (year, month) == (last_year + last_month // 12, last_month % 12 + 1):
                runs[-1].append(key)
                continue
        runs.append([key])
    return ", ".join(
        _month_name(run[0]) if len(run) == 1 else f"{_month_name(run[0])} to {_month_name(run[-1])}"
        for run in runs
    )


def _check_in(check_in: CheckInItem) -> str:
    corrections = "".join(
        f' <span class="corr">(recorded as {_num(check_in.recorded_value)}; corrected to '
        f"{_num(c.value)} by {escape(c.cite.actor)}: {escape(c.reason or '')})</span> "
        f"{_cite(c.cite)}"
        for c in check_in.corrections
    )
    # Backdating is how history is loaded, not news on every line; auditors see it elsewhere.
    flags = _flags([f for f in check_in.flags if f != "backdated_more_than_7_days"])
    confidence = CONFIDENCE.get(check_in.confidence, check_in.confidence)
    note = f" — {escape(check_in.note)}" if check_in.note else ""
    return (
        f'<div class="ci"><span class="dot {escape(check_in.confidence)}" '
        f'title="{escape(confidence)}"></span> {check_in.effective_on:%d %b} '
        f'<span class="v">{_num(check_in.value)}</span>{note} {_cite(check_in.cite)}'
        f"{corrections}{flags}</div>"
    )
