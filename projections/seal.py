"""Seal: a tamper-evidence hash chain over the whole log, in order.

Each stored event gets one row in `goalpost_seal`: its position and the hash that chains
it to the row before (projections.seal_chain says how). `goalpost verify` recomputes the
chain and holds the record-time index to it (projections.verify, ADRs 13 and 24).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Notification
from psycopg.sql import SQL

from application.ledger import GoalLedger
from domain.base import LedgerAggregate
from projections.base import ReadModel
from projections.seal_chain import GENESIS, GENESIS_POSITION, SEAL, link, link_notification
from projections.verify import (
    Anchor,
    Finding,
    SealUnavailableError,
    Verification,
    verify,
)
from storage.views import FIRST_GENERATION, ViewDatabase, ViewTransaction

# Verification is asked of the seal: its names are the seal's too.
__all__ = [
    "GENESIS",
    "Anchor",
    "Finding",
    "Seal",
    "SealOutOfStepError",
    "SealRebuildRefusedError",
    "SealUnavailableError",
    "Verification",
    "link",
    "verify",
]


class SealOutOfStepError(RuntimeError):
    """The seal was asked to seal a position at or before its own head."""


class SealRebuildRefusedError(RuntimeError):
    """A rebuild computed a hash the live seal disagrees with: it would launder a change."""


# Live seal rows a rebuild compares with, read this many at a time.
LIVE_WINDOW = 1000


class Seal(ReadModel):
    """Seals every stored event, whatever its type, from its stored bytes (never decoded).

    A rebuild (`goalpost projections rebuild seal`) recomputes the chain from the log as
    it is now; were an event altered, the new generation would seal the altered bytes
    and the switch would drop the evidence. So every hash it computes is compared with
    the live generation's row at that position, and the first disagreement stops it.
    """

    name = SEAL
    # Starting it afresh would drop the evidence of any change made before (ADR 17).
    keeps_evidence = True
    tables = (
        "CREATE TABLE IF NOT EXISTS {seal} (position {int} PRIMARY KEY, hash {text} NOT NULL)",
    )

    def __init__(self, ledger: GoalLedger, database: ViewDatabase) -> None:
        super().__init__(ledger, database)
        self._batch: ViewTransaction | None = None
        self._head: tuple[int, bytes] = (GENESIS_POSITION, GENESIS)
        self._live: _LiveRows | None = None

    def process(self, tx: ViewTransaction, stored: Notification) -> None:
        if tx is not self._batch or self._live is None:
            # A new batch: chain from what is committed, not from memory, which a
            # rolled-back batch or another worker may have left behind the store.
            self._batch = tx
            self._head = self._committed_head(tx)
            self._live = _LiveRows(self.database, tx, self._head[0])
        head_position, head_hash = self._head
        if stored.id <= head_position:
            raise SealOutOfStepError(
                f"position {stored.id} is at or before the seal's head {head_position}: "
                "the seal's rows and its tracking position disagree"
            )
        digest = link_notification(head_hash, stored)
        live = self._live.hash_at(stored.id)
        if live is not None and live != digest.hex():
            raise SealRebuildRefusedError(
                f"the log no longer matches the live seal at position {stored.id}; a rebuild "
                "would seal the changed history and drop the evidence: run `goalpost verify`"
            )
        tx.execute("INSERT INTO {seal} (position, hash) VALUES (%s, %s)", (stored.id, digest.hex()))
        self._head = (stored.id, digest)

    def forget(self) -> None:
        super().forget()
        self._batch = None
        self._live = None

    def after(
        self,
        tx: ViewTransaction,
        event: LedgerAggregate.Event,
        stored: Notification,
        before: Any,
    ) -> None:
        """Unused: `process` seals the stored bytes without decoding them."""

    @staticmethod
    def _committed_head(tx: ViewTransaction) -> tuple[int, bytes]:
        rows = tx.query("SELECT position, hash FROM {seal} ORDER BY position DESC LIMIT 1")
        if not rows:
            return GENESIS_POSITION, GENESIS
        return int(rows[0]["position"]), bytes.fromhex(str(rows[0]["hash"]))


class _LiveRows:
    """The live generation's seal rows after a batch's head, read a window at a time.

    For the live worker the batch writes the live generation itself, so there are none
    and this costs one empty query a batch; for a rebuild they are what it must match.
    """

    def __init__(self, database: ViewDatabase, tx: ViewTransaction, after: int) -> None:
        state = tx.read_model(Seal.name)
        # Named here, in the batch's own transaction, never through a second connection.
        table = database.table_identifier(
            SEAL, state.generation if state is not None else FIRST_GENERATION
        )
        self._statement = SQL(
            "SELECT position, hash FROM {table} WHERE position > %s ORDER BY position LIMIT %s"
        ).format(table=table)
        self._tx = tx
        self._after = after
        self._rows: dict[int, str] = {}
        self._exhausted = False

    def hash_at(self, position: int) -> str | None:
        while not self._exhausted and position > self._after:
            found = self._tx.rows(self._statement, (self._after, LIVE_WINDOW))
            self._rows = {int(position): str(digest) for position, digest in found}
            self._exhausted = len(found) < LIVE_WINDOW
            if found:
                self._after = int(found[-1][0])
        return self._rows.pop(position, None)
