"""The evidence page's chart of a key result: its value over time against the baseline
and target in force, changes of plan and retirement marked where they took effect.

Both axes are labelled along their length (values at round steps, the first of each
month), the baseline and target lines carry their values, and where a re-baseline moved
the target (or baseline), the original one stays drawn across the chart, labelled, so
the reader sees what the plan was first.

Inline SVG, a pure function of the evidence: the same evidence draws the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from html import escape
from itertools import pairwise

from domain.plans import plan_in_force
from projections.evidence.items import KeyResultEvidence, PersonEvidence, PlanItem

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


@dataclass(frozen=True)
class _Label:
    """A value named at the right edge, beside the line it belongs to."""

    level: float
    text: str
    colour: str


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
    return _chart(kr.title, start, end, points, segments, markers, kr.original_plan)


WIDTH, HEIGHT = 540, 214
LEFT, RIGHT, TOP, BOTTOM = 46, 132, 32, 30
TARGET, BASELINE, ORIGINAL = "#1a7f37", "#6b7280", "#7fb48f"
AXIS_TEXT = 'font-size="10" fill="#4b5565"'
# Value steps along the vertical axis: about this many, at 1, 2, 2.5 or 5 times a power of 10.
VALUE_TICKS = 5
STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
# Labels closer than this (in pixels) would overlap: the later one moves or is left out.
LABEL_GAP = 11
DAY_LABEL_WIDTH = 34


def _chart(
    title: str,
    start: date,
    end: date,
    points: Sequence[_Point],
    segments: Sequence[_Segment],
    markers: Sequence[_Marker],
    original: PlanItem,
) -> str:
    # The original plan is drawn where a re-baseline moved it, so its values set the scale too.
    moved_target = any(s.target != original.target for s in segments)
    moved_baseline = any(s.baseline != original.baseline for s in segments)
    values = [p.value for p in points] + [p.recorded for p in points if p.recorded is not None]
    values += [s.baseline for s in segments] + [s.target for s in segments]
    values += [original.target] if moved_target else []
    values += [original.baseline] if moved_baseline else []
    low, high = min(values), max(values)
    span = high - low or abs(high) or Decimal(1)
    bottom, top = low - span * Decimal("0.08"), high + span * Decimal("0.08")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    days = max(1, (end - start).days)

    def x(day: date) -> float:
        return LEFT + (day - start).days / days * plot_w

    def y(value: Decimal) -> float:
        return TOP + float(top - value) / float(top - bottom) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
        f"<title>{escape(title)}: value over time against baseline and target</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fafbfc" '
        'stroke="#c9ced6"/>',
    ]
    # Values at round steps up the left edge, each with a faint line across.
    for value in _value_ticks(bottom, top):
        out.append(
            f'<line x1="{LEFT - 3}" y1="{y(value):.1f}" x2="{LEFT + plot_w}" y2="{y(value):.1f}" '
            'stroke="#eef1f5"/>'
            f'<text x="{LEFT - 5}" y="{y(value) + 3:.1f}" {AXIS_TEXT} text-anchor="end">'
            f"{escape(_plain(value))}</text>"
        )
    out.extend(_day_ticks(start, end, x, TOP + plot_h))
    # The original target (and baseline) across the chart, where a re-baseline moved it.
    labels = []
    for moved, value, name in (
        (moved_target, original.target, "target"),
        (moved_baseline, original.baseline, "baseline"),
    ):
        if moved:
            out.append(
                f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{LEFT + plot_w}" y2="{y(value):.1f}" '
                f'stroke="{ORIGINAL}" stroke-width="1.2" stroke-dasharray="1 3"/>'
            )
            labels.append(_Label(y(value), f"original {name} {_plain(value)}", ORIGINAL))
    # Baseline and target as steps: a re-baseline moves them on its effective date.
    for name, colour, dash in (("baseline", BASELINE, "2 3"), ("target", TARGET, "6 3")):
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
    labels.append(_Label(y(last.target), f"target {_plain(last.target)}", TARGET))
    labels.append(_Label(y(last.baseline), f"baseline {_plain(last.baseline)}", BASELINE))
    for label in _spread(labels):
        out.append(
            f'<text x="{WIDTH - RIGHT + 4}" y="{label.level + 3:.1f}" font-size="10" '
            f'fill="{label.colour}">{escape(label.text)}</text>'
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
    out.extend(_values_drawn(points, x, y, LEFT + plot_w / 2, TOP + plot_h / 2))
    out.append("</svg>")
    return "".join(out)


def _values_drawn(
    points: Sequence[_Point],
    x: Callable[[date], float],
    y: Callable[[Decimal], float],
    middle_x: float,
    middle_y: float,
) -> list[str]:
    """The values as known, joined; a corrected value also shows where it was first recorded."""
    if not points:
        return [
            f'<text x="{middle_x:.1f}" y="{middle_y:.1f}" font-size="11" fill="#b42318" '
            'text-anchor="middle">no check-in in the period</text>'
        ]
    line = " ".join(f"{x(p.day):.1f},{y(p.value):.1f}" for p in points)
    out = [f'<polyline points="{line}" fill="none" stroke="#1f5fbf" stroke-width="1.8"/>']
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
            f'<circle cx="{x(point.day):.1f}" cy="{y(point.value):.1f}" r="2.8" fill="#1f5fbf"/>'
        )
    final = points[-1]
    out.append(
        f'<text x="{x(final.day) + 4:.1f}" y="{y(final.value) - 5:.1f}" font-size="10.5" '
        f'font-weight="bold" fill="#1f5fbf">{escape(_plain(final.value))}</text>'
    )
    return out


def _plain(value: Decimal) -> str:
    return format(value, "f")


def _value_ticks(bottom: Decimal, top: Decimal) -> list[Decimal]:
    """Round values from `bottom` to `top`: about VALUE_TICKS of them, a round step apart."""
    rough = (top - bottom) / VALUE_TICKS
    power = Decimal(10) ** rough.adjusted()
    step = next(power * s for s in STEPS if power * s >= rough)
    value = (bottom / step).to_integral_value(rounding=ROUND_CEILING) * step
    ticks = []
    while value <= top:
        # Written plainly: 0 and 100, not -0, 0E+1 or 1.00E+2; 0.5, not 0.50.
        if value == 0:
            ticks.append(Decimal(0))
        elif value == value.to_integral_value():
            ticks.append(value.quantize(Decimal(1)))
        else:
            ticks.append(value.normalize())
        value += step
    return ticks


def _day_ticks(start: date, end: date, x: Callable[[date], float], axis: float) -> list[str]:
    """A tick and a label at the first of each month, and at the chart's first and last day;
    a label that would overlap the one before it is left out (its tick stays)."""
    days = [start]
    month = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    while month < end:
        days.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    days.append(end)
    out = []
    labelled: list[float] = []
    for index, day in enumerate(days):
        at = x(day)
        last = index == len(days) - 1
        if start < day < end:
            out.append(
                f'<line x1="{at:.1f}" y1="{TOP}" x2="{at:.1f}" y2="{axis}" stroke="#e1e5ea"/>'
            )
        out.append(
            f'<line x1="{at:.1f}" y1="{axis}" x2="{at:.1f}" y2="{axis + 4}" stroke="#9aa3af"/>'
        )
        # The last day's label always shows; a month's gives way to the labels beside it.
        if not last and (
            (labelled and at - labelled[-1] < DAY_LABEL_WIDTH) or x(end) - at < DAY_LABEL_WIDTH
        ):
            continue
        labelled.append(at)
        out.append(
            f'<text x="{at:.1f}" y="{axis + 14}" {AXIS_TEXT} text-anchor="middle">'
            f"{day.day} {MONTHS[day.month - 1]}</text>"
        )
    return out


def _spread(labels: Sequence[_Label]) -> list[_Label]:
    """The labels top to bottom, each at least LABEL_GAP below the one above it, and all
    moved up together if that pushed the last one off the chart."""
    spread: list[_Label] = []
    for label in sorted(labels, key=lambda item: (item.level, item.text)):
        level = max(label.level, spread[-1].level + LABEL_GAP) if spread else label.level
        spread.append(_Label(level, label.text, label.colour))
    overflow = max(0.0, spread[-1].level - (HEIGHT - BOTTOM + LABEL_GAP)) if spread else 0.0
    return [_Label(label.level - overflow, label.text, label.colour) for label in spread]
