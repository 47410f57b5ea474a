"""The evidence page's account of why each goal is on it: how the person stood to the goal
(owner, contributor, team member) and in which months, citing the events (ADR 42)."""

from __future__ import annotations

from html import escape
from uuid import UUID

from projections.evidence.items import Citation, PersonEvidence, RelationItem

RELATIONS = {"owner": "owner", "contributor": "contributor", "team_member": "team member"}


def _titles(evidence: PersonEvidence) -> dict[UUID, str]:
    titles: dict[UUID, str] = {}
    for objective in evidence.objectives:
        titles[objective.objective_id] = objective.title or str(objective.objective_id)
        for key_result in objective.key_results:
            titles[key_result.key_result_id] = key_result.title
    for area in evidence.areas:
        for kpi in area.kpis:
            titles[kpi.kpi_id] = kpi.name
    return titles


def _cite(cite: Citation) -> str:
    detail = f"{cite.event} by {cite.actor}, goal version {cite.version}"
    return f'<span class="cite" title="{escape(detail)}">#{cite.position}·v{cite.version}</span>'


def _row(item: RelationItem, titles: dict[UUID, str]) -> str:
    relation = RELATIONS.get(item.relation, item.relation)
    if item.team is not None:
        relation += f" (through {escape(item.team)})"
    until = str(item.ends_on) if item.ends_on is not None else "on"
    return (
        f"<tr><td>{escape(titles.get(item.goal_id, str(item.goal_id)))}</td>"
        f"<td>{escape(relation)}</td><td>{item.starts_on} to {until}</td>"
        f"<td>{escape(', '.join(item.months))}</td>"
        f"<td>{' '.join(_cite(c) for c in item.cites)}</td></tr>"
    )


def relations_section(evidence: PersonEvidence) -> str:
    """A table of the person's relations to the goals on the page; empty without any."""
    if not evidence.relations:
        return ""
    titles = _titles(evidence)
    rows = "".join(_row(item, titles) for item in evidence.relations)
    return (
        "<h2>Why these goals</h2>"
        "<table><tr><th>goal</th><th>as</th><th>from</th><th>months of the period</th>"
        f"<th>events</th></tr>{rows}</table>"
    )
