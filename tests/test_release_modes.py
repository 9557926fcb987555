"""A release folder follows the umask, as the files in it do (issue 21, item 15)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_release_support import build_warehouse

from latinno.release import write_release


@pytest.fixture()
def umask() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


@pytest.mark.parametrize(("mask", "folder", "file"), [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)])
def test_release_folders_and_files_follow_the_umask(
    tmp_path: Path, umask: None, mask: int, folder: int, file: int
) -> None:
    db = build_warehouse(tmp_path / "wh.duckdb")
    os.umask(mask)
    result = write_release(db, tmp_path / "releases")
    modes = {
        p.relative_to(result.path).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in result.path.rglob("*")
    }
    assert stat.S_IMODE(result.path.stat().st_mode) == folder  # was 0700 (mkdtemp)
    assert modes["csv"] == modes["stata"] == folder
    assert modes["SHA256SUMS"] == modes["csv/cases_wide.csv"] == file
    assert {m for m in modes.values()} == {folder, file}
