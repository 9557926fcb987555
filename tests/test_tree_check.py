"""The session check that the suite leaves the working tree as it found it (conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests._tree_support import tree_changes, tree_snapshot


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".gitignore").write_text("/releases/\n/reports/\n__pycache__/\n", encoding="utf-8")
    (repo / "README.md").write_text("hello\n", encoding="utf-8")
    (repo / "reports").mkdir()
    (repo / "reports" / "latinno-report.html").write_text("<p>mine</p>", encoding="utf-8")
    return repo


def test_a_file_written_into_an_ignored_folder_is_seen(checkout: Path) -> None:
    before = tree_snapshot(checkout)
    assert before is not None
    (checkout / "releases" / "2026-03-09.1").mkdir(parents=True)
    (checkout / "releases" / "2026-03-09.1" / "SHA256SUMS").write_text("x", encoding="utf-8")
    after = tree_snapshot(checkout)
    assert after is not None
    assert tree_changes(before, after) == ["new or changed: releases/2026-03-09.1/SHA256SUMS"]


def test_an_overwritten_ignored_file_and_an_edited_tracked_file_are_seen(checkout: Path) -> None:
    subprocess.run(["git", "-C", str(checkout), "add", "README.md"], check=True)
    before = tree_snapshot(checkout)
    assert before is not None
    (checkout / "reports" / "latinno-report.html").write_text("<p>a test's</p>", encoding="utf-8")
    (checkout / "README.md").write_text("changed\n", encoding="utf-8")
    after = tree_snapshot(checkout)
    assert after is not None
    assert tree_changes(before, after) == [
        "new or changed: README.md",
        "new or changed: reports/latinno-report.html",
    ]


def test_caches_are_not_changes(checkout: Path) -> None:
    before = tree_snapshot(checkout)
    assert before is not None
    (checkout / "pkg" / "__pycache__").mkdir(parents=True)
    (checkout / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0")
    assert tree_changes(before, tree_snapshot(checkout) or {}) == []


def test_outside_a_checkout_there_is_nothing_to_compare(tmp_path: Path) -> None:
    assert tree_snapshot(tmp_path / "nowhere") is None
