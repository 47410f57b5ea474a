"""Follow Goalpost's event feed from a saved cursor; verify webhook deliveries.

Run against a server (a `service` token from `goalpost tokens issue --role service`),
with the project's virtualenv, which has `httpx` (and `standardwebhooks` for
`verify_delivery`):

    .venv/bin/python docs/integrators/consumer.py --url http://127.0.0.1:8000 --token gp_...

The cursor (the last position handled) is kept in `$XDG_STATE_HOME/goalpost/consumer.cursor`,
or `~/.local/state/goalpost/consumer.cursor` when XDG_STATE_HOME is unset; `--cursor-file`
names another file. `--once` stops when it has caught up instead of polling.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

Event = dict[str, Any]


def default_cursor_file() -> Path:
    """Where the cursor lives unless `--cursor-file` says: the user's state directory.

    Not the working directory, so running the example from a clone leaves no file in it.
    """
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "goalpost" / "consumer.cursor"


def follow(
    client: httpx.Client,
    cursor_file: Path,
    handle: Callable[[Event], None],
    *,
    poll_seconds: float = 2.0,
    max_pages: int | None = None,
    event_types: list[str] | None = None,
    until_caught_up: bool = False,
) -> int:
    """Hand every goal event to `handle`, in log order, resuming where the last run stopped.

    The cursor is saved after the page is handled: a crash makes the next run re-read
    that page (at-least-once), never skip it, so make `handle` idempotent by event `id`.
    """
    cursor = int(cursor_file.read_text()) if cursor_file.exists() else 0
    cursor_file.parent.mkdir(parents=True, exist_ok=True)
    pages = 0
    while max_pages is None or pages < max_pages:
        params: dict[str, Any] = {"after": cursor, "limit": 500}
        if event_types:
            params["type"] = event_types
        response = client.get("/v1/events", params=params)
        response.raise_for_status()
        page = response.json()
        for event in page["events"]:
            handle(event)
        cursor = page["next_after"]
        cursor_file.write_text(str(cursor))
        pages += 1
        if not page["events"]:
            if until_caught_up:
                break
            time.sleep(poll_seconds)
    return cursor


def verify_delivery(secret: str, body: bytes, headers: dict[str, str]) -> Event:
    """A webhook delivery's CloudEvent, once its Standard Webhooks signature checks out.

    Raises `standardwebhooks.WebhookVerificationError` for a forged or stale delivery.
    De-duplicate on the `webhook-id` header: delivery is at-least-once.
    """
    from standardwebhooks import Webhook  # noqa: PLC0415 - only webhook receivers need it

    verified: Event = Webhook(secret).verify(body, headers)
    return verified


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--cursor-file", type=Path, default=default_cursor_file())
    parser.add_argument("--once", action="store_true", help="stop once caught up")
    args = parser.parse_args()

    def show(event: Event) -> None:
        print(event["position"], event["type"], event["subject"], json.dumps(event["data"]))

    with httpx.Client(
        base_url=args.url, headers={"Authorization": f"Bearer {args.token}"}, timeout=30
    ) as client:
        try:
            follow(client, args.cursor_file, show, until_caught_up=args.once)
        except KeyboardInterrupt:
            # Ctrl-C is how a follower is stopped; the cursor already holds the last page.
            raise SystemExit(130) from None


if __name__ == "__main__":
    main()
