"""Peak memory of `goalpost import-check-ins` as the file grows: it must stay flat.

A SQLite store of its own (in a temporary folder, removed at the end) gets `--key-results`
key results; for each size in `--rows`, a CSV file with that many rows, spread over the
key results row by row (the order least kind to grouping), is imported by the CLI in a
process of its own, and its peak RSS read from getrusage. A one-row file is the floor
of the same process, measured in the same run.

Run by hand: `.venv/bin/python -m bench.import_memory` (defaults: 200,000 and 400,000
rows over 2,000 key results). On PostgreSQL, pass `--database-url` of an empty schema
that `goalpost db init` has prepared.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

from application.stores import open_ledger

START = date(2026, 1, 1)
DAYS = 300
ACTOR = "bench-ops"


def progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def key_results(url: str, count: int) -> list[UUID]:
    ledger = open_ledger(url, create_tables=True)
    try:
        ledger.open_cycle(actor=ACTOR, key="2026", starts_on=START, ends_on=date(2026, 12, 31))
        ids: list[UUID] = []
        objective = None
        for n in range(count):
            if n % 100 == 0:
                objective = ledger.create_objective(
                    actor=ACTOR, cycle_id="2026", title=f"Team {n // 100}",
                    owner=f"team-{n // 100}", kind="committed",
                ).id  # fmt: skip
            assert objective is not None
            ids.append(
                ledger.create_key_result(
                    actor=ACTOR, objective_id=objective, title=f"Key result {n}",
                    owner=f"team-{n // 100}", unit="points", direction="increase",
                    baseline="0", target="100", measurement_source="bench",
                    measurement_query=f"points({n})", effective_on=START,
                ).id
            )  # fmt: skip
        return ids
    finally:
        ledger.close()


def write_file(path: Path, ids: list[UUID], rows: int, offset: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("key_result_id", "value", "confidence", "effective_on", "note"))
        for i in range(offset, offset + rows):
            writer.writerow(
                (
                    ids[i % len(ids)],
                    f"{i % 97}.5",
                    "on_track",
                    (START + timedelta(days=(i // len(ids)) % DAYS)).isoformat(),
                    f"imported row {i}: steady progress",
                )
            )


def run_import(url: str, path: Path) -> tuple[float, float]:
    """Peak RSS (MiB) and seconds of one `goalpost import-check-ins` process."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", "from cli.main import app; app()", "import-check-ins", str(path)],
        env={**os.environ, "GOALPOST_DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
    )
    # wait4: this child's own usage, not the largest of all children so far.
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"the import of {path.name} exited with {child.returncode}")
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_memory", description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 400_000])
    parser.add_argument("--key-results", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/import.sqlite"
        ids = key_results(url, args.key_results)
        results: list[tuple[str, float, float]] = []
        one = Path(folder) / "one.csv"
        write_file(one, ids, 1, 0)
        # Each run in order of size, so a larger peak is the larger file's own.
        peak, seconds = run_import(url, one)
        results.append(("1 row (the process's floor)", peak, seconds))
        offset = 1
        for rows in sorted(args.rows):
            path = Path(folder) / f"rows-{rows}.csv"
            write_file(path, ids, rows, offset)
            offset += rows
            progress(f"importing {rows:,} rows")
            peak, seconds = run_import(url, path)
            results.append((f"{rows:,} rows", peak, seconds))
            path.unlink()
    print(f"goalpost import-check-ins, {args.key_results:,} key results, rows spread over them")
    print(f"{'file':<30}{'peak RSS':>12}{'rows/s':>10}")
    for name, peak, seconds in results:
        rows = int(name.split()[0].replace(",", "")) if name[0].isdigit() else 1
        print(f"{name:<30}{peak:>8.0f} MiB{rows / seconds:>10,.0f}")


if __name__ == "__main__":
    main()
