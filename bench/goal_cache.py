"""Peak memory of one process that loads 10,000 goals: the goal cache's bound (ADR 45).

A SQLite store of its own (in a temporary folder, removed at the end) gets `--goals` key
results with `--check-ins` check-ins each. Then, in a fresh process each, with the API's
modules imported, every key result is loaded once as a command would (through the
cache), and the process's peak RSS is read from getrusage:

- bytes: the cache bounded in bytes (`GOALPOST_GOAL_CACHE_MB`, default 256);
- count: bounded by 2,000 goals, as before ADR 45;
- none: no cache at all (`GOALPOST_GOAL_CACHE_MB=0`), the process's own floor.

Run by hand: `.venv/bin/python -m bench.goal_cache` (`--goals 2000` for a quick run).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

from application.goal_cache import GoalCache
from application.ledger import CheckInImport, GoalLedger
from application.stores import open_ledger
from storage.settings import store_env

START = date(2026, 1, 1)
ACTOR = "bench-ops"
VARIANTS = {
    "bytes": {},
    "count": {"GOAL_CACHE_MB": "1000000", "AGGREGATE_CACHE_MAXSIZE": "2000"},
    "none": {"GOAL_CACHE_MB": "0"},
}


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def build(url: str, goals: int, check_ins: int) -> list[UUID]:
    ledger = open_ledger(url, create_tables=True)
    try:
        ledger.open_cycle(actor=ACTOR, key="2026", starts_on=START, ends_on=date(2026, 12, 31))
        ids: list[UUID] = []
        objective = None
        for n in range(goals):
            if n % 100 == 0:
                objective = ledger.create_objective(
                    actor=ACTOR, cycle_id="2026", title=f"Team {n // 100}",
                    owner=f"team-{n // 100}", kind="committed",
                ).id  # fmt: skip
                if n:
                    progress(f"{n:,} key results")
            assert objective is not None
            ids.append(
                ledger.create_key_result(
                    actor=ACTOR, objective_id=objective, title=f"Key result {n}",
                    owner=f"team-{n // 100}", unit="points", direction="increase",
                    baseline="0", target="100", measurement_source="bench",
                    measurement_query=f"points({n})", effective_on=START,
                ).id
            )  # fmt: skip
        # A chunk of key results at a time, so the setup's own memory stays small.
        for start in range(0, goals, 200):
            ledger.import_check_ins(
                actor=ACTOR,
                rows=[
                    CheckInImport(
                        key_result_id=kr,
                        value=f"{week % 97}.5",
                        confidence="on_track",
                        effective_on=START + timedelta(days=7 * (week % 47)),
                        note=f"week {week}: steady progress on the plan",
                    )
                    for kr in ids[start : start + 200]
                    for week in range(check_ins)
                ],
            )
            progress(f"check-ins of {min(start + 200, goals):,} key results")
        return ids
    finally:
        ledger.close()


def touch(url: str, ids_file: str, variant: str) -> None:
    """Child: load every key result once through the cache; print what memory shows."""
    import api.app  # noqa: F401, PLC0415  (the API process's modules, for a fair floor)

    ids = [UUID(i) for i in json.loads(Path(ids_file).read_text())]
    ledger = GoalLedger(env={**store_env(url), **VARIANTS[variant]})
    started = time.perf_counter()
    for goal_id in ids:
        ledger.get_key_result(goal_id)
    seconds = time.perf_counter() - started
    cache = ledger.repository.cache
    kept = len(cache.goal_ids()) if isinstance(cache, GoalCache) else 0
    estimate = cache.estimated_bytes if isinstance(cache, GoalCache) else 0
    if variant == "count":
        # The old bound kept the last 2,000; the estimate is ours, for comparison.
        assert isinstance(cache, GoalCache)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_mib": peak_kib / 1024, "kept": kept,
                      "estimate_mib": estimate / 2**20, "seconds": seconds}))  # fmt: skip
    ledger.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.goal_cache", description=__doc__)
    parser.add_argument("--goals", type=int, default=10_000)
    parser.add_argument("--check-ins", type=int, default=52, help="per key result")
    parser.add_argument("--touch", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.touch:
        touch(*args.touch)
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/goals.sqlite"
        started = time.perf_counter()
        ids = build(url, args.goals, args.check_ins)
        progress(f"store built in {time.perf_counter() - started:.0f} s")
        ids_file = Path(folder) / "ids.json"
        ids_file.write_text(json.dumps([str(i) for i in ids]))
        results = {}
        for variant in VARIANTS:
            progress(f"loading {len(ids):,} key results, cache: {variant}")
            out = subprocess.run(
                [sys.executable, "-m", "bench.goal_cache", "--touch", url, str(ids_file), variant],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            results[variant] = json.loads(out.strip().splitlines()[-1])
    print(f"{args.goals:,} key results x {args.check_ins} check-ins, SQLite, one process each")
    print(f"{'cache':<8}{'peak RSS':>12}{'goals kept':>12}{'estimate':>12}{'loads/s':>10}")
    for variant, r in results.items():
        print(
            f"{variant:<8}{r['peak_mib']:>9.0f} MiB{r['kept']:>12,}"
            f"{r['estimate_mib']:>8.0f} MiB{args.goals / r['seconds']:>10,.0f}"
        )


if __name__ == "__main__":
    main()
