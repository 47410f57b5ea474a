"""Per-person keys that seal personal data, kept beside the log and deletable (ADR 41).

The events of a person carry their display name and e-mail sealed (AES-256-GCM, the
person's id as associated data, so a sealed value cannot be moved to another person).
The keys live in their own table, which, unlike the history, rows may be deleted from:
erasing a person deletes their key, after which nothing can open what the events hold,
while the events and the seal over them stay exactly as they were.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any, LiteralString
from uuid import UUID

from Crypto.Cipher import AES
from psycopg.sql import SQL, Composed, Identifier

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# Names the scheme inside every sealed value, so a later one can sit beside it.
PREFIX = "aes256gcm:"


def keys_table(events_table: str) -> str:
    return f"{events_table}_person_keys"


def sqlite_statements(events_table: str) -> list[str]:
    return [
        SQL("CREATE TABLE IF NOT EXISTS {keys} (person_id TEXT PRIMARY KEY, key BLOB NOT NULL)")
        .format(keys=Identifier(keys_table(events_table)))
        .as_string(None)
    ]


def postgres_statements(schema: str, events_table: str) -> list[Composed]:
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {keys} (person_id uuid PRIMARY KEY, key bytea NOT NULL)"
        ).format(keys=Identifier(schema, keys_table(events_table)))
    ]


class KeyErasedError(Exception):
    """The person's key was deleted: what was sealed with it is gone."""


def _seal(key: bytes, person_id: UUID, text: str) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    cipher: Any = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(person_id.bytes)
    ciphertext, tag = cipher.encrypt_and_digest(text.encode("utf-8"))
    return PREFIX + base64.b64encode(nonce + tag + ciphertext).decode("ascii")


def _open(key: bytes, person_id: UUID, sealed: str) -> str:
    raw = base64.b64decode(sealed.removeprefix(PREFIX))
    nonce, tag, ciphertext = (
        raw[:NONCE_BYTES],
        raw[NONCE_BYTES : NONCE_BYTES + TAG_BYTES],
        raw[NONCE_BYTES + TAG_BYTES :],
    )
    cipher: Any = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(person_id.bytes)
    return bytes(cipher.decrypt_and_verify(ciphertext, tag)).decode("utf-8")


class PersonalKeys:
    """The key table of a ledger's store, through the recorder's own datastore.

    Nothing is cached between calls: a key another process deleted must stop opening
    the person's data at once, everywhere.
    """

    def __init__(self, recorder: Any) -> None:
        self._datastore = recorder.datastore
        table = keys_table(recorder.events_table_name)
        self._postgres = getattr(recorder, "dialect", None) == "postgresql"
        if self._postgres:
            name: Identifier = Identifier(recorder.datastore.schema, table)
        else:
            name = Identifier(table)
        self._select = self._statement("SELECT key FROM {keys} WHERE person_id = {p}", name)
        self._delete = self._statement("DELETE FROM {keys} WHERE person_id = {p}", name)
        # A race between two first seals for one person keeps the first key stored.
        self._insert = self._statement(
            "INSERT INTO {keys} (person_id, key) VALUES ({p}, {p}) ON CONFLICT DO NOTHING", name
        )

    def _statement(self, template: LiteralString, name: Identifier) -> Any:
        placeholder = SQL("%s" if self._postgres else "?")
        composed = SQL(template).format(keys=name, p=placeholder)
        return composed if self._postgres else composed.as_string(None)

    def _id(self, person_id: UUID) -> Any:
        return person_id if self._postgres else person_id.hex

    def _key(self, person_id: UUID) -> bytes | None:
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(self._select, (self._id(person_id),))
            row = cursor.fetchone()
        if row is None:
            return None
        return bytes(row["key"] if self._postgres else row[0])

    def seal(self, person_id: UUID, text: str) -> str:
        """The text sealed with the person's key, made on first use."""
        key = self._key(person_id)
        if key is None:
            with self._datastore.transaction(commit=True) as cursor:
                cursor.execute(self._insert, (self._id(person_id), secrets.token_bytes(KEY_BYTES)))
            key = self._key(person_id)
            if key is None:  # pragma: no cover - erased between the two statements
                raise KeyErasedError(f"the key of {person_id} was deleted")
        return _seal(key, person_id, text)

    def opener(self, person_id: UUID) -> Opener:
        """Opens the person's sealed values with one read of the key (None once erased)."""
        return Opener(person_id, self._key(person_id))

    def erase(self, person_id: UUID) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(self._delete, (self._id(person_id),))


class Opener:
    def __init__(self, person_id: UUID, key: bytes | None) -> None:
        self.person_id = person_id
        self.key = key

    @property
    def erased(self) -> bool:
        return self.key is None

    def open(self, sealed: str | None) -> str | None:
        if sealed is None or self.key is None:
            return None
        return _open(self.key, self.person_id, sealed)
