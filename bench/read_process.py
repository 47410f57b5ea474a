"""`bench.rebuild` (c) in a process of its own, started as an API worker starts.

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

from api import heap
from application.stores import open_ledger
from bench.ledger import Section
from projections.base import ReadModel
from projections.registry import read_model_named


def reads_in_own_process(
    url: str, history: object, reads: int, read_models: Sequence[type[ReadModel]]
) -> Section:
    """Run `bench.rebuild.bench_reads` in a fresh process; its progress goes to stderr."""
    # As plain fields: run as `python -m bench.rebuild`, History is `__main__`'s, which
    # the child (whose `__main__` is this module) could not unpickle.
    fields = dataclasses.asdict(history)  # type: ignore[call-overload]
    payload = pickle.dumps((url, fields, reads, [model.name for model in read_models]))
    done = subprocess.run(
        [sys.executable, "-m", "bench.read_process"],
        input=payload,
        stdout=subprocess.PIPE,
        check=True,
    )
    section: Section = pickle.loads(done.stdout)
    return section


def main() -> None:
    from bench.rebuild import History, bench_reads  # noqa: PLC0415 - it imports this module

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
