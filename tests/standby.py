"""A real hot standby of the test server, made for a test and removed after it (ADR 31).

`streaming_standby()` takes a base backup of the local PostgreSQL server
(`pg_basebackup -R`: the copy knows its primary and starts as a standby) into a temporary
folder, starts it with `pg_ctl` on a free port on 127.0.0.1, and, whatever happens,
stops it and removes the folder. PostgreSQL will not run as root, so when the suite runs
as root the folder is the `postgres` user's and the binaries run as that user.

The server must let a replication connection in from 127.0.0.1 (`.ci/ensure-postgres`
adds `host replication all 127.0.0.1/32 trust` to pg_hba.conf) and keep
`wal_level = replica` (the default).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from tests.conftest import PG_HOST, PG_MAINTENANCE_DB, PG_PORT, PG_USER, pg_admin

STARTUP_SECONDS = 60
REPLAY_PATIENCE = 30.0
# Settings a hot standby must hold at least as high as its primary, or it will not start.
AT_LEAST_THE_PRIMARYS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


def _binaries(major: int) -> Path | None:
    """Where this server version's pg_basebackup and pg_ctl are (GOALPOST_PG_BINDIR first)."""
    candidates = [os.environ.get("GOALPOST_PG_BINDIR", ""), f"/usr/lib/postgresql/{major}/bin"]
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        candidates.append(
            subprocess.run(
                ["pg_config", "--bindir"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
    for folder in filter(None, candidates):
        if all((Path(folder) / tool).is_file() for tool in ("pg_basebackup", "pg_ctl")):
            return Path(folder)
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("pg_basebackup"):
        return Path(on_path).parent
    return None


def _as_server_user(command: Sequence[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run the command as `postgres`."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return list(command)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((PG_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _run(command: Sequence[str]) -> str | None:
    """None when the command succeeded, else what it said."""
    done = subprocess.run(
        _as_server_user(command), capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode == 0:
        return None
    return f"exit {done.returncode}: {done.stderr.strip() or done.stdout.strip()}"


@dataclass(frozen=True)
class Standby:
    """A running hot standby of the test server."""

    port: int
    data: Path
    bindir: Path

    def url_for(self, primary_url: str) -> str:
        """The primary's URL, pointed at the standby: same database, schema and user."""
        parts = urlsplit(primary_url)
        netloc = (
            f"{parts.username}@{PG_HOST}:{self.port}"
            if parts.username
            else f"{PG_HOST}:{self.port}"
        )
        return urlunsplit(parts._replace(netloc=netloc))

    @contextmanager
    def admin(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        with psycopg.connect(
            host=PG_HOST,
            port=self.port,
            user=PG_USER,
            dbname=PG_MAINTENANCE_DB,
            autocommit=True,
            connect_timeout=5,
        ) as conn:
            yield conn

    def _wait_for(self, function: str, what: str) -> None:
        """Until the standby's `function` LSN reaches the primary's WAL as it is now."""
        with pg_admin() as primary:
            row = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        wanted = row[0]
        deadline = time.monotonic() + REPLAY_PATIENCE
        with self.admin() as conn:
            while True:
                reached = conn.execute(
                    sql.SQL("SELECT {}() >= %s::pg_lsn").format(sql.Identifier(function)),
                    (wanted,),
                ).fetchone()
                if reached is not None and reached[0]:
                    return
                if time.monotonic() > deadline:
                    pytest.fail(f"the standby has not {what} {wanted} in {REPLAY_PATIENCE:g} s")
                time.sleep(0.01)

    def catch_up(self) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        self._wait_for("pg_last_wal_replay_lsn", "replayed")

    def receive(self) -> None:
        """Wait until the standby has received (not necessarily replayed) all of it."""
        self._wait_for("pg_last_wal_receive_lsn", "received")

    def stop(self) -> None:
        """Stop it now (as a standby that fails would); the folder goes when the block ends."""
        _stop(self.bindir, self.data)

    def pause(self) -> None:
        with self.admin() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        with self.admin() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


def _configure(data: Path, port: int) -> None:
    """The base backup holds the data folder only; a Debian-style server keeps its
    configuration elsewhere, so the standby gets its own, small one."""
    with pg_admin() as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
            (list(AT_LEAST_THE_PRIMARYS),),
        ).fetchall()
    settings = [f"{name} = {setting}" for name, setting in rows]
    files = {
        "postgresql.conf": "\n".join(
            [
                "listen_addresses = '127.0.0.1'",
                f"port = {port}",
                # TCP only: no socket file in a shared folder.
                "unix_socket_directories = ''",
                "hot_standby = on",
                "shared_buffers = 16MB",
                # A throwaway copy: losing it in a crash costs nothing.
                "fsync = off",
                *settings,
                "",
            ]
        ),
        "pg_hba.conf": "host all all 127.0.0.1/32 trust\n",
        "pg_ident.conf": "",
    }
    owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
    for name, text in files.items():
        path = data / name
        path.write_text(text)
        if owner is not None:
            os.chown(path, owner.pw_uid, owner.pw_gid)


def _stop(bindir: Path, data: Path) -> None:
    """Stop the standby; if pg_ctl cannot, end its postmaster (by its own pid)."""
    if not (data / "postmaster.pid").exists():
        return
    stopped = subprocess.run(
        _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
        capture_output=True,
        timeout=60,
        check=False,
    )
    pid_file = data / "postmaster.pid"
    if stopped.returncode != 0 and pid_file.exists():
        with contextlib.suppress(OSError, ValueError, IndexError):
            os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGKILL)


def _start(bindir: Path, folder: Path, data: Path) -> int:
    """Start the standby on a free port (another, should one be taken meanwhile)."""
    log = folder / "standby.log"
    failed = None
    for _ in range(3):
        port = _free_port()
        _configure(data, port)
        failed = _run(
            [
                str(bindir / "pg_ctl"),
                *("-D", str(data), "-l", str(log), "-t", str(STARTUP_SECONDS)),
                *("-w", "start"),
            ]
        )
        if failed is None:
            return port
        _stop(bindir, data)
    said = log.read_text()[-2000:] if log.exists() else ""
    pytest.fail(f"the standby did not start ({failed}):\n{said}", pytrace=False)


@contextmanager
def streaming_standby() -> Iterator[Standby]:
    """A hot standby of the test server, streaming from it; stopped and removed afterwards."""
    with pg_admin() as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
    assert row is not None
    bindir = _binaries(int(row[0]))
    if bindir is None:
        pytest.skip(
            f"pg_basebackup and pg_ctl for PostgreSQL {row[0]} not found "
            "(set GOALPOST_PG_BINDIR to their folder)"
        )
    folder = Path(tempfile.mkdtemp(prefix="goalpost-standby-"))
    data = folder / "data"
    try:
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        refused = _run(
            [
                str(bindir / "pg_basebackup"),
                f"--host={PG_HOST}",
                f"--port={PG_PORT}",
                f"--username={PG_USER}",
                f"--pgdata={data}",
                "--write-recovery-conf",
                "--checkpoint=fast",
                "--wal-method=stream",
                "--no-sync",
            ]
        )
        if refused is not None:
            pytest.fail(
                f"pg_basebackup failed ({refused}); the server must let replication in "
                "from 127.0.0.1: run `.ci/ensure-postgres`",
                pytrace=False,
            )
        port = _start(bindir, folder, data)
        standby = Standby(port=port, data=data, bindir=bindir)
        standby.catch_up()
        yield standby
    finally:
        _stop(bindir, data)
        shutil.rmtree(folder, ignore_errors=True)
