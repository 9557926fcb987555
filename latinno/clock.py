"""The current time for discovery and revisit decisions and for when runs start, settable for
tests and checks; and a run's id, which says when it started.

``LATINNO_NOW`` (an ISO 8601 datetime; without a zone it is UTC), when set, is now: a simulated
year of weekly runs, or a check of what the next run would ask, needs no waiting.
"""

from __future__ import annotations

import os
import uuid
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


def run_id(kind: str = "", started: datetime | None = None) -> str:
    """A new run's id: when it started (``started``, else now by this clock) to the second in
    UTC, then ``kind`` for a run that is not a refresh, then 6 random hex digits:
    ``20260302T030000Z-1a2b3c``, ``20260302T030000Z-reparse-1a2b3c``. Ids sort as their runs
    started; the digits keep apart two runs started in one second."""
    moment = (started or now()).astimezone(UTC)
    middle = f"{kind}-" if kind else ""
    return f"{moment:%Y%m%dT%H%M%SZ}-{middle}{uuid.uuid4().hex[:6]}"
