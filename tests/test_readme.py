"""The README's examples run (issue 9, part 5): every SQL example in it, through `latinno query`,
on a warehouse the demo path builds (the bundled site, refreshed), must succeed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def readme_queries() -> list[str]:
    """Every `SELECT …` in backticks and every `latinno query "…"` of the README."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.findall(r"`(SELECT [^`]+)`", text)
    found += re.findall(r'latinno query "([^"]+)"', text)
    return [
        q.replace("\\|", "|")
        for q in found
        if q.upper().startswith(("SELECT", "WITH")) and "…" not in q and "..." not in q
    ]


def test_the_readme_has_examples() -> None:
    assert len(readme_queries()) >= 10


@pytest.fixture(scope="module")
def demo_db(refreshed_site: dict[str, Any]) -> Path:
    """The demo path's warehouse: the bundled site refreshed (the session's one, conftest.py)."""
    assert refreshed_site["summary"]["counts"].get("failed", 0) == 0
    return Path(refreshed_site["db"])


@pytest.mark.parametrize("sql", readme_queries())
def test_every_readme_query_runs_on_the_demo_warehouse(demo_db: Path, sql: str) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "latinno.cli",
            "query",
            sql,
            "--db",
            str(demo_db),
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "no header, no rows"
