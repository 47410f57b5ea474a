"""Reading the log on PostgreSQL: the library's `select_notifications`, made cheaper per row.

Every reader of the log goes through it: the worker, rebuilds, the feed, the stream and
the dispatcher. The library's asks for each row as a dict and builds each notification
through a frozen dataclass's `__init__`, which sets its five fields one
`object.__setattr__` at a time; over a 1M-event rebuild that is seconds. Here rows come
as tuples, statements are composed once, and notifications are filled in one step. The
library's own test cases (`ApplicationRecorderTestCase`) run against this, and a test
compares it with the library's answer for every combination of arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

# (start given, start inclusive, stop given, topics given)
_Shape = tuple[bool, bool, bool, bool]


def notification(
    position: int, originator_id: Any, version: int, topic: str, state: bytes
) -> Notification:
    """A `Notification` equal to the one its constructor makes, without a setattr a field."""
    made: Notification = object.__new__(Notification)
    made.__dict__.update(
        id=position,
        originator_id=originator_id,
        originator_version=version,
        topic=topic,
        state=state if type(state) is bytes else bytes(state),
    )
    return made


class TupleNotifications(PostgresApplicationRecorder):
    """`select_notifications` as the library's, rows read as tuples."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._select_statements: dict[_Shape, Composed] = {}

    def _select_statement(self, shape: _Shape) -> Composed:
        statement = self._select_statements.get(shape)
        if statement is None:
            with_start, inclusive, with_stop, with_topics = shape
            conditions = []
            if with_start:
                after = "notification_id >= %s" if inclusive else "notification_id > %s"
                conditions.append(SQL(after))
            if with_stop:
                conditions.append(SQL("notification_id <= %s"))
            if with_topics:
                conditions.append(SQL("topic = ANY(%s)"))
            where = SQL(" WHERE ") + SQL(" AND ").join(conditions) if conditions else SQL("")
            statement = (
                SQL(
                    "SELECT notification_id, originator_id, originator_version, topic, state"
                    " FROM {events}"
                ).format(events=Identifier(self.datastore.schema, self.events_table_name))
                + where
                + SQL(" ORDER BY notification_id LIMIT %s")
            )
            self._select_statements[shape] = statement
        return statement

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        params: list[Any] = []
        if start is not None:
            params.append(start)
        if stop is not None:
            params.append(stop)
        if topics:
            params.append(list(topics))
        params.append(limit)
        statement = self._select_statement(
            (start is not None, inclusive_of_start, stop is not None, bool(topics))
        )
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True)
            return [notification(*row) for row in curs.fetchall()]
