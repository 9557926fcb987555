"""Fresh virtual environments in a test's tmp folder, for what must work outside our own .venv
(an installed wheel, an older DuckDB). pip uses its usual cache, so a second run is quick."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# pip's words when the package index cannot be reached at all (not a wrong version).
_NO_NETWORK = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No route to host",
    "Connection refused",
)


def make_venv(folder: Path) -> Path:
    """A new virtual environment with pip; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    return folder / "bin" / "python"


def pip_install(python: Path, *args: str, timeout: float = 900) -> None:
    """``pip install ARGS`` into the environment of ``python``; skips the test when the
    package index cannot be reached, fails it on any other pip error."""
    proc = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode == 0:
        return
    if any(sign in proc.stderr for sign in _NO_NETWORK):
        pytest.skip(f"pip cannot reach the package index: {proc.stderr.strip().splitlines()[-1]}")
    raise AssertionError(f"pip install {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
