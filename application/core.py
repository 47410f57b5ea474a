"""The ledger's core: its store, loading and saving goals, and the `command` decorator.

Every command module (cycles, objectives, key results, KPIs, access, imports, reports)
is a mixin over `LedgerCore`, composed into `GoalLedger` in application/ledger.py. A
command loads each goal it needs once, authorises the caller's grant on what it loaded
(application/authority.py), decides, and saves in one transaction; `command` re-runs
it when it lost a race and answers a retried request with its first result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Concatenate, ParamSpec, Protocol, TypeVar, cast, runtime_checkable
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
)
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording
from eventsourcing.utils import Environment, EnvType, get_topic, strtobool

from application.authority import authorise
from application.first_attempt import (
    FirstAttempt,
    attempt_of,
    first_attempt_result,
    running_command,
    runs_a_command,
)
from application.goal_cache import GoalRepository, bounded_in_bytes
from application.transcoding import DateAsISO, DecimalAsPlainText
from application.values import Saved
from domain.access import AccessGrant, TokenRefusedError
from domain.authority import Command
from domain.base import LedgerAggregate
from domain.check_in_log import loaded_for_one_read
from domain.cycle import Cycle
from domain.errors import (
    ConcurrencyError,
    ConflictError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    StaleVersionError,
)
from domain.key_result import KeyResult
from domain.kpi import Kpi
from domain.objective import Objective
from domain.plan_size import PlanWarning
from domain.values import check_identifier, utc_today
from storage.requests import IdempotentRequest

A = TypeVar("A", bound=LedgerAggregate)
L = TypeVar("L", bound="LedgerCore")
P = ParamSpec("P")
K = TypeVar("K")
# The goals that have an owner, whom the authority table asks about.
G = TypeVar("G", Objective, KeyResult, Kpi)

# Attempts for a command that lost a race without asking for a version check.
CONFLICT_ATTEMPTS = 5

# Goals kept in memory per process, fast-forwarded on each load (see construct_env);
# bounded in bytes by GOALPOST_GOAL_CACHE_MB (ADR 45), this count bounds the index only.
AGGREGATE_CACHE_SIZE = 100_000

_LABELS: dict[type[LedgerAggregate], str] = {
    Cycle: "cycle",
    Objective: "objective",
    KeyResult: "key result",
    Kpi: "KPI",
    AccessGrant: "access grant",
}


@runtime_checkable
class RequestLog(Protocol):
    """Implemented by recorders that keep completed idempotent requests with the events."""

    def find_request(self, actor: str, key: str) -> tuple[str, str] | None: ...

    def position_of(self, originator_id: UUID, version: int) -> int | None: ...


@runtime_checkable
class RecordTimeIndex(Protocol):
    """Implemented by recorders that index when each event was recorded."""

    def version_at(self, originator_id: UUID, timestamp: datetime) -> int | None: ...


def replay(
    aggregate: LedgerAggregate | None, events: Iterable[LedgerAggregate.Event]
) -> LedgerAggregate | None:
    """Apply stored events in order.

    The library's default projector checks each event against a runtime protocol,
    which costs more than applying it (about 60 us an event).
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def command(method: Callable[Concatenate[L, P], Saved]) -> Callable[Concatenate[L, P], Saved]:
    """A write: run at most once per idempotent request, re-run when it lost a race.

    A command names its request as the keyword `request` (None: not idempotent); the
    completed request is stored in the same transaction as the command's events, so a
    retry after a lost acknowledgement, in any process and after a restart, finds it
    here and stores nothing new. A command that lost a race reloads the goal and
    re-checks every rule, so a re-run can only store what would have been accepted had
    it come a moment later; with `expected_version` the caller asked to be told
    instead (409/412).
    """

    @functools.wraps(method)
    def run(ledger: L, /, *args: P.args, **kwargs: P.kwargs) -> Saved:
        if runs_a_command(ledger):
            return method(ledger, *args, **kwargs)
        with running_command(ledger):
            return attempts(ledger, *args, **kwargs)

    def attempts(ledger: L, /, *args: P.args, **kwargs: P.kwargs) -> Saved:
        # A caller that names the version it read is told of any later change (412), or
        # of a lost race (409), as the store has it: its command goes to the store first.
        if ledger.first_attempt_from_memory and kwargs.get("expected_version") is None:
            first = first_attempt_result(method, ledger, *args, **kwargs)
            if first is not None:
                return first
        grant = kwargs.get("grant")
        if isinstance(grant, AccessGrant):
            # The grant may come from memory too (an API process's command route): before
            # anything else, refused if it was revoked or has expired since.
            ledger.check_grant_current(grant)
        request = cast(IdempotentRequest | None, kwargs.get("request"))
        if request is not None and (replayed := ledger.completed(request)) is not None:
            return replayed
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return method(ledger, *args, **kwargs)
            except ConflictError as conflict:
                # The same key may have won the race in another process (a lost race, or
                # a cycle "already open" by this very request's twin).
                if request is not None and (replayed := ledger.completed(request)) is not None:
                    return replayed
                if (
                    not isinstance(conflict, ConcurrencyError)
                    or kwargs.get("expected_version") is not None
                    or attempt == CONFLICT_ATTEMPTS
                ):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    return run


def _pending_check_in_id(aggregate: LedgerAggregate) -> UUID | None:
    """The check-in or reading a pending command just recorded, if it recorded one."""
    for event in reversed(aggregate.pending_events):
        if isinstance(event, KeyResult.CheckInRecorded):
            return event.check_in_id
        if isinstance(event, Kpi.ReadingRecorded):
            return event.reading_id
    return None


class LedgerCore(Application[UUID]):
    """Commands do get → authorise → call → save; every error leaves the history unchanged."""

    name = "goalpost"

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        """Configuration comes from the caller alone (storage.settings), never os.environ.

        The library would otherwise merge the process environment with GOALPOST_-prefixed
        names taking priority, so a stray GOALPOST_POSTGRES_ENABLE_DB_FUNCTIONS could
        silently drop the table lock that keeps subscribers from skipping events.
        """
        settings = dict(type(self).env)
        if type(self).snapshotting_intervals:
            settings["IS_SNAPSHOTTING_ENABLED"] = "y"
        # Goals a process has loaded stay in memory and are brought up to date from the
        # store on every load (fast-forward): one query for the events since, instead of
        # a snapshot and the events after it, and no snapshot to decode. Still never
        # stale: each load reads the store, commands work on copies, and a save decided
        # on a goal that changed meanwhile fails (optimistic versions, ADR 18).
        settings["AGGREGATE_CACHE_MAXSIZE"] = str(AGGREGATE_CACHE_SIZE)
        settings["AGGREGATE_CACHE_FASTFORWARD"] = "y"
        settings.update(env or {})
        return Environment(name, settings)

    def construct_repository(self) -> Repository[UUID]:
        return bounded_in_bytes(super().construct_repository(), self.env)

    @functools.cached_property
    def first_attempt_from_memory(self) -> bool:
        """Whether a command first decides on the goals this process keeps (ADR 46);
        FIRST_ATTEMPT_FROM_MEMORY=n makes every load ask the store first, as a bench's
        comparison does."""
        return bool(strtobool(self.env.get("FIRST_ATTEMPT_FROM_MEMORY", "y")))

    def check_grant_current(self, grant: AccessGrant) -> None:
        """TokenRefusedError if the grant was revoked, or expired, since it was loaded."""
        refusal = self.get_grant(grant.id).refusal(datetime.now(UTC))
        if refusal is not None:
            raise TokenRefusedError(refusal)

    # A snapshot every this many events keeps a long key result quick to load.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {KeyResult: 100}

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(DecimalAsPlainText())

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        # Index each event's record time in the same transaction as the event itself.
        events = cast(list[LedgerAggregate.Event], processing_event.events)
        processing_event.saved_kwargs["event_timestamps"] = [
            (e.originator_id, e.originator_version, e.timestamp) for e in events
        ]
        return super()._record(processing_event)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot a goal just saved from the copy in hand, when the save ends on the
        snapshot's version: the library reloads it from the store instead (its snapshot
        and up to a hundred events), one command in a hundred, which showed at p99."""
        snapshots = self.snapshots
        if snapshots is None or not self.snapshotting_intervals:
            return
        later: list[LedgerAggregate.Event] = []
        for event in cast(list[LedgerAggregate.Event], processing_event.events):
            goal = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(goal)) if goal is not None else None
            if goal is None or interval is None or event.originator_version % interval:
                continue
            snapshot_class = getattr(type(goal), "Snapshot", None)
            if snapshot_class is not None and goal.version == event.originator_version:
                snapshots.put([snapshot_class.take(goal)])
            else:
                later.append(event)
        for event in later:
            self.take_snapshot(event.originator_id, event.originator_version, replay)

    # Saving

    def completed(self, request: IdempotentRequest) -> Saved | None:
        """What a request already stored, if it completed; the same key for another
        request is the caller's error."""
        recorder = self.recorder
        if not isinstance(recorder, RequestLog):
            return None
        found = recorder.find_request(request.actor, request.key)
        if found is None:
            return None
        fingerprint, result = found
        if fingerprint != request.fingerprint:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was already used for a different request",
                field="Idempotency-Key",
            )
        saved = Saved.from_json(result)
        # The first response named the write's log position; so does the replay.
        position = recorder.position_of(saved.id, saved.version)
        return replace(saved, positions=(position,) if position is not None else ())

    def _save(
        self,
        *aggregates: LedgerAggregate,
        unchanged: Sequence[LedgerAggregate] = (),
        request: IdempotentRequest | None = None,
        warnings: Sequence[PlanWarning] = (),
        names: LedgerAggregate | None = None,
    ) -> Saved:
        """Save in one transaction and say what was stored; a lost race is a ConcurrencyError.

        `unchanged`: goals the command was decided on but does not change (the cycle a
        check-in must fall in, open). The save fails, as a lost race does, if one of them
        has changed since it was loaded: a check-in decided on an open cycle cannot land
        after the cycle's close, whatever the interleaving. Commands retried on conflict
        are then decided again on fresh state. `request`: the idempotent request the
        save completes, stored with the events. The result names the first goal, its new
        version, the log positions taken and the check-in or reading it recorded, if any;
        `names`: another of the goals, for the result to name instead (a goal created under
        one created in the same save comes after it in the log).
        """
        # Ids and versions are final before the save (which clears the pending events), so
        # the result is known here, and a request stores the one its first response gives.
        primary = names if names is not None else aggregates[0]
        result = Saved(
            primary.id, primary.version, (), _pending_check_in_id(primary), tuple(warnings)
        )
        kwargs: dict[str, Any] = {}
        decided_on = {goal.id: goal.version for goal in unchanged}
        attempt = attempt_of(self)
        if attempt is not None:
            # Every goal read from memory and not written here must still be as read; a
            # written one is checked by its next version's key.
            written = {goal.id for goal in aggregates if goal.pending_events}
            for goal_id, version in attempt.read.items():
                if goal_id not in written:
                    decided_on.setdefault(goal_id, version)
        if decided_on:
            kwargs["unchanged"] = list(decided_on.items())
        if request is not None:
            kwargs["request"] = (
                request.actor,
                request.key,
                request.fingerprint,
                result.to_json(),
            )
        try:
            recordings = self.save(*aggregates, **kwargs)
        except IntegrityError:
            raise ConcurrencyError(
                "another writer changed this goal at the same time; "
                "nothing was stored, reload and try again"
            ) from None
        if attempt is not None:
            attempt.saved = True
        if isinstance(self.repository, GoalRepository):
            for goal in aggregates:
                self.repository.keep_saved(goal)
        positions = tuple(r.notification.id for r in recordings if r.notification.id)
        return replace(result, positions=positions)

    @staticmethod
    def _check_version(aggregate: LedgerAggregate, expected_version: int | None) -> None:
        if expected_version is not None and aggregate.version != expected_version:
            raise StaleVersionError(
                f"expected version {expected_version}, "
                f"but the goal is at version {aggregate.version}",
                current_version=aggregate.version,
            )

    # Loading

    def _get(
        self,
        cls: type[A],
        aggregate_id: UUID,
        *,
        version: int | None = None,
        from_memory: bool = False,
    ) -> A:
        """The goal now, or at a version. `from_memory`: as this process last saw it, for a
        caller whose write checks it is still so (ADR 46); a command's first attempt
        loads every goal so, and its save checks them all."""
        label = _LABELS[cls]
        attempt = attempt_of(self)
        try:
            if (attempt is not None or from_memory) and version is None:
                aggregate: object = self._get_as_kept(aggregate_id, attempt)
            else:
                aggregate = self.repository.get(
                    aggregate_id, version=version, projector_func=replay
                )
        except AggregateNotFoundError:
            raise NotFoundError(f"no {label} {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise NotFoundError(f"no {label} {aggregate_id}")
        return aggregate

    def _get_as_kept(self, aggregate_id: UUID, attempt: FirstAttempt | None) -> object:
        repository = self.repository
        if not isinstance(repository, GoalRepository):
            return repository.get(aggregate_id, projector_func=replay)
        aggregate = repository.get_as_kept(aggregate_id, projector_func=replay)
        if attempt is not None:
            attempt.read.setdefault(aggregate_id, aggregate.version)
        return aggregate

    def _get_known_at(self, cls: type[A], aggregate_id: UUID, known_at: datetime | None) -> A:
        if known_at is None:
            return self._get(cls, aggregate_id)
        version = self.version_at(aggregate_id, known_at)
        if version is None:
            raise NotFoundError(f"{aggregate_id} was not yet recorded at {known_at.isoformat()}")
        # Read once, never kept: its check-ins stay as its snapshot holds them.
        with loaded_for_one_read():
            return self._get(cls, aggregate_id, version=version)

    @staticmethod
    def _get_for_field(getter: Callable[[K], A], key: K, field: str) -> A:
        """A missing referenced goal is the caller's input error, named by its field."""
        try:
            return getter(key)
        except NotFoundError as e:
            raise InvalidInputError(e.message, field=field) from None

    def _load_to_change(
        self,
        cls: type[G],
        goal_id: UUID,
        grant: AccessGrant | None,
        command: Command,
        expected_version: int | None,
    ) -> G:
        """The goal a command changes, loaded once; the grant authorised on its owner
        before its version is checked, so a refusal says nothing of the goal's state."""
        goal = self._get(cls, goal_id)
        authorise(grant, command, goal.owner)
        self._check_version(goal, expected_version)
        return goal

    def version_at(self, aggregate_id: UUID, known_at: datetime) -> int | None:
        """The aggregate's version as it was known at a time (None: not yet recorded)."""
        if isinstance(self.recorder, RecordTimeIndex):
            return self.recorder.version_at(aggregate_id, known_at)
        version = None
        for event in cast(list[LedgerAggregate.Event], self.events.get(aggregate_id)):
            if event.timestamp > known_at:
                break
            version = event.originator_version
        return version

    def get_cycle(self, key: str, known_at: datetime | None = None) -> Cycle:
        cycle_id = Cycle.create_id(check_identifier(key, "cycle_id"))
        try:
            return self._get_known_at(Cycle, cycle_id, known_at)
        except NotFoundError:
            when = f" at {known_at.isoformat()}" if known_at is not None else ""
            raise NotFoundError(f"no cycle {key}{when}") from None

    def get_objective(self, objective_id: UUID, known_at: datetime | None = None) -> Objective:
        return self._get_known_at(Objective, objective_id, known_at)

    def get_key_result(self, key_result_id: UUID, known_at: datetime | None = None) -> KeyResult:
        return self._get_known_at(KeyResult, key_result_id, known_at)

    def get_kpi(self, kpi_id: UUID, known_at: datetime | None = None) -> Kpi:
        return self._get_known_at(Kpi, kpi_id, known_at)

    def get_grant(self, grant_id: UUID, *, from_memory: bool = False) -> AccessGrant:
        return self._get(AccessGrant, grant_id, from_memory=from_memory)

    def _created_ids(self, event_class: type[Any]) -> Iterator[UUID]:
        """Ids of every aggregate created with this event type, in log order."""
        topics = [get_topic(event_class)]
        start = 1
        while True:
            notifications = self.recorder.select_notifications(
                start=start, limit=500, topics=topics
            )
            for notification in notifications:
                yield cast(UUID, notification.originator_id)
            if len(notifications) < 500:
                return
            start = notifications[-1].id + 1

    # Days

    @staticmethod
    def default_as_of(cycle: Cycle) -> date:
        """Unstated, reads are as of today, or the cycle's last day once it is over."""
        return min(utc_today(), cycle.ends_on)

    @classmethod
    def day_or_default(cls, cycle: Cycle, day: date | None) -> date:
        """The day given; unstated, the day a read is as of, and a change takes effect."""
        return day if day is not None else cls.default_as_of(cycle)
