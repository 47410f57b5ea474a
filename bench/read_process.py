"""`bench.rebuild` (c): its reads, timed in a process of their own, started as an API worker.

The bench's own process has built a 1M-event history and rebuilt every read model: it
holds their goal replicas and much else, and each of the collector's full collections
walks all of it. Timed there, a read's p99 carried pauses no API process has. This child
opens the ledger, settles its heap as `goalpost serve` does in each worker (ADR 47),
then times the reads, so their latencies are what a reader of the service would see.
"""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from api import heap
from application.ledger import GoalLedger
from application.stores import open_ledger
from bench.ledger import Row, Section, latencies, percentile
from projections.audit_trail import TrailEntry
from projections.base import ReadModel
from projections.change_report import change_report
from projections.evidence import EvidenceView, PersonEvidence
from projections.registry import read_model_named
from projections.scores import Scores, scores
from storage.views import ViewDatabase

if TYPE_CHECKING:
    from bench.rebuild import History


def reads_in_own_process(
    url: str, history: History, reads: int, read_models: Sequence[type[ReadModel]]
) -> Section:
    """Run `bench.rebuild.bench_reads` in a fresh process; its progress goes to stderr."""
    # As plain fields: run as `python -m bench.rebuild`, History is `__main__`'s, which
    # the child (whose `__main__` is this module) could not unpickle.
    fields = dataclasses.asdict(history)
    payload = pickle.dumps((url, fields, reads, [model.name for model in read_models]))
    done = subprocess.run(
        [sys.executable, "-m", "bench.read_process"],
        input=payload,
        stdout=subprocess.PIPE,
        check=True,
    )
    section: Section = pickle.loads(done.stdout)
    return section


def bench_reads(
    ledger: GoalLedger, history: History, reads: int, read_models: Sequence[type[ReadModel]]
) -> Section:
    section = Section()
    views = ViewDatabase(ledger)
    evidence = EvidenceView(views, ledger)
    cycle = history.cycles[0]
    owner = history.owners[0]
    # Only counts are kept of these first reads: an API process drops each answer once
    # sent, and a heavy person's evidence held here (over 100,000 objects) would put its
    # collections' walks into the reads timed after it.
    report_rows, corrections = _report_counts(change_report(views, cycle))
    # Its corrections, beside the creations flagged past the plan-size guidance (ADR 35).
    if corrections != history.corrections:
        raise RuntimeError(f"the change report of {cycle} has {corrections} corrections")
    # As the route reads it: with the cycle's dates, KPI rows within them too (ADR 37).
    opened = ledger.get_cycle(cycle)
    dates = (opened.starts_on, opened.ends_on)
    dated_rows, _ = _report_counts(change_report(views, cycle, cycle_dates=dates))
    check_ins = _check_ins(evidence.for_person(owner, history.starts_on, history.ends_on))
    quarter_check_ins = _check_ins(
        evidence.for_person(history.quarter_person, history.starts_on, history.ends_on)
    )
    samples = [
        (
            f"(c) evidence of a person-quarter ({quarter_check_ins} check-ins)",
            latencies(
                lambda: evidence.for_person(
                    history.quarter_person, history.starts_on, history.ends_on
                ),
                reads,
            ),
        ),
        (
            f"(c) change report of {cycle} ({report_rows} rows)",
            latencies(lambda: change_report(views, cycle), reads),
        ),
        (
            f"(c) change report of {cycle} with its dates ({dated_rows} rows)",
            latencies(lambda: change_report(views, cycle, cycle_dates=dates), reads),
        ),
        (
            f"(c) evidence of one person ({check_ins:,} check-ins)",
            latencies(
                lambda: evidence.for_person(owner, history.starts_on, history.ends_on), reads
            ),
        ),
    ]
    if Scores in read_models:
        board = len(scores(views, cycle_id=cycle).key_results)
        mine = len(scores(views, owner=owner).key_results)
        samples += [
            (
                f"(c) scores of {cycle} ({board} key results)",
                latencies(lambda: scores(views, cycle_id=cycle), reads),
            ),
            (
                f"(c) scores of one owner ({mine} key results)",
                latencies(lambda: scores(views, owner=owner), reads),
            ),
        ]
    for label, seconds in samples:
        section.rows += [
            Row(f"{label} p50", f"{percentile(seconds, 50) * 1000:.1f} ms", ""),
            Row("    p99", f"{percentile(seconds, 99) * 1000:.1f} ms", ""),
        ]
    section.notes.append(
        f"(c) {reads} calls each of projections.change_report.change_report (without and "
        "with the cycle's dates), "
        "EvidenceView.for_person and projections.scores.scores (a cycle's, an owner's, "
        "with their rollups) over the rebuilt read models, after 5 untimed calls"
    )
    return section


def _report_counts(report: Sequence[TrailEntry]) -> tuple[int, int]:
    """The report's rows, and how many of them are corrections."""
    return len(report), sum(row.event == "check_in_corrected" for row in report)


def _check_ins(evidence: PersonEvidence) -> int:
    return sum(
        kr.check_in_count for objective in evidence.objectives for kr in objective.key_results
    )


def main() -> None:
    from bench.rebuild import History  # noqa: PLC0415 - bench.rebuild imports this module

    url, fields, reads, names = pickle.load(sys.stdin.buffer)
    history = History(**fields)
    ledger = open_ledger(url)
    try:
        heap.settle()
        section = bench_reads(ledger, history, reads, [read_model_named(n) for n in names])
    finally:
        ledger.close()
    sys.stdout.buffer.write(pickle.dumps(section))


if __name__ == "__main__":
    main()
