"""The evidence page's chart of a key result: its value over time against the baseline
and target in force, changes of plan and retirement marked where they took effect.

Inline SVG, a pure function of the evidence: the same evidence draws the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape
from itertools import pairwise

from domain.plans import plan_in_force
from projections.evidence.items import KeyResultEvidence, PersonEvidence

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class _Point:
    day: date
    value: Decimal
    recorded: Decimal | None


@dataclass(frozen=True)
class _Segment:
    starts_on: date
    ends_on: date
    baseline: Decimal
    target: Decimal


@dataclass(frozen=True)
class _Marker:
    day: date
    label: str


def key_result_chart(evidence: PersonEvidence, kr: KeyResultEvidence) -> str:
    """The key result's value over the part of the period its cycle covers."""
    start = max(evidence.period_from, kr.cycle_starts_on or evidence.period_from)
    end = min(evidence.period_to, kr.cycle_ends_on or evidence.period_to)
    if end <= start:
        start, end = evidence.period_from, evidence.period_to
    boundaries = sorted(
        {start, end} | {p.effective_on for p in kr.plans if start < p.effective_on < end}
    )
    segments = []
    for first, last in pairwise(boundaries):
        plan = plan_in_force(kr.plans, first)
        segments.append(_Segment(first, last, plan.baseline, plan.target))
    points = [
        _Point(c.effective_on, c.value, c.recorded_value if c.corrections else None)
        for month in kr.months
        for c in month.check_ins
    ]
    markers = [
        _Marker(c.effective_on, "re-baselined")
        for c in kr.plan_changes
        if c.kind == "rebaselined" and start <= c.effective_on <= end
    ]
    if kr.retired is not None and start <= kr.retired.effective_on <= end:
        markers.append(_Marker(kr.retired.effective_on, "retired"))
    return _chart(kr.title, start, end, points, segments, markers)


WIDTH, HEIGHT = 500, 200
LEFT, RIGHT, TOP, BOTTOM = 46, 92, 32, 24


def _chart(
    title: str,
    start: date,
    end: date,
    points: Sequence[_Point],
    segments: Sequence[_Segment],
    markers: Sequence[_Marker],
) -> str:
    values = [p.value for p in points] + [p.recorded for p in points if p.recorded is not None]
    values += [s.baseline for s in segments] + [s.target for s in segments]
    low, high = min(values), max(values)
    span = high - low or abs(high) or Decimal(1)
    bottom, top = float(low - span * Decimal("0.08")), float(high + span * Decimal("0.08"))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    days = max(1, (end - start).days)

    def x(day: date) -> float:
        return LEFT + (day - start).days / days * plot_w

    def y(value: Decimal) -> float:
        return TOP + (top - float(value)) / (top - bottom) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
        f"<title>{escape(title)}: value over time against baseline and target</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafbfc" '
        'stroke="#c9ced6"/>',
    ]
    # Month lines and names along the bottom.
    month = date(start.year, start.month, 1)
    while month <= end:
        left = max(month, start)
        if month > start:
            out.append(
                f'<line x1="{x(month):.1f}" y1="{TOP}" x2="{x(month):.1f}" '
                f'y2="{TOP + plot_h}" stroke="#e1e5ea"/>'
            )
        out.append(
            f'<text x="{x(left) + 3:.1f}" y="{HEIGHT - 8}" font-size="10" fill="#4b5565">'
            f"{MONTHS[month.month - 1]}</text>"
        )
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    # Value ticks: the lowest and highest values shown.
    for value in sorted({low, high}):
        out.append(
            f'<text x="{LEFT - 4}" y="{y(value) + 3:.1f}" font-size="10" fill="#4b5565" '
            f'text-anchor="end">{escape(format(value, "f"))}</text>'
        )
    # Baseline and target as steps: a re-baseline moves them on its effective date.
    for name, colour, dash in (("baseline", "#6b7280", "2 3"), ("target", "#1a7f37", "6 3")):
        path = []
        for index, segment in enumerate(segments):
            level = y(segment.baseline if name == "baseline" else segment.target)
            path.append(f"{'M' if index == 0 else 'L'}{x(segment.starts_on):.1f},{level:.1f}")
            path.append(f"L{x(segment.ends_on):.1f},{level:.1f}")
        out.append(
            f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="1.6" '
            f'stroke-dasharray="{dash}"/>'
        )
    last = segments[-1]
    labels = sorted(
        [(y(last.target), f"target {last.target}", "#1a7f37"),
         (y(last.baseline), f"baseline {last.baseline}", "#6b7280")]
    )  # fmt: skip
    if labels[1][0] - labels[0][0] < 12:
        labels[1] = (labels[0][0] + 12, labels[1][1], labels[1][2])
    for level, text, colour in labels:
        out.append(
            f'<text x="{WIDTH - RIGHT + 4}" y="{level + 3:.1f}" font-size="10" '
            f'fill="{colour}">{escape(text)}</text>'
        )
    # Changes of plan and retirement, marked where they took effect.
    for index, marker in enumerate(markers):
        at = x(marker.day)
        anchor = "end" if at > LEFT + plot_w * 0.75 else "start"
        out.append(
            f'<line x1="{at:.1f}" y1="{TOP - 4}" x2="{at:.1f}" y2="{TOP + plot_h}" '
            'stroke="#c2410c" stroke-width="1.2" stroke-dasharray="3 2"/>'
            f'<text x="{at + (-3 if anchor == "end" else 3):.1f}" y="{TOP - 7 - 11 * (index % 2)}" '
            f'font-size="10" fill="#c2410c" text-anchor="{anchor}">'
            f"{escape(marker.label)} {marker.day:%d %b}</text>"
        )
    # The values as known, joined; a corrected value also shows where it was first recorded.
    if points:
        line = " ".join(f"{x(p.day):.1f},{y(p.value):.1f}" for p in points)
        out.append(f'<polyline points="{line}" fill="none" stroke="#1f5fbf" stroke-width="1.8"/>')
        for point in points:
            if point.recorded is not None:
                out.append(
                    f'<line x1="{x(point.day):.1f}" y1="{y(point.recorded):.1f}" '
                    f'x2="{x(point.day):.1f}" y2="{y(point.value):.1f}" stroke="#a15c07" '
                    'stroke-dasharray="2 2"/>'
                    f'<circle cx="{x(point.day):.1f}" cy="{y(point.recorded):.1f}" r="3.2" '
                    'fill="#fff" stroke="#a15c07" stroke-width="1.4"/>'
                )
            out.append(
                f'<circle cx="{x(point.day):.1f}" cy="{y(point.value):.1f}" r="2.8" '
                'fill="#1f5fbf"/>'
            )
        final = points[-1]
        out.append(
            f'<text x="{x(final.day) + 4:.1f}" y="{y(final.value) - 5:.1f}" font-size="10.5" '
            f'font-weight="bold" fill="#1f5fbf">{escape(str(final.value))}</text>'
        )
    else:
        out.append(
            f'<text x="{LEFT + plot_w / 2:.1f}" y="{TOP + plot_h / 2:.1f}" font-size="11" '
            'fill="#b42318" text-anchor="middle">no check-in in the period</text>'
        )
    out.append("</svg>")
    return "".join(out)
