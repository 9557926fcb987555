"""The README's examples run (issue 9, part 5): every SQL example in it, through `latinno query`,
on a warehouse the demo path builds (the bundled site, refreshed), must succeed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from latinno.cli import app

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


# `latinno query` in this process (Typer's runner): one cold process per query proved nothing
# more about the SQL; the command as a process is tests/test_query_sandbox.py's.
@pytest.mark.parametrize("sql", readme_queries())
def test_every_readme_query_runs_on_the_demo_warehouse(demo_db: Path, sql: str) -> None:
    args = ["query", sql, "--db", str(demo_db), "--format", "csv"]
    result = CliRunner().invoke(app, args, prog_name="latinno")
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout.strip(), "no header, no rows"
