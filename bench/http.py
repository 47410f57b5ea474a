"""HTTP check-in throughput and latency on PostgreSQL, against a same-run raw-INSERT endpoint.

Run by hand: `.venv/bin/python -m bench.http [--duration S] [--warmup S] [--threads N]
[--connections N] [--workers N] [--key-results N] [--python-requests N]`.
The server runs in its own uvicorn process (the real app plus one raw-INSERT route); the
load comes from `wrk` (Debian package `wrk`), driven by one Lua script per endpoint in
bench/wrk/, so the load generator is native code rather than Python threads competing
with the server for the interpreter. Both sides share this machine: compare the ratios,
not the absolute figures, across machines.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import psycopg
from fastapi import FastAPI
from psycopg import sql
from psycopg_pool import ConnectionPool

from api import heap
from api.app import create_app
from application.stores import init_store, open_ledger

ADMIN_DB = "postgresql://postgres@127.0.0.1:5432/postgres"
PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
SCRIPTS = Path(__file__).parent / "wrk"
# The issue's targets for check-ins against the baseline.
MIN_RATIO = 0.5
MAX_P99_RATIO = 2.0
RESULT = re.compile(
    r"bench-result requests=(\d+) seconds=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) "
    r"non2xx=(\d+) socket_errors=(\d+) statuses=(\S*)"
)


def bench_app() -> FastAPI:
    """The real API plus one baseline route that does a single raw INSERT."""
    app = create_app(open_ledger(os.environ["GOALPOST_DATABASE_URL"]))
    pool = ConnectionPool(os.environ["BENCH_RAW_URL"], min_size=4, max_size=16, open=True)
    insert = sql.SQL("INSERT INTO {} (id, version, topic, state) VALUES (%s, 1, 'bench', %s)")
    statement = insert.format(sql.Identifier(os.environ["BENCH_RAW_TABLE"]))

    @app.post("/bench/raw-insert", status_code=201)
    def raw_insert() -> dict[str, str]:
        row_id = uuid4()
        with pool.connection() as conn:
            conn.execute(statement, (row_id, b"x" * 300))
        return {"id": str(row_id)}

    # As `goalpost serve` leaves each worker process (api.app.app_from_environment).
    heap.settle()
    return app


@dataclass(frozen=True)
class Run:
    """One wrk run: throughput, latency (ms) and how many requests did not succeed."""

    requests: int
    rps: float
    p50: float
    p99: float
    non_2xx: int
    socket_errors: int
    statuses: str


def run_wrk(script: str, seconds: int, args: argparse.Namespace, env: dict[str, str]) -> Run:
    """Load the server with wrk for `seconds`; the script's done() reports the figures."""
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s",
        "--timeout", "10s", "--latency", "-s", str(SCRIPTS / script), BASE,
    ]  # fmt: skip
    # A run-unique prefix keeps Idempotency-Keys from repeating across runs.
    run_env = {
        **env,
        "BENCH_RUN": f"{script}-{secrets.token_hex(4)}",
        "BENCH_WRK_REPORT": str(SCRIPTS / "report.lua"),
    }
    done = subprocess.run(command, env=run_env, capture_output=True, text=True, check=False)
    found = RESULT.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    requests, seconds_run, p50, p99, non_2xx, socket_errors, statuses = found.groups()
    return Run(
        requests=int(requests),
        rps=int(requests) / float(seconds_run),
        p50=float(p50),
        p99=float(p99),
        non_2xx=int(non_2xx),
        socket_errors=int(socket_errors),
        statuses=statuses,
    )


def python_client_baseline(requests: int, clients: int) -> float:
    """The previous method: httpx clients on threads in this process, req/s on the baseline."""

    def worker(offset: int) -> None:
        with httpx.Client(base_url=BASE, timeout=30) as client:
            for _ in range(offset, requests, clients):
                client.post("/bench/raw-insert").raise_for_status()

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return requests / (time.perf_counter() - started)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per endpoint")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        # The server speaks through `goalpost serve`'s protocol, which turns Nagle off on
        # each connection: uvicorn's own leaves it on with several workers (uvicorn#3149).
        help="uvicorn worker processes",
    )
    parser.add_argument("--key-results", type=int, default=50)
    parser.add_argument(
        "--python-requests",
        type=int,
        default=1000,
        help="baseline requests through the previous Python client, for comparison (0: skip)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(
            "bench.http needs wrk as its load generator: `apt-get install wrk` (Debian/Ubuntu)"
        )

    # A cycle that includes today, so every check-in date in it is valid: inside the
    # cycle and not in the future.
    today = datetime.now(UTC).date()
    starts_on = today - timedelta(days=89)
    dates = [starts_on + timedelta(days=n) for n in range(90)]

    database = "goalpost_bench_" + secrets.token_hex(4)
    with psycopg.connect(ADMIN_DB, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    server: subprocess.Popen[bytes] | None = None
    try:
        init_store(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE raw_events (id uuid, version bigint, topic text, state bytea, "
                "PRIMARY KEY (id, version))"
            )
        ledger = open_ledger(url)
        token, _ = ledger.issue_token(actor="bench", subject="bench-admin", roles=["admin"])
        ledger.open_cycle(
            actor="bench", key="bench", starts_on=starts_on, ends_on=starts_on + timedelta(91)
        )
        objective = ledger.create_objective(
            actor="bench", cycle_id="bench", title="Bench", owner="bench", kind="committed"
        )
        key_results = [
            ledger.create_key_result(
                actor="bench",
                objective_id=objective.id,
                title=f"KR {n}",
                owner="bench",
                unit="",
                direction="increase",
                baseline="0",
                target="100",
                measurement_source="bench",
                measurement_query="bench",
                effective_on=starts_on,
            ).id
            for n in range(args.key_results)
        ]
        ledger.close()

        env = {
            **os.environ,
            "GOALPOST_DATABASE_URL": url,
            "BENCH_RAW_URL": url,
            "BENCH_RAW_TABLE": "raw_events",
            "BENCH_TOKEN": token,
            "BENCH_KEY_RESULTS": ",".join(str(key_result) for key_result in key_results),
            "BENCH_DATES": ",".join(day.isoformat() for day in dates),
        }
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "bench.http:bench_app", "--factory",
                "--host", "127.0.0.1", "--port", str(PORT), "--workers", str(args.workers),
                "--http", "cli.serve:NoDelayH11Protocol", "--log-level", "warning",
            ],
            env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{BASE}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)

        load_at_start = os.getloadavg()[0]
        # Warm both paths (connections, prepared statements, caches) before measuring.
        for script in ("raw_insert.lua", "check_in.lua"):
            run_wrk(script, args.warmup, args, env)
        baseline = run_wrk("raw_insert.lua", args.duration, args, env)
        check_ins = run_wrk("check_in.lua", args.duration, args, env)
        python_rps = (
            python_client_baseline(args.python_requests, args.connections)
            if args.python_requests
            else None
        )
        load_at_end = os.getloadavg()[0]

        print(f"# HTTP bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, PostgreSQL")
        print(
            f"# wrk -t{args.threads} -c{args.connections}, {args.duration} s per endpoint after "
            f"{args.warmup} s warm-up; {args.workers} uvicorn worker(s); "
            f"{args.key_results} key results"
        )
        print(
            f"# load average {load_at_start:.2f} at start, {load_at_end:.2f} at end "
            f"({os.cpu_count()} CPUs; other work on the machine skews it)"
        )
        print(f"{'endpoint':<38}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}")
        rows = (
            ("POST /bench/raw-insert (baseline)", baseline),
            ("POST /v1/key-results/{id}/check-ins", check_ins),
        )
        for label, run in rows:
            print(f"{label:<38}{run.rps:>8.0f}{run.p50:>9.1f}{run.p99:>9.1f}{run.non_2xx:>9}")
        ratio = check_ins.rps / baseline.rps
        p99_ratio = check_ins.p99 / baseline.p99
        print(
            f"ratio (check-in / baseline req/s): {ratio:.2f}x "
            f"(target >= {MIN_RATIO}x) {verdict(ratio >= MIN_RATIO)}"
        )
        print(
            f"p99 ratio (check-in / baseline): {p99_ratio:.2f}x "
            f"(target <= {MAX_P99_RATIO}x) {verdict(p99_ratio <= MAX_P99_RATIO)}"
        )
        if python_rps is not None:
            print(
                f"baseline through the previous Python client ({args.connections} httpx threads, "
                f"{args.python_requests} requests): {python_rps:.0f} req/s, "
                f"{python_rps / baseline.rps:.2f}x of wrk's"
            )
        failed = [
            f"{label}: {run.non_2xx} non-2xx, {run.socket_errors} socket errors "
            f"(statuses {run.statuses})"
            for label, run in rows
            if run.non_2xx or run.socket_errors
        ]
        if failed:
            raise SystemExit("requests failed:\n" + "\n".join(failed))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(ADMIN_DB, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )


if __name__ == "__main__":
    main()
