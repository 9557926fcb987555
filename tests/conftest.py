"""Session-wide test setup: a private, quiet Prefect home so tests never touch ~/.prefect."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Set before anything imports prefect: settings are read at import time.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="latinno-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "ERROR")
# A busy CI machine can take longer than the default 20 s to start the temporary server.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


# --- the suite leaves the working tree as it found it (issue 21, item 1) -------------------------


@pytest.fixture(scope="session", autouse=True)
def working_tree_unchanged() -> Iterator[None]:
    """Every test writes only in its tmp folder: what git sees (tracked, untracked and ignored
    files, caches aside; size and mtime) is the same after the session as before it."""
    from tests._tree_support import tree_changes, tree_snapshot

    before = tree_snapshot(REPO)
    yield
    after = tree_snapshot(REPO)
    if before is None or after is None:  # not a git checkout: nothing to compare
        return
    changes = tree_changes(before, after)
    assert not changes, "the tests wrote into the working tree:\n" + "\n".join(changes[:20])
