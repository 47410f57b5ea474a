"""Verification: recompute the seal over the whole log; name the first position that no
longer matches, and say what kind of change it was.

Verification also holds the record-time index (`<events>_times`, which `known_at` reads)
to the sealed states: each event's row must be the timestamp inside its own state, and
no row may name an event that does not exist (ADR 24). It is intact only when every
event up to the log's head was sealed and checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eventsourcing.persistence import PersistenceError

from application.ledger import GoalLedger
from projections.seal_chain import GENESIS, GENESIS_POSITION, HEX_HASH, SEAL, stored_hash
from projections.verify_log import Event, Malformed, Row, SealedLog, hash_of, record_time
from storage.record_times import RecordTimeRefusedError, claimed
from storage.views import ViewDatabase

VERIFY_BATCH = 5000


class Finding(StrEnum):
    """Why the first bad position is bad."""

    EVENT_ALTERED = "event_altered"
    EVENT_MISSING = "event_missing"
    EVENT_INSERTED = "event_inserted"
    SEAL_ROW_MISSING = "seal_row_missing"
    SEAL_ROW_ALTERED = "seal_row_altered"
    # The last sealed entry, or several in a row, changed: nothing after it tells which.
    EVENT_OR_SEAL_ALTERED = "event_or_seal_altered"
    ANCHOR_MISMATCH = "anchor_mismatch"
    # The record-time index no longer says what the event's own sealed state says.
    RECORD_TIME_ALTERED = "record_time_altered"
    RECORD_TIME_MISSING = "record_time_missing"
    # An index row for a version that has no event: `known_at` reads see a later state early.
    RECORD_TIME_INSERTED = "record_time_inserted"
    # Nothing found wrong, but events up to the head are not sealed yet: not intact.
    NOT_YET_SEALED = "not_yet_sealed"


@dataclass(frozen=True)
class Anchor:
    """A head hash an operator recorded earlier, outside the store."""

    position: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """`POSITION:HASH`, as `goalpost verify` prints it."""
        position, _, digest = text.strip().partition(":")
        digest = digest.strip().lower()
        if not position.strip().isdigit() or not HEX_HASH.match(digest):
            raise ValueError(
                f"an anchor is POSITION:HASH (a position and 64 hex digits), not {text!r}"
            )
        return cls(int(position), digest)


@dataclass(frozen=True)
class Verification:
    """What recomputing the seal found."""

    # Every event up to `log_head` was sealed, and matched its seal row and record time.
    intact: bool
    # Events whose seal hash was recomputed and matched, and whose record time did.
    checked: int
    # The position the seal covers up to (its tracking position); 0 if nothing is sealed.
    sealed_up_to: int
    # The seal hash at `sealed_up_to`, recomputed from the events: record it elsewhere.
    head_hash: str
    # The log's last position when verification began: the head it checked up to; and
    # how many events after `sealed_up_to` await the seal (if any, it is not intact).
    log_head: int
    unsealed: int
    # None only for an index row that names no event of a goal with none.
    first_bad_position: int | None = None
    finding: Finding | None = None
    detail: str | None = None
    anchor_checked: bool = False


class SealUnavailableError(Exception):
    """The seal's tables cannot be read (not created yet, or the store failed)."""


# The first bad position, what was found there, and an explanation.
_Problem = tuple[int | None, Finding, str]


def verify(
    ledger: GoalLedger,
    views: ViewDatabase,
    *,
    anchor: Anchor | None = None,
    batch_size: int = VERIFY_BATCH,
) -> Verification:
    """Recompute the seal over the whole log; name the first position that no longer matches.

    Reads the events (with their record times) and the seal's rows in position order,
    `batch_size` at a time, so memory stays bounded whatever the log's length. Events
    after the seal's tracking position are not sealed yet: their record times are still
    checked, but the log is intact only once the seal covers its head.
    """
    try:
        # The position first: every event and seal row up to it committed before it did.
        sealed_up_to = views.position(SEAL)
        log = SealedLog(ledger, views)
        log_head, unsealed = log.tail(sealed_up_to)
        # Fails here, not halfway, when the seal's table was never created.
        log.seal(0, 1)
    except PersistenceError as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise SealUnavailableError(
            f"the seal cannot be read: {first_line} (run `goalpost db init` first)"
        ) from error
    return _Walk(log, sealed_up_to, log_head, unsealed, anchor).run(batch_size)


class _Walk:
    """The merge of the two streams, with the chain hash carried along."""

    def __init__(
        self, log: SealedLog, sealed_up_to: int, log_head: int, unsealed: int, anchor: Anchor | None
    ) -> None:
        self.log = log
        self.sealed_up_to = sealed_up_to
        self.log_head = log_head
        self.unsealed = unsealed
        self.anchor = anchor
        self.chain = GENESIS
        self.last = GENESIS_POSITION
        self.checked = 0
        self.anchor_checked = False

    def run(self, batch: int) -> Verification:
        problem = self._walk(batch) or self._ends() or self._orphan() or self._not_yet_sealed()
        return self.result(intact=True) if problem is None else self.broken(*problem)

    def _walk(self, batch: int) -> _Problem | None:
        """Compare position by position; the first problem, or None if all matched."""
        events = self.log.stream_events(max(self.sealed_up_to, self.log_head), batch)
        seals = self.log.stream_seal(self.sealed_up_to, batch)
        event, seal = next(events, None), next(seals, None)
        while event is not None and seal is not None:
            position = seal[0]
            if event.position < position:
                return self._unsealed_event(event.position, event)
            if position < event.position:
                return self._missing_event(position)
            recomputed = hash_of(self.chain, event)
            if recomputed is None or recomputed.hex() != seal[1]:
                return self._mismatch(position, event, seal, recomputed)
            self.chain, self.last = recomputed, position
            problem = _record_time_problem(event)
            if problem is None:
                self.checked += 1
                if self.anchor is not None and position == self.anchor.position:
                    problem = self._anchor_problem(position)
            if problem is not None:
                return problem
            event, seal = next(events, None), next(seals, None)
        if event is not None and seal is None and event.position > self.sealed_up_to:
            return self._tail(event, events)
        return self._leftover(event, seal)

    def _tail(self, event: Row | None, events: Iterator[Row]) -> _Problem | None:
        """The events the seal has not reached yet: only their record times can be checked."""
        while event is not None:
            problem = _record_time_problem(event)
            if problem is not None:
                return problem
            event = next(events, None)
        return None

    def _leftover(self, event: Row | None, seal: tuple[int, str] | None) -> _Problem | None:
        """One stream ended before the other."""
        if event is not None:
            return self._unsealed_event(event.position, event)
        if seal is not None:
            return self._missing_event(seal[0])
        return None

    def _orphan(self) -> _Problem | None:
        found = self.log.orphan()
        if found is None:
            return None
        goal, version, recorded_at, position = found
        return (
            position,
            Finding.RECORD_TIME_INSERTED,
            f"the record-time index has a row for version {version} of {goal}, recorded at "
            f"{recorded_at}, but the log has no such event: `known_at` reads from then on "
            "take the goal's latest state as known, and its write of that version would clash",
        )

    def _not_yet_sealed(self) -> _Problem | None:
        if not self.unsealed:
            return None
        first = self.log.events(self.sealed_up_to, 1)
        return (
            first[0].position if first else self.sealed_up_to + 1,
            Finding.NOT_YET_SEALED,
            f"{self.unsealed} events after position {self.sealed_up_to}, up to the log's head "
            f"{self.log_head}, are not sealed yet, so they cannot be checked: `goalpost "
            "worker` seals them; verify again once it has",
        )

    def _anchor_problem(self, position: int) -> _Problem | None:
        if self.anchor is None or self.chain.hex() == self.anchor.hash:
            self.anchor_checked = self.anchor is not None
            return None
        return (
            position,
            Finding.ANCHOR_MISMATCH,
            f"the seal at position {position} is {self.chain.hex()}, not the recorded "
            f"anchor {self.anchor.hash}: the events and the seal were rewritten together "
            "at or before this position",
        )

    def _ends(self) -> _Problem | None:
        """After a clean walk: did it reach the seal's position, and the anchor?"""
        if self.last != self.sealed_up_to:
            return (
                self.sealed_up_to,
                Finding.EVENT_MISSING,
                f"the seal reached position {self.sealed_up_to}, but nothing is left of the "
                f"log or the seal after position {self.last}: events were removed with "
                "their seal rows",
            )
        if self.anchor is not None and not self.anchor_checked:
            return (
                self.anchor.position,
                Finding.ANCHOR_MISMATCH,
                f"the recorded anchor's position {self.anchor.position} is not a sealed "
                f"position (the seal covers up to {self.sealed_up_to}); if the seal is "
                "catching up after a rebuild, verify again once it has",
            )
        return None

    def result(self, *, intact: bool, **found: Any) -> Verification:
        return Verification(
            intact=intact,
            checked=self.checked,
            sealed_up_to=self.sealed_up_to,
            head_hash=self.chain.hex(),
            log_head=self.log_head,
            unsealed=self.unsealed,
            anchor_checked=self.anchor_checked,
            **found,
        )

    def broken(self, position: int | None, finding: Finding, detail: str) -> Verification:
        # head_hash is then the last hash that still matched, at `last`.
        return self.result(
            intact=False, first_bad_position=position, finding=finding, detail=detail
        )

    # Telling which kind of change it was, from the next sealed entry after it.

    def _next_sealed(self, position: int) -> _Next | None:
        """The next seal row after `position`, with the event at its position."""
        rows = self.log.seal(position, 1)
        if not rows or rows[0][0] > self.sealed_up_to:
            return None
        following, text = rows[0]
        found = self.log.events(following - 1, 1)
        event = found[0] if found and found[0].position == following else None
        return _Next(event, stored_hash(text))

    def _gap_note(self, position: int) -> str:
        if position - self.last > 1:
            return (
                f" (or an entry between positions {self.last} and {position} was removed "
                "with its seal row)"
            )
        return ""

    def _mismatch(
        self, position: int, event: Row, seal: tuple[int, str], recomputed: bytes | None
    ) -> _Problem:
        stored = stored_hash(seal[1])
        if stored is None:
            return position, Finding.SEAL_ROW_ALTERED, f"the seal row at {position} is not a hash"
        following = self._next_sealed(position)
        if following is not None and following.hash is not None:
            if following.chains_from(stored):
                what = "is malformed" if isinstance(event, Malformed) else "was altered"
                return (
                    position,
                    Finding.EVENT_ALTERED,
                    f"the stored event at position {position} {what}: it no longer matches "
                    "its seal row, which the seal rows after it still chain from"
                    + self._gap_note(position),
                )
            if recomputed is not None and following.chains_from(recomputed):
                return (
                    position,
                    Finding.SEAL_ROW_ALTERED,
                    f"the seal row at position {position} was altered: the events still "
                    "chain to the seal rows after it",
                )
        return (
            position,
            Finding.EVENT_OR_SEAL_ALTERED,
            f"the stored event at position {position} no longer matches its seal row, and "
            "the entries after it do not tell which of the two changed" + self._gap_note(position),
        )

    def _missing_event(self, position: int) -> _Problem:
        following = self._next_sealed(position)
        if following is not None and following.chains_from(self.chain):
            return (
                position,
                Finding.SEAL_ROW_ALTERED,
                f"the seal has a row for position {position}, where the log never had an "
                "event: the seal rows around it chain without it",
            )
        return (
            position,
            Finding.EVENT_MISSING,
            f"the event at position {position} is gone, though the seal sealed it",
        )

    def _unsealed_event(self, position: int, event: Row) -> _Problem:
        following = self._next_sealed(position)
        if following is None:
            return (
                position,
                Finding.SEAL_ROW_MISSING,
                f"the seal rows from position {position} on are gone, though the seal "
                f"reached position {self.sealed_up_to}",
            )
        if following.chains_from(self.chain):
            return (
                position,
                Finding.EVENT_INSERTED,
                f"the event at position {position} was inserted after the seal passed that "
                "position: the seal chains over it without it",
            )
        with_it = hash_of(self.chain, event)
        if with_it is not None and following.chains_from(with_it):
            return (
                position,
                Finding.SEAL_ROW_MISSING,
                f"the seal row for position {position} is gone; the event there is the one "
                "the seal sealed",
            )
        return (
            position,
            Finding.EVENT_INSERTED,
            f"the event at position {position} has no seal row, and the seal rows after it "
            "chain neither with it nor without it",
        )


def _record_time_problem(event: Row) -> _Problem | None:
    """Whether the event's row in the record-time index is the time its own state carries."""
    if not isinstance(event, Event):
        # Malformed columns: the seal names the row, or it is not sealed yet.
        return None
    position = event.position
    try:
        claim = claimed(event.state)
        said = claim.recorded_at if claim is not None else None
        why = "it carries no timestamp"
    except RecordTimeRefusedError as error:
        said, why = None, str(error).removeprefix("the event's ")
    indexed = record_time(event.recorded_at)
    if event.recorded_at is None:
        carried = f"it says it was recorded at {said.isoformat()}" if said is not None else why
        return (
            position,
            Finding.RECORD_TIME_MISSING,
            f"the event at position {position} has no row in the record-time index ({carried}): "
            "`known_at` reads do not see it",
        )
    if said is None or indexed != said:
        carried = f"it says it was recorded at {said.isoformat()}" if said is not None else why
        return (
            position,
            Finding.RECORD_TIME_ALTERED,
            f"the record-time index says the event at position {position} was recorded at "
            f"{indexed.isoformat() if indexed is not None else event.recorded_at!r}, but "
            f"{carried}: `known_at` reads see it at the wrong time",
        )
    return None


@dataclass(frozen=True)
class _Next:
    """The next sealed entry after a bad position: the event there and its stored hash."""

    event: Row | None
    hash: bytes | None

    def chains_from(self, previous: bytes) -> bool:
        """Whether this entry's stored hash follows from `previous` and its event."""
        return self.hash is not None and hash_of(previous, self.event) == self.hash
