"""What git sees of a checkout, to check that the suite writes nothing into it (conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

CACHES = ("__pycache__", ".venv", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis")
Snapshot = dict[str, tuple[str, int, int]]


def tree_snapshot(root: Path) -> Snapshot | None:
    """{path: (git status code, size, mtime_ns)} of every file git lists under ``root`` as
    changed, untracked or ignored (caches aside); None outside a git checkout."""
    excludes = [f":(exclude,glob)**/{name}/**" for name in (*CACHES, "*.egg-info")]
    try:
        listed = subprocess.run(
            ["git", "status", "--porcelain=v1", "-z", "--ignored", "--untracked-files=all",
             "--", ".", *excludes],
            cwd=root, capture_output=True, text=True, check=True, timeout=60,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    snapshot: Snapshot = {}
    for entry in filter(None, listed.split("\0")):
        code, name = entry[:2], entry[3:]
        try:
            stat = (root / name).stat()
            snapshot[name] = (code, stat.st_size, stat.st_mtime_ns)
        except OSError:
            snapshot[name] = (code, -1, -1)
    return snapshot


def tree_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What changed between two snapshots, one line per path."""
    changed = [f"new or changed: {p}" for p in sorted(after) if before.get(p) != after[p]]
    changed += [f"removed: {p}" for p in sorted(set(before) - set(after))]
    return changed
