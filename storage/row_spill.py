"""Rows set aside on disk, read back grouped by a key: an import's memory flat in its rows.

A bulk import checks every row before it stores any (ADR 9), and a key result's rows
must be applied to it together, in file order. Holding a file's rows, or the key results
they lengthen, in memory grows with the file. This keeps the rows in a temporary SQLite
file (private to the process, removed on close) and hands them back one key at a time.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sqlite3
import tempfile
from collections.abc import Iterator
from itertools import groupby
from types import TracebackType
from typing import Any, Self
from uuid import UUID

_CHUNK = 5000


class RowSpill:
    """Rows by (key, index) in a temporary file; `groups()` reads them back in key order."""

    def __init__(self) -> None:
        handle, self._path = tempfile.mkstemp(prefix="goalpost-import-", suffix=".sqlite")
        os.close(handle)
        self._db = sqlite3.connect(self._path, isolation_level=None)
        # A scratch file: nothing to recover after a crash, so no journal and no syncing.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(
            "CREATE TABLE rows (key TEXT NOT NULL, idx INTEGER NOT NULL, row BLOB NOT NULL,"
            " PRIMARY KEY (key, idx)) WITHOUT ROWID"
        )
        self._pending: list[tuple[str, int, bytes]] = []
        self.count = 0

    def add(self, key: UUID, index: int, row: Any) -> None:
        self._pending.append((key.hex, index, pickle.dumps(row, pickle.HIGHEST_PROTOCOL)))
        self.count += 1
        if len(self._pending) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO rows VALUES (?, ?, ?)", self._pending)
            self._db.execute("COMMIT")
            self._pending.clear()

    def groups(self) -> Iterator[tuple[UUID, Iterator[tuple[int, Any]]]]:
        """Each key with its rows in index order; keys in no particular order. A group's
        rows must be read before the next group is asked for."""
        self._flush()
        cursor = self._db.execute("SELECT key, idx, row FROM rows ORDER BY key, idx")
        for key, rows in groupby(cursor, key=lambda r: str(r[0])):
            # Unpickled only what this process pickled, from a file only its owner may
            # read (mkstemp makes it 0600).
            yield UUID(hex=key), ((int(idx), pickle.loads(blob)) for _, idx, blob in rows)  # noqa: S301

    def close(self) -> None:
        self._db.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
