"""The event feed: a page of CloudEvents and the cursor to continue from."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import FromRow


# Read off a `delivery.feed.FeedPage`.
class FeedPage(FromRow):
    events: list[dict[str, Any]] = Field(
        description="CloudEvents 1.0 JSON objects in log order; `position` is the cursor."
    )
    next_after: int = Field(description="Pass as `after` to continue; stable across restarts.")
    head: int = Field(description="The log's last position when this page was read.")
