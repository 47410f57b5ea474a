"""What a stored event says of itself: when it was recorded and by whom (ADR 24).

An event's record time is the `timestamp` inside its own stored state. The store writes
it to the record-time index (`<events>_times`, which `known_at` reads) from the state
itself, never from a separate list a caller could get wrong, and only when it is within
`RECORD_TIME_TOLERANCE` of the store's clock and not before the goal's previous record
time. The same reading serves `goalpost verify`, which checks every index row against
the sealed state it came from. PostgreSQL's append function applies the same rules in
SQL (`storage/postgres.py`); both read the JSON the transcoder writes, uncompressed and
unencrypted (Goalpost configures neither).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

# How far an event's own timestamp may be from the store's clock when it is saved: the
# time between a command deciding and its save taking the lock, plus clock skew between
# an API process and the database. Larger is kinder to a slow save; smaller bounds how far
# a forger holding the app role can move a record time. PostgreSQL's function embeds it.
RECORD_TIME_TOLERANCE = timedelta(seconds=60)
# `datetime.isoformat()` of an aware datetime, as the library's transcoding writes it.
# PostgreSQL would also read 'now', 'epoch' or a time without an offset: refused.
_ISO = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?[+-][0-9]{2}:[0-9]{2}"
ISO_WITH_OFFSET = f"^{_ISO}$"
_ISO_WITH_OFFSET = re.compile(_ISO)


class RecordTimeRefusedError(ValueError):
    """An event's state does not say when it was recorded in the form Goalpost writes."""


@dataclass(frozen=True)
class Claimed:
    """What a stored event's own state says: when it was recorded, and by whom."""

    recorded_at: datetime | None
    actor: str | None


def claimed(state: bytes) -> Claimed | None:
    """The record time and actor a state carries; None if it is not a JSON object.

    Goalpost writes only JSON objects with a timestamp; other states (the library's own
    recorder tests store such) get no record time. A timestamp that is there but not in
    the form the transcoder writes is refused. Duplicate keys read as in PostgreSQL's
    jsonb: the last one wins.
    """
    if not state.startswith(b"{"):
        return None
    try:
        document = json.loads(state)
    except ValueError:
        raise RecordTimeRefusedError("the event's state is not JSON") from None
    if not isinstance(document, dict):
        return None
    actor = document.get("actor")
    actor = actor if isinstance(actor, str) else None
    if "timestamp" not in document:
        return Claimed(None, actor)
    encoded = document["timestamp"]
    text = encoded.get("_data_") if isinstance(encoded, dict) else None
    if (
        not isinstance(encoded, dict)
        or encoded.get("_type_") != "datetime_iso"
        or not isinstance(text, str)
        or not _ISO_WITH_OFFSET.fullmatch(text)
    ):
        raise RecordTimeRefusedError(f"the event's timestamp is not an ISO 8601 time: {text!r}")
    try:
        return Claimed(datetime.fromisoformat(text), actor)
    except ValueError:
        raise RecordTimeRefusedError(f"the event's timestamp is no time: {text!r}") from None


def check_near(recorded_at: datetime, now: datetime, *, demo: bool = False) -> None:
    """Refuse a record time too far from the store's clock.

    A demo store (ADR 44) takes times from the past too, so its story reads as if it had
    been recorded live; never one from the future."""
    too_early = recorded_at < now - RECORD_TIME_TOLERANCE and not demo
    if too_early or recorded_at > now + RECORD_TIME_TOLERANCE:
        raise RecordTimeRefusedError(
            f"the event says it was recorded at {recorded_at.isoformat()}, more than "
            f"{RECORD_TIME_TOLERANCE.total_seconds():.0f} s from the store's clock "
            f"({now.isoformat()})"
        )
