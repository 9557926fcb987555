"""The current time for discovery and revisit decisions, settable for tests and checks.

``LATINNO_NOW`` (an ISO 8601 datetime; without a zone it is UTC), when set, is now: a simulated
year of weekly runs, or a check of what the next run would ask, needs no waiting.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from latinno.errors import ConfigError

ENV_NOW = "LATINNO_NOW"


def now() -> datetime:
    """Now, aware UTC: ``LATINNO_NOW`` when set, else the system clock."""
    text = os.environ.get(ENV_NOW, "").strip()
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError("environment", ENV_NOW, f"{text!r} is not an ISO 8601 datetime") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
