"""GoalLedger: the eventsourcing Application, the one entry point for commands and goal reads."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, ParamSpec, Protocol, TypeVar, cast, runtime_checkable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import (
    DecimalAsStr,
    IntegrityError,
    JSONTranscoder,
    Recording,
    Transcoding,
)
from eventsourcing.utils import Environment, EnvType, get_topic

from domain.access import (
    DEFAULT_TOKEN_LIFETIME,
    TOKEN_PREFIX,
    AccessGrant,
    Role,
    TokenRefusal,
    TokenRefusedError,
    grant_id_for,
    new_token,
)
from domain.base import LedgerAggregate, derived_id
from domain.cycle import Cycle
from domain.errors import (
    AlreadyExistsError,
    ConcurrencyError,
    ConflictError,
    DomainError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    NotFoundError,
    StaleVersionError,
)
from domain.key_result import KeyResult
from domain.kpi import Cadence, Kpi
from domain.objective import Objective
from domain.reports import CycleScoreboard, KeyResultLine, KpiLine, ObjectiveStatus
from domain.values import (
    Confidence,
    Direction,
    KpiDirection,
    ObjectiveKind,
    ReasonCode,
    check_identifier,
    check_reason,
    utc_today,
)
from storage.requests import IdempotentRequest

A = TypeVar("A", bound=LedgerAggregate)

# One transaction per this many imported events: large enough to amortise the commit,
# small enough to stay clear of pipeline and lock-hold limits.
IMPORT_BATCH_EVENTS = 2000


P = ParamSpec("P")
# Attempts for a command that lost a race without asking for a version check.
CONFLICT_ATTEMPTS = 5


def retried_on_conflict(method: Callable[P, Saved]) -> Callable[P, Saved]:
    """Re-run a command that lost a race, unless the caller named the version it expects.

    The command reloads the goal and re-checks every rule, so a retry can only store what
    would have been accepted had it come a moment later; with `expected_version` the
    caller asked to be told instead (409/412).
    """

    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> Saved:
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                return method(*args, **kwargs)
            except ConcurrencyError:
                if kwargs.get("expected_version") is not None or attempt == CONFLICT_ATTEMPTS:
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


class DateAsISO(Transcoding):
    """Dates (not datetimes) travel as ISO 8601 strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DecimalAsPlainText(DecimalAsStr):
    """Decimals are stored without exponent notation (100, not 1E+2; 0.0000001, not 1E-7).

    Decodes exactly what the library's own `decimal_str` wrote, so events stored before
    read back unchanged; only the text of new ones differs (ADR 26).
    """

    def encode(self, obj: Decimal) -> str:
        return format(obj, "f")


@runtime_checkable
class RequestLog(Protocol):
    """Implemented by recorders that keep completed idempotent requests with the events."""

    def find_request(self, actor: str, key: str) -> tuple[str, str] | None: ...

    def position_of(self, originator_id: UUID, version: int) -> int | None: ...


_current_request: ContextVar[IdempotentRequest | None] = ContextVar(
    "goalpost_current_request", default=None
)


@runtime_checkable
class RecordTimeIndex(Protocol):
    """Implemented by recorders that index when each event was recorded."""

    def version_at(self, originator_id: UUID, timestamp: datetime) -> int | None: ...


@dataclass(frozen=True)
class CheckInImport:
    """One historical check-in to import (a CSV row)."""

    key_result_id: UUID
    value: Decimal | int | str
    confidence: Confidence | str
    effective_on: date
    note: str = ""

    def derived_id(self) -> UUID:
        """The same row imported twice gets the same id, so a re-run duplicates nothing."""
        try:
            # 41, "41" and "41.0" are the same value, so the same row.
            value = str(Decimal(self.value).normalize())
        except (ArithmeticError, ValueError, TypeError):
            value = str(self.value)  # refused by the key result's own checks later
        return derived_id(
            "check-in-import",
            f"{self.key_result_id}|{self.effective_on.isoformat()}|{value}"
            f"|{self.confidence}|{self.note}",
        )


@dataclass(frozen=True)
class SnapshotMismatch:
    """A stored snapshot that is not what its goal's events make of it."""

    aggregate_id: UUID
    version: int
    detail: str


@dataclass(frozen=True)
class ImportReport:
    imported: int
    already_present: int
    positions: tuple[int, ...]


@dataclass(frozen=True)
class Saved:
    """What a command stored: the goal, its new version and the log positions taken."""

    id: UUID
    version: int
    positions: tuple[int, ...]
    check_in_id: UUID | None = None

    @property
    def position(self) -> int | None:
        return max(self.positions) if self.positions else None

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": str(self.id),
                "version": self.version,
                "check_in_id": str(self.check_in_id) if self.check_in_id else None,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Saved:
        data = json.loads(text)
        check_in_id = data["check_in_id"]
        return cls(
            id=UUID(data["id"]),
            version=data["version"],
            positions=(),
            check_in_id=UUID(check_in_id) if check_in_id else None,
        )


# Goals kept in memory per process, fast-forwarded on each load (see construct_env).
AGGREGATE_CACHE_SIZE = 2000


class GoalLedger(Application[UUID]):
    """Commands do get → call → save; every error leaves the history unchanged."""

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

    # Infrastructure translation

    def idempotent(self, request: IdempotentRequest | None, command: Callable[[], Saved]) -> Saved:
        """Run a command at most once per request key.

        The completed request is stored in the same transaction as the command's events,
        so a retry after a lost acknowledgement, in any process and after a restart,
        finds it and stores nothing new.
        """
        if request is None:
            return command()
        replayed = self._completed(request)
        if replayed is not None:
            return replayed
        token = _current_request.set(request)
        try:
            return command()
        except ConflictError:
            # The same key may have won the race in another process (a lost race, or a
            # cycle "already open" by this very request's twin).
            replayed = self._completed(request)
            if replayed is not None:
                return replayed
            raise
        finally:
            _current_request.reset(token)

    def _completed(self, request: IdempotentRequest) -> Saved | None:
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
        **kwargs: Any,
    ) -> tuple[int, ...]:
        """Save in one transaction; a lost race is a ConcurrencyError.

        `unchanged`: goals the command was decided on but does not change (the cycle a
        check-in must fall in, open). The save fails, as a lost race does, if one of them
        has changed since it was loaded: a check-in decided on an open cycle cannot land
        after the cycle's close, whatever the interleaving. Commands retried on conflict
        are then decided again on fresh state.
        """
        if unchanged:
            kwargs["unchanged"] = [(goal.id, goal.version) for goal in unchanged]
        request = _current_request.get()
        if request is not None:
            # Ids and versions are final before the save, so the result is stored with it.
            primary = aggregates[0]
            result = Saved(primary.id, primary.version, (), _pending_check_in_id(primary))
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
        return tuple(r.notification.id for r in recordings if r.notification.id)

    def _get(self, cls: type[A], aggregate_id: UUID, *, version: int | None = None) -> A:
        label = {
            Cycle: "cycle",
            Objective: "objective",
            KeyResult: "key result",
            Kpi: "KPI",
            AccessGrant: "access grant",
        }[cls]
        try:
            aggregate: object = self.repository.get(
                aggregate_id, version=version, projector_func=replay
            )
        except AggregateNotFoundError:
            raise NotFoundError(f"no {label} {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise NotFoundError(f"no {label} {aggregate_id}")
        return aggregate

    def _get_known_at(self, cls: type[A], aggregate_id: UUID, known_at: datetime | None) -> A:
        if known_at is None:
            return self._get(cls, aggregate_id)
        version = self.version_at(aggregate_id, known_at)
        if version is None:
            raise NotFoundError(f"{aggregate_id} was not yet recorded at {known_at.isoformat()}")
        return self._get(cls, aggregate_id, version=version)

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

    @staticmethod
    def _check_version(aggregate: LedgerAggregate, expected_version: int | None) -> None:
        if expected_version is not None and aggregate.version != expected_version:
            raise StaleVersionError(
                f"expected version {expected_version}, "
                f"but the goal is at version {aggregate.version}",
                current_version=aggregate.version,
            )

    # Cycles

    def get_cycle(self, key: str, known_at: datetime | None = None) -> Cycle:
        cycle_id = Cycle.create_id(check_identifier(key, "cycle_id"))
        try:
            return self._get_known_at(Cycle, cycle_id, known_at)
        except NotFoundError:
            when = f" at {known_at.isoformat()}" if known_at is not None else ""
            raise NotFoundError(f"no cycle {key}{when}") from None

    def open_cycle(self, *, actor: str, key: str, starts_on: date, ends_on: date) -> Saved:
        cycle = Cycle.open(actor=actor, key=key, starts_on=starts_on, ends_on=ends_on)
        if cycle.id in self.repository:
            raise AlreadyExistsError(f"cycle {key} is already open", field="id")
        try:
            positions = self._save(cycle)
        except ConcurrencyError:
            raise AlreadyExistsError(f"cycle {key} is already open", field="id") from None
        return Saved(cycle.id, cycle.version, positions)

    @retried_on_conflict
    def close_cycle(self, *, actor: str, key: str, expected_version: int | None = None) -> Saved:
        cycle = self.get_cycle(key)
        self._check_version(cycle, expected_version)
        cycle.close(actor=actor)
        return Saved(cycle.id, cycle.version, self._save(cycle))

    @staticmethod
    def _default_day(cycle: Cycle, effective_on: date | None) -> date:
        """Unstated, a change takes effect today, or on the cycle's last day once it is over."""
        if effective_on is not None:
            return effective_on
        return min(utc_today(), cycle.ends_on)

    # Objectives

    def get_objective(self, objective_id: UUID, known_at: datetime | None = None) -> Objective:
        return self._get_known_at(Objective, objective_id, known_at)

    @retried_on_conflict
    def create_objective(
        self,
        *,
        actor: str,
        cycle_id: str,
        title: str,
        owner: str,
        kind: ObjectiveKind | str,
        parent_id: UUID | None = None,
    ) -> Saved:
        cycle = self._get_for_field(self.get_cycle, cycle_id, "cycle_id")
        parent = (
            self._get_for_field(self.get_objective, parent_id, "parent_id")
            if parent_id is not None
            else None
        )
        objective = Objective.create(
            actor=actor, cycle=cycle, title=title, owner=owner, kind=kind, parent=parent
        )
        return Saved(objective.id, objective.version, self._save(objective, cycle))

    @retried_on_conflict
    def align_objective(
        self,
        *,
        actor: str,
        objective_id: UUID,
        parent_id: UUID | None,
        reason: str,
        reason_code: ReasonCode | str,
        expected_version: int | None = None,
    ) -> Saved:
        objective = self.get_objective(objective_id)
        self._check_version(objective, expected_version)
        parent = (
            self._get_for_field(self.get_objective, parent_id, "parent_id")
            if parent_id is not None
            else None
        )
        objective.align_to(
            actor=actor,
            parent=parent,
            reason=check_reason(reason, reason_code),
            cycle=(cycle := self.get_cycle(objective.cycle_id)),
        )
        return Saved(objective.id, objective.version, self._save(objective, unchanged=(cycle,)))

    @retried_on_conflict
    def retire_objective(
        self,
        *,
        actor: str,
        objective_id: UUID,
        reason: str,
        reason_code: ReasonCode | str,
        effective_on: date | None = None,
        expected_version: int | None = None,
    ) -> Saved:
        objective = self.get_objective(objective_id)
        self._check_version(objective, expected_version)
        cycle = self.get_cycle(objective.cycle_id)
        objective.retire(
            actor=actor,
            reason=check_reason(reason, reason_code),
            effective_on=self._default_day(cycle, effective_on),
            cycle=cycle,
        )
        return Saved(objective.id, objective.version, self._save(objective, unchanged=(cycle,)))

    # Key results

    def get_key_result(self, key_result_id: UUID, known_at: datetime | None = None) -> KeyResult:
        return self._get_known_at(KeyResult, key_result_id, known_at)

    @retried_on_conflict
    def create_key_result(
        self,
        *,
        actor: str,
        objective_id: UUID,
        title: str,
        owner: str,
        unit: str,
        direction: Direction | str,
        baseline: Decimal | int | str,
        target: Decimal | int | str,
        weight: Decimal | int | str = 1,
        measurement_source: str,
        measurement_query: str,
        effective_on: date | None = None,
    ) -> Saved:
        objective = self._get_for_field(self.get_objective, objective_id, "objective_id")
        cycle = self.get_cycle(objective.cycle_id)
        key_result = KeyResult.create(
            actor=actor,
            objective=objective,
            cycle=cycle,
            title=title,
            owner=owner,
            unit=unit,
            direction=direction,
            baseline=baseline,
            target=target,
            weight=weight,
            measurement_source=measurement_source,
            measurement_query=measurement_query,
            effective_on=self._default_day(cycle, effective_on),
        )
        return Saved(
            key_result.id, key_result.version, self._save(key_result, objective, unchanged=(cycle,))
        )

    @retried_on_conflict
    def record_check_in(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        value: Decimal | int | str,
        confidence: Confidence | str,
        note: str = "",
        effective_on: date | None = None,
        expected_version: int | None = None,
    ) -> Saved:
        key_result = self.get_key_result(key_result_id)
        self._check_version(key_result, expected_version)
        cycle = self.get_cycle(key_result.cycle_id)
        check_in_id = key_result.record_check_in(
            actor=actor,
            cycle=cycle,
            value=value,
            confidence=confidence,
            note=note,
            effective_on=effective_on if effective_on is not None else utc_today(),
        )
        return Saved(
            key_result.id,
            key_result.version,
            self._save(key_result, unchanged=(cycle,)),
            check_in_id,
        )

    @retried_on_conflict
    def correct_check_in(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        check_in_id: UUID,
        value: Decimal | int | str,
        reason: str,
        reason_code: ReasonCode | str = ReasonCode.DATA_ERROR,
        expected_version: int | None = None,
    ) -> Saved:
        key_result = self.get_key_result(key_result_id)
        self._check_version(key_result, expected_version)
        key_result.correct_check_in(
            actor=actor,
            check_in_id=check_in_id,
            value=value,
            reason=check_reason(reason, reason_code),
        )
        return Saved(key_result.id, key_result.version, self._save(key_result))

    @retried_on_conflict
    def rebaseline_key_result(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        baseline: Decimal | int | str,
        target: Decimal | int | str,
        reason: str,
        reason_code: ReasonCode | str,
        effective_on: date | None = None,
        expected_version: int | None = None,
    ) -> Saved:
        key_result = self.get_key_result(key_result_id)
        self._check_version(key_result, expected_version)
        cycle = self.get_cycle(key_result.cycle_id)
        key_result.rebaseline(
            actor=actor,
            cycle=cycle,
            baseline=baseline,
            target=target,
            reason=check_reason(reason, reason_code),
            effective_on=self._default_day(cycle, effective_on),
        )
        return Saved(key_result.id, key_result.version, self._save(key_result, unchanged=(cycle,)))

    @retried_on_conflict
    def reweight_key_result(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        weight: Decimal | int | str,
        reason: str,
        reason_code: ReasonCode | str,
        effective_on: date | None = None,
        expected_version: int | None = None,
    ) -> Saved:
        key_result = self.get_key_result(key_result_id)
        self._check_version(key_result, expected_version)
        cycle = self.get_cycle(key_result.cycle_id)
        key_result.reweight(
            actor=actor,
            cycle=cycle,
            weight=weight,
            reason=check_reason(reason, reason_code),
            effective_on=self._default_day(cycle, effective_on),
        )
        return Saved(key_result.id, key_result.version, self._save(key_result, unchanged=(cycle,)))

    @retried_on_conflict
    def retire_key_result(
        self,
        *,
        actor: str,
        key_result_id: UUID,
        reason: str,
        reason_code: ReasonCode | str,
        effective_on: date | None = None,
        expected_version: int | None = None,
    ) -> Saved:
        key_result = self.get_key_result(key_result_id)
        self._check_version(key_result, expected_version)
        cycle = self.get_cycle(key_result.cycle_id)
        key_result.retire(
            actor=actor,
            cycle=cycle,
            reason=check_reason(reason, reason_code),
            effective_on=self._default_day(cycle, effective_on),
        )
        return Saved(key_result.id, key_result.version, self._save(key_result, unchanged=(cycle,)))

    def import_check_ins(self, *, actor: str, rows: Iterable[CheckInImport]) -> ImportReport:
        """Import historical check-ins; a re-run skips the rows already stored.

        Every row is checked by the key result's own rules before anything is stored;
        the first bad row is reported by its index and nothing is written.
        """
        key_results: dict[UUID, KeyResult] = {}
        loaded_versions: dict[UUID, int] = {}
        cycles: dict[str, Cycle] = {}
        imported = already_present = 0
        for index, row in enumerate(rows):
            try:
                key_result = key_results.get(row.key_result_id)
                if key_result is None:
                    key_result = self.get_key_result(row.key_result_id)
                    key_results[row.key_result_id] = key_result
                    loaded_versions[key_result.id] = key_result.version
                cycle = cycles.get(key_result.cycle_id)
                if cycle is None:
                    cycle = cycles[key_result.cycle_id] = self.get_cycle(key_result.cycle_id)
                check_in_id = row.derived_id()
                if check_in_id in key_result.check_ins:
                    already_present += 1
                    continue
                key_result.record_check_in(
                    actor=actor,
                    cycle=cycle,
                    value=row.value,
                    confidence=row.confidence,
                    note=row.note,
                    effective_on=row.effective_on,
                    check_in_id=check_in_id,
                )
            except DomainError as error:
                field = f"rows[{index}].{error.field or 'key_result_id'}"
                raise InvalidInputError(f"row {index}: {error.message}", field=field) from None
            imported += 1
        # Every row passed its checks; store in bounded transactions. A failure between
        # two of them leaves a prefix, and re-running the import completes it: rows
        # already stored are recognised by their derived ids, never duplicated.
        events = [e for kr in key_results.values() for e in kr.collect_events()]
        positions: list[int] = []
        for start in range(0, len(events), IMPORT_BATCH_EVENTS):
            # Straight to the recorder: save() would type-check each of many events
            # against a runtime protocol, which costs more than encoding them.
            batch = ProcessingEvent[UUID]()
            batch.events.extend(events[start : start + IMPORT_BATCH_EVENTS])
            # The cycles too: rows checked against an open cycle land only while it is.
            batch.saved_kwargs["unchanged"] = [(c.id, c.version) for c in cycles.values()]
            try:
                recordings = self._record(batch)
            except IntegrityError:
                raise ConcurrencyError(
                    "a key result or its cycle changed while importing; nothing of this "
                    "batch was stored, re-run the import to complete it"
                ) from None
            positions.extend(r.notification.id for r in recordings if r.notification.id)
        self._snapshot_imported(key_results.values(), loaded_versions)
        return ImportReport(imported, already_present, tuple(positions))

    def _snapshot_imported(
        self, key_results: Iterable[KeyResult], loaded_versions: dict[UUID, int]
    ) -> None:
        """Imports bypass save(), so snapshot from memory each key result they carried past
        a snapshot interval (not one they left as it was: its snapshot exists already)."""
        interval = self.snapshotting_intervals[KeyResult]
        if self.snapshots is None:
            return
        snapshots = [
            KeyResult.Snapshot.take(kr)
            for kr in key_results
            if kr.version // interval > loaded_versions[kr.id] // interval
        ]
        if snapshots:
            self.snapshots.put(snapshots)

    # KPIs

    def get_kpi(self, kpi_id: UUID, known_at: datetime | None = None) -> Kpi:
        return self._get_known_at(Kpi, kpi_id, known_at)

    def define_kpi(
        self,
        *,
        actor: str,
        area: str,
        name: str,
        owner: str,
        unit: str,
        formula: str,
        data_source: str,
        cadence: Cadence | str,
        direction: KpiDirection | str,
        target: Decimal | int | str,
        healthy_low: Decimal | int | str | None = None,
        healthy_high: Decimal | int | str | None = None,
        target_set_on: date | None = None,
    ) -> Saved:
        kpi = Kpi.define(
            actor=actor,
            area=area,
            name=name,
            owner=owner,
            unit=unit,
            formula=formula,
            data_source=data_source,
            cadence=cadence,
            direction=direction,
            target=target,
            healthy_low=healthy_low,
            healthy_high=healthy_high,
            target_set_on=target_set_on if target_set_on is not None else utc_today(),
        )
        return Saved(kpi.id, kpi.version, self._save(kpi))

    @retried_on_conflict
    def record_kpi_reading(
        self,
        *,
        actor: str,
        kpi_id: UUID,
        value: Decimal | int | str,
        effective_on: date | None = None,
        note: str = "",
        expected_version: int | None = None,
    ) -> Saved:
        kpi = self.get_kpi(kpi_id)
        self._check_version(kpi, expected_version)
        reading_id = kpi.record_reading(
            actor=actor,
            value=value,
            effective_on=effective_on if effective_on is not None else utc_today(),
            note=note,
        )
        return Saved(kpi.id, kpi.version, self._save(kpi), reading_id)

    @retried_on_conflict
    def correct_kpi_reading(
        self,
        *,
        actor: str,
        kpi_id: UUID,
        reading_id: UUID,
        value: Decimal | int | str,
        reason: str,
        reason_code: ReasonCode | str = ReasonCode.DATA_ERROR,
        expected_version: int | None = None,
    ) -> Saved:
        kpi = self.get_kpi(kpi_id)
        self._check_version(kpi, expected_version)
        kpi.correct_reading(
            actor=actor,
            reading_id=reading_id,
            value=value,
            reason=check_reason(reason, reason_code),
        )
        return Saved(kpi.id, kpi.version, self._save(kpi))

    @retried_on_conflict
    def change_kpi_target(
        self,
        *,
        actor: str,
        kpi_id: UUID,
        target: Decimal | int | str,
        reason: str,
        reason_code: ReasonCode | str,
        healthy_low: Decimal | int | str | None = None,
        healthy_high: Decimal | int | str | None = None,
        effective_on: date | None = None,
        expected_version: int | None = None,
    ) -> Saved:
        kpi = self.get_kpi(kpi_id)
        self._check_version(kpi, expected_version)
        kpi.change_target(
            actor=actor,
            target=target,
            healthy_low=healthy_low,
            healthy_high=healthy_high,
            reason=check_reason(reason, reason_code),
            effective_on=effective_on if effective_on is not None else utc_today(),
        )
        return Saved(kpi.id, kpi.version, self._save(kpi))

    @retried_on_conflict
    def retire_kpi(
        self,
        *,
        actor: str,
        kpi_id: UUID,
        reason: str,
        reason_code: ReasonCode | str,
        effective_on: date | None = None,
        expected_version: int | None = None,
    ) -> Saved:
        kpi = self.get_kpi(kpi_id)
        self._check_version(kpi, expected_version)
        kpi.retire(
            actor=actor,
            reason=check_reason(reason, reason_code),
            effective_on=effective_on if effective_on is not None else utc_today(),
        )
        return Saved(kpi.id, kpi.version, self._save(kpi))

    # Access

    def issue_token(
        self,
        *,
        actor: str,
        subject: str,
        roles: list[Role | str],
        team: str | None = None,
        reports: list[str] | None = None,
        expires_in: timedelta = DEFAULT_TOKEN_LIFETIME,
    ) -> tuple[str, Saved]:
        """A new bearer token; only its hash is stored, so it is shown this once."""
        token = new_token()
        grant = AccessGrant.issue(
            actor=actor,
            token=token,
            subject=subject,
            roles=roles,
            team=team,
            reports=reports,
            expires_in=expires_in,
        )
        return token, Saved(grant.id, grant.version, self._save(grant))

    def revoke_token(self, *, actor: str, token: str, reason: str) -> Saved:
        return self.revoke_grant(actor=actor, grant_id=grant_id_for(token), reason=reason)

    @retried_on_conflict
    def revoke_grant(self, *, actor: str, grant_id: UUID, reason: str) -> Saved:
        grant = self._get(AccessGrant, grant_id)
        grant.revoke(actor=actor, reason=reason)
        return Saved(grant.id, grant.version, self._save(grant))

    def revoke_grants_of(self, *, actor: str, subject: str, reason: str) -> list[UUID]:
        """Revoke every grant of a subject not yet revoked (expired ones too), together."""
        issued = self.grants(subject)
        if not issued:
            raise NotFoundError(f"no token was ever issued for {subject}", field="actor")
        grants = [g for g in issued if g.revoked_at is None]
        for grant in grants:
            grant.revoke(actor=actor, reason=reason)
        if grants:
            self._save(*grants)
        return [g.id for g in grants]

    def grants(self, subject: str | None = None) -> list[AccessGrant]:
        """Every grant ever issued, or a subject's, in the order they were issued."""
        found = (self._get(AccessGrant, i) for i in self._created_ids(AccessGrant.Issued))
        return [g for g in found if subject is None or g.subject == subject]

    def get_grant(self, grant_id: UUID) -> AccessGrant:
        return self._get(AccessGrant, grant_id)

    def authenticate(self, token: str, now: datetime | None = None) -> AccessGrant:
        """The grant a token carries; TokenRefusedError says if unknown, expired or revoked."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise TokenRefusedError(TokenRefusal.UNKNOWN)
        try:
            grant = self._get(AccessGrant, grant_id_for(token))
        except NotFoundError:
            raise TokenRefusedError(TokenRefusal.UNKNOWN) from None
        refusal = grant.refusal(now if now is not None else datetime.now(UTC))
        if refusal is not None:
            raise TokenRefusedError(refusal)
        return grant

    # Reads across goals

    def objective_status(
        self,
        objective_id: UUID,
        *,
        as_of: date | None = None,
        known_at: datetime | None = None,
    ) -> ObjectiveStatus:
        objective = self.get_objective(objective_id, known_at)
        cycle = self.get_cycle(objective.cycle_id, known_at)
        return self._objective_status(objective, cycle, self._as_of(cycle, as_of), known_at)

    def _objective_status(
        self, objective: Objective, cycle: Cycle, as_of: date, known_at: datetime | None
    ) -> ObjectiveStatus:
        lines = []
        for key_result_id in objective.key_result_ids:
            key_result = self.get_key_result(key_result_id, known_at)
            lines.append(
                KeyResultLine(
                    id=key_result.id,
                    title=key_result.title,
                    owner=key_result.owner,
                    unit=key_result.unit,
                    direction=key_result.direction.value,
                    version=key_result.version,
                    status=key_result.status(cycle, as_of),
                )
            )
        retirement = objective.retirement
        return ObjectiveStatus.compose(
            id=objective.id,
            cycle_id=objective.cycle_id,
            as_of=as_of,
            title=objective.title,
            owner=objective.owner,
            kind=objective.kind,
            parent_id=objective.parent_id,
            version=objective.version,
            retired=retirement if retirement and retirement.effective_on <= as_of else None,
            key_results=tuple(lines),
        )

    @staticmethod
    def default_as_of(cycle: Cycle) -> date:
        """Unstated, reads are as of today, or the cycle's last day once it is over."""
        return min(utc_today(), cycle.ends_on)

    @staticmethod
    def _as_of(cycle: Cycle, as_of: date | None) -> date:
        return as_of if as_of is not None else GoalLedger.default_as_of(cycle)

    def cycle_scoreboard(
        self, key: str, *, as_of: date | None = None, known_at: datetime | None = None
    ) -> CycleScoreboard:
        cycle = self.get_cycle(key, known_at)
        day = self._as_of(cycle, as_of)
        return CycleScoreboard(
            key=cycle.key,
            starts_on=cycle.starts_on,
            ends_on=cycle.ends_on,
            closed_at=cycle.closed_at,
            as_of=day,
            known_at=known_at,
            objectives=tuple(
                self._objective_status(self.get_objective(oid, known_at), cycle, day, known_at)
                for oid in cycle.objective_ids
            ),
        )

    def check_snapshots(self) -> tuple[int, list[SnapshotMismatch]]:
        """Every stored snapshot against its goal's events replayed to its version.

        Snapshots are a cache the events alone should give again; one forged or damaged
        would change what its goal loads as, and the seal covers events, not snapshots.
        Each goal's events are replayed once, compared at each of its snapshots. Returns
        the number of snapshots checked and those that differ.
        """
        if self.snapshots is None:
            return 0, []
        checked, found = 0, []
        for key_result_id in self._created_ids(KeyResult.Created):
            stored = {s.originator_version: s for s in self.snapshots.get(key_result_id)}
            if not stored:
                continue
            replayed: LedgerAggregate | None = None
            for event in cast(Iterable[LedgerAggregate.Event], self.events.get(key_result_id)):
                replayed = event.mutate(replayed)
                snapshot = stored.pop(event.originator_version, None)
                if snapshot is None:
                    continue
                checked += 1
                if cast(KeyResult.Snapshot, snapshot).mutate(None) != replayed:
                    found.append(
                        SnapshotMismatch(
                            key_result_id,
                            event.originator_version,
                            "the snapshot differs from the replayed events",
                        )
                    )
            for version in sorted(stored):
                checked += 1
                found.append(SnapshotMismatch(key_result_id, version, "no event has this version"))
        return checked, found

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

    def objective_ids(self, cycle_id: str | None = None) -> list[UUID]:
        """Objectives in creation order, of one cycle or of all."""
        if cycle_id is not None:
            return list(self.get_cycle(cycle_id).objective_ids)
        return list(self._created_ids(Objective.Created))

    def kpi_ids(self) -> list[UUID]:
        return list(self._created_ids(Kpi.Defined))

    def cycle_keys(self) -> list[str]:
        return [self._get(Cycle, cid).key for cid in self._created_ids(Cycle.Opened)]

    def kpi_lines(
        self, *, as_of: date | None = None, known_at: datetime | None = None
    ) -> list[KpiLine]:
        day = as_of if as_of is not None else utc_today()
        lines = []
        for kpi_id in self._created_ids(Kpi.Defined):
            try:
                kpi = self.get_kpi(kpi_id, known_at)
            except NotFoundError:
                continue
            lines.append(
                KpiLine(
                    id=kpi.id,
                    area=kpi.area,
                    name=kpi.name,
                    owner=kpi.owner,
                    unit=kpi.unit,
                    direction=kpi.direction,
                    version=kpi.version,
                    status=kpi.status(day),
                    okr_candidate=kpi.is_okr_candidate(day),
                )
            )
        return lines

    @staticmethod
    def _get_for_field(getter: Any, key: Any, field: str) -> Any:
        """A missing referenced goal is the caller's input error, named by its field."""
        try:
            return getter(key)
        except NotFoundError as e:
            raise InvalidInputError(e.message, field=field) from None


__all__: Sequence[str] = [
    "CheckInImport",
    "DateAsISO",
    "GoalLedger",
    "ImportReport",
    "RecordTimeIndex",
    "Saved",
]
