"""HTTP check-in throughput and latency on PostgreSQL, against a same-run raw-INSERT endpoint.

Run by hand: `.venv/bin/python -m bench.http [--requests N] [--clients N] [--workers N]`.
The server runs in its own process (uvicorn), the clients are threads here; both sides
share this machine, so compare the ratio, not the absolute figures, across machines.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import httpx
import psycopg
from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from api.app import create_app
from application.stores import init_store, open_ledger

ADMIN_DB = "postgresql://postgres@127.0.0.1:5432/postgres"
CYCLE_START = date(2026, 7, 1)


def bench_app() -> FastAPI:
    """The real API plus one baseline route that does a single raw INSERT."""
    app = create_app(open_ledger(os.environ["GOALPOST_DATABASE_URL"]))
    pool = ConnectionPool(os.environ["BENCH_RAW_URL"], min_size=4, max_size=16, open=True)
    table = os.environ["BENCH_RAW_TABLE"]

    @app.post("/bench/raw-insert", status_code=201)
    def raw_insert() -> dict[str, str]:
        row_id = uuid4()
        with pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {table} (id, version, topic, state) VALUES (%s, 1, 'bench', %s)",
                (row_id, b"x" * 300),
            )
        return {"id": str(row_id)}

    return app


def measure(
    label: str, requests: int, clients: int, call: Callable[[httpx.Client, int], int]
) -> tuple[float, float, float]:
    latencies: list[float] = []
    failures = 0

    def worker(offset: int) -> None:
        nonlocal failures
        with httpx.Client(base_url=BASE, timeout=30) as client:
            for n in range(offset, requests, clients):
                started = time.perf_counter()
                status = call(client, n)
                latencies.append(time.perf_counter() - started)
                if status >= 300:
                    failures += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{label}: {failures} requests failed")
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return requests / elapsed, statistics.median(ordered) * 1000, p99 * 1000


BASE = "http://127.0.0.1:8765"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--key-results", type=int, default=50)
    args = parser.parse_args()

    database = "goalpost_bench_" + secrets.token_hex(4)
    with psycopg.connect(ADMIN_DB, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {database}")
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
            actor="bench", key="2026-Q3", starts_on=CYCLE_START, ends_on=date(2026, 9, 30)
        )
        objective = ledger.create_objective(
            actor="bench", cycle_id="2026-Q3", title="Bench", owner="bench", kind="committed"
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
                effective_on=CYCLE_START,
            ).id
            for n in range(args.key_results)
        ]
        ledger.close()

        env = {
            **os.environ,
            "GOALPOST_DATABASE_URL": url,
            "BENCH_RAW_URL": url,
            "BENCH_RAW_TABLE": "raw_events",
        }
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "bench.http:bench_app", "--factory",
                "--host", "127.0.0.1", "--port", "8765", "--workers", str(args.workers),
                "--log-level", "warning",
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

        headers = {"Authorization": f"Bearer {token}"}

        def check_in(client: httpx.Client, n: int) -> int:
            key_result = key_results[n % len(key_results)]
            return client.post(
                f"/v1/key-results/{key_result}/check-ins",
                json={
                    "value": str(n % 100),
                    "confidence": "on_track",
                    "note": "bench",
                    "effective_on": (CYCLE_START + timedelta(days=n % 90)).isoformat(),
                },
                headers={**headers, "Idempotency-Key": f"bench-{n}"},
            ).status_code

        def raw(client: httpx.Client, _: int) -> int:
            return client.post("/bench/raw-insert").status_code

        # Warm both paths (connections, prepared statements) before measuring.
        measure("warm-up", 100, args.clients, raw)
        base_rps, base_p50, base_p99 = measure("raw", args.requests, args.clients, raw)
        ours_rps, ours_p50, ours_p99 = measure("check-in", args.requests, args.clients, check_in)

        print(f"# HTTP bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        print(
            f"# {args.requests} requests, {args.clients} concurrent clients, "
            f"{args.workers} uvicorn workers, {args.key_results} key results, PostgreSQL"
        )
        print(f"{'endpoint':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
        for label, rps, p50, p99 in (
            ("POST /bench/raw-insert (baseline)", base_rps, base_p50, base_p99),
            ("POST /v1/key-results/{id}/check-ins", ours_rps, ours_p50, ours_p99),
        ):
            print(f"{label:<34}{rps:>9.0f}{p50:>9.1f}{p99:>9.1f}")
        print(f"ratio (check-in / baseline throughput): {ours_rps / base_rps:.2f}x")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(ADMIN_DB, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


if __name__ == "__main__":
    main()
