"""How dates and decimals travel inside stored events."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from eventsourcing.persistence import DecimalAsStr, Transcoding


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
