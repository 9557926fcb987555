"""Fresh virtual environments in a test's tmp folder, for what must work outside our own .venv
(an installed wheel, an older DuckDB). They are made and filled by uv (a dev dependency, so in
.venv on a fresh clone): seconds where pip took a minute, and its cache makes a second install
of the same packages near-free. The environments are as fresh as pip's: only what is asked for
(and its dependencies) is installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

UV = [sys.executable, "-m", "uv"]
# The words of uv (and pip) when the package index cannot be reached at all (not a wrong version).
_NO_NETWORK = (
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No route to host",
    "Connection refused",
    "dns error",
    "tcp connect error",
)


def _run_uv(*args: str, timeout: float) -> None:
    """``uv ARGS``; skips the test when the package index cannot be reached, fails it on any
    other error."""
    proc = subprocess.run([*UV, *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode == 0:
        return
    if any(sign in proc.stderr for sign in _NO_NETWORK):
        pytest.skip(f"uv cannot reach the package index: {proc.stderr.strip().splitlines()[-1]}")
    raise AssertionError(f"uv {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")


def make_venv(folder: Path) -> Path:
    """A new virtual environment on the Python running the tests; returns its python."""
    subprocess.run(
        [*UV, "venv", "-q", "--python", sys.executable, str(folder)], check=True, timeout=300
    )
    return folder / "bin" / "python"


def pip_install(python: Path, *args: str, timeout: float = 900) -> None:
    """``uv pip install ARGS`` into the environment of ``python``, not compiled to bytecode:
    compiling every installed module (Prefect's server and all) took 20 s, while the commands
    run there import a part of them; run them in ``bytecode_written(env)``."""
    _run_uv("pip", "install", "-q", "--python", str(python), *args, timeout=timeout)


def bytecode_written(env: dict[str, str]) -> dict[str, str]:
    """``env`` without PYTHONDONTWRITEBYTECODE: in a fresh environment the first command to
    import a module compiles it once, into that environment, for the ones after it (as an
    install by pip, which compiles everything, would have it)."""
    env = dict(env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def build_wheel(source: Path, dist: Path, timeout: float = 600) -> Path:
    """The wheel of the project in ``source`` (its build backend from the index), in ``dist``."""
    _run_uv("build", "-q", "--wheel", "--out-dir", str(dist), str(source), timeout=timeout)
    (wheel,) = dist.glob("latinno_pipeline-*.whl")
    return wheel
