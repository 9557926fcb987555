"""Session-wide test setup: a private, quiet Prefect home so tests never touch ~/.prefect; one
Prefect server and one refreshed fixture site per session (the blocks below)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _prefect_support import configure, session_server

REPO = Path(__file__).resolve().parent.parent

# Set before anything imports prefect: settings are read at import time. Each pytest-xdist
# worker (`make test`, `make unit`) is a session of its own: its own Prefect home and server,
# never the ones its controller named.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="latinno-prefect-")
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="latinno-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "ERROR")
# A busy CI machine can take longer than the default 20 s to start the temporary server.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

# --- One Prefect server per session (issue 20, part 7; tests/_prefect_support.py) -------------
# Named here (PREFECT_API_URL), before any test module imports Prefect; started in the background
# as soon as the session holds a slow test (the ones that run flows), waited for by what runs a
# flow (run_refresh and quiet_cli_env of _flow_support, the prefect_api fixture); stopped when
# the session ends. A flow run without them meets a port nobody listens on, and says so.

configure(Path(tempfile.mkdtemp(prefix="latinno-prefect-server-")))


@pytest.hookimpl(trylast=True)  # after -m and -k deselected what will not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        _slow_modules_first(items)
    if config.option.collectonly:
        return
    if any(item.get_closest_marker("slow") for item in items):
        session_server().begin()


def _slow_modules_first(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadfile`: a module's tests, and its module fixtures, stay on
    one worker) the modules holding slow tests are handed out first, so the workers end
    together rather than one waiting while the other runs the last slow module alone."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: file order otherwise


@pytest.fixture(scope="session")
def prefect_api() -> str:
    """The URL of the session's Prefect server (also in ``PREFECT_API_URL``)."""
    return session_server().ensure()


def pytest_sessionfinish() -> None:
    session_server().stop()


# --- end of the session's Prefect server ---------------------------------------------------------


# --- One refreshed fixture site per session (issue 20, part 7) ---------------------------------


@pytest.fixture(scope="session")
def refreshed_site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The bundled site (a copy, its edge pages aside), refreshed once in all three languages
    through its sitemap: ``site``, ``db``, the run's ``summary`` and the server's ``stats``.
    Read it as it is; a test that writes takes a copy (``_flow_support.copy_refreshed``)."""
    from _flow_support import run_refresh

    from latinno.sitemodel.server import run_server_in_thread

    site = tmp_path_factory.mktemp("refreshed") / "site"
    shutil.copytree(REPO / "fixtures" / "html", site, ignore=shutil.ignore_patterns("_edge"))
    db = site.parent / "w.duckdb"
    with run_server_in_thread(site, sitemap=True) as server:
        summary = run_refresh(base_url=server.base_url, db=str(db), languages=["en", "es", "pt"])
        stats = server.stats()
    return {"site": site, "db": db, "summary": summary, "stats": stats}


# --- end of the refreshed fixture site ------------------------------------------------------------

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
