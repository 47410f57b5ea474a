"""What the store keeps of each read model: its live generation and definition, its health.

The `goalpost_read_models` table names each read model's live generation and tables;
every transaction resolves `{name}` through it, so one commit switches readers and
workers to a rebuilt generation. The live generation always tracks its position under
the read model's own tracking name; a generation being built tracks under `NAME#N` until
the switch.

Each row also keeps the definition its live generation was built by (the read model's
version and a digest of its DDL). A release that defines a read model differently
starts it afresh in a new generation, and a worker of another definition leaves it be
(ADR 17). `goalpost_read_model_health` keeps when each one last moved and the event it
cannot apply, if any (ADR 25).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.dialect import TABLE_PREFIX
from storage.rows import moment

READ_MODELS_TABLE = f"{TABLE_PREFIX}read_models"
# Each read model's progress and failure, shared by every worker and API process (ADR 25).
HEALTH_TABLE = f"{TABLE_PREFIX}read_model_health"
# What of an error a failure keeps: enough to name it, never a whole dump.
ERROR_TEXT_LIMIT = 500


@dataclass(frozen=True)
class ReadModelState:
    """One read model's row in `goalpost_read_models`."""

    name: str
    generation: int
    building: int | None
    tables: tuple[str, ...]
    # What built the live generation (`ReadModel.definition()`); None from before it was kept.
    definition: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> ReadModelState:
        building = row["building"]
        return cls(
            name=str(row["name"]),
            generation=int(row["generation"]),
            building=int(building) if building is not None else None,
            tables=tuple(t for t in str(row["table_names"]).split(",") if t),
            definition=row.get("definition"),
        )


@dataclass(frozen=True)
class ReadModelHealth:
    """One read model's row in `goalpost_read_model_health`: when it last moved, and
    the event it cannot apply, if any (ADR 25)."""

    name: str
    # When the live generation last advanced (or was registered, before it ever did).
    advanced_at: datetime | None
    failing_position: int | None = None
    error: str | None = None
    failing_since: datetime | None = None
    attempts: int = 0
    # No worker tries the failing event again before this.
    retry_at: datetime | None = None

    def failing_at(self, position: int) -> bool:
        """Whether it is stuck at `position`: the failing event is still ahead of it."""
        return self.failing_position is not None and self.failing_position > position

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> ReadModelHealth:
        failing = row["failing_position"]
        return cls(
            name=str(row["name"]),
            advanced_at=moment(row["advanced_at"]),
            failing_position=int(failing) if failing is not None else None,
            error=row["failing_error"],
            failing_since=moment(row["failing_since"]),
            attempts=int(row["failing_attempts"] or 0),
            retry_at=moment(row["retry_at"]),
        )


@dataclass(frozen=True)
class ReadModelSpec:
    """What the database needs to know of a read model to create and keep its tables."""

    name: str
    statements: Sequence[str]
    definition: str
    keeps_evidence: bool = False


def definition_version(definition: str | None) -> int:
    """The version in `v{version}:{digest}`; 0 for none (a store from before them)."""
    match = re.match(r"v(\d+):", definition or "")
    return int(match.group(1)) if match else 0


def later_release(live: str | None, ours: str) -> bool:
    """Whether a later release built the live generation: an older one leaves it be."""
    return definition_version(live) > definition_version(ours)
