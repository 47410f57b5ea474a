"""The seal's chain: how one stored event is hashed onto the hash before it.

Each stored event gets one seal row: its position and the hex SHA-256 of

    frame(previous hash) ‖ frame(position) ‖ frame(originator id) ‖ frame(originator version)
    ‖ frame(topic) ‖ frame(state)

where `frame(b)` is `b` preceded by its length as 8 bytes, big-endian, so no two
different events encode alike. The previous hash is the raw 32 bytes of the seal row of
the previous event in the log (gaps in positions are normal and sealed over), or
`GENESIS` for the first; positions and versions are 8-byte big-endian signed integers,
the originator id its 16 UUID bytes, the topic UTF-8, the state the stored bytes as
they are (compressed or encrypted if the store does that). ADR 13 explains what the
chain detects and what it cannot.
"""

from __future__ import annotations

import hashlib
import re
import struct
from uuid import UUID

from eventsourcing.persistence import Notification

# Changing anything in the encoding means a new genesis text ("v2") and a re-seal.
GENESIS = hashlib.sha256(b"goalpost seal v1 genesis").digest()
GENESIS_POSITION = 0
HEX_HASH = re.compile(r"^[0-9a-f]{64}$")
# The seal's read-model name: its tables, its position, what verification reads.
SEAL = "seal"

# The fixed-width fields, each framed: hash (32), position (8), originator id (16), version (8).
_FIXED = struct.Struct(">Q32sQqQ16sQq")


def link(
    previous: bytes, position: int, originator_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """The seal hash of one stored event, chained to the hash before it."""
    return link_bytes(previous, position, originator_id.bytes, version, topic, state)


def link_bytes(
    previous: bytes, position: int, originator_id: bytes, version: int, topic: str, state: bytes
) -> bytes:
    # struct would silently pad or cut a field of the wrong length.
    if len(previous) != 32 or len(originator_id) != 16:
        raise ValueError("a seal hash is 32 bytes and an originator id 16")
    encoded_topic = topic.encode("utf-8")
    digest = hashlib.sha256(_FIXED.pack(32, previous, 8, position, 16, originator_id, 8, version))
    digest.update(len(encoded_topic).to_bytes(8, "big"))
    digest.update(encoded_topic)
    digest.update(len(state).to_bytes(8, "big"))
    digest.update(state)
    return digest.digest()


def link_notification(previous: bytes, stored: Notification) -> bytes:
    return link(
        previous,
        stored.id,
        stored.originator_id,  # type: ignore[arg-type]
        stored.originator_version,
        stored.topic,
        stored.state,
    )


def stored_hash(text: str) -> bytes | None:
    """A seal row's hash as bytes; None if the row does not hold one."""
    return bytes.fromhex(text) if HEX_HASH.match(text) else None
