"""An API process's heap, collected in short pauses (ADR 47).

CPython's cyclic collector walks every tracked object in a full collection: the app's
modules, routes and schemas, and every goal kept in memory. Under load a full collection
came often enough to hold one request in a hundred for tens of milliseconds (p99 107-119
ms against 52-54 ms with the startup objects frozen, `python -m bench.http`).
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect once, then leave every object alive now out of later collections: what
    a process builds at startup lives as long as the process does."""
    gc.collect()
    gc.freeze()
