"""`latinno deploy` without a Prefect server (issue 20, part 2). The README's "On a Prefect work
pool" commands, run word for word with a real worker, are in tests/test_serve.py: they run there
while its serves wait for their cron minute."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_deploy_without_a_prefect_server_fails_in_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect-home"))
    env.pop("PREFECT_API_URL", None)
    command = [sys.executable, "-m", "latinno.cli", "deploy", "--pool", "nowhere"]
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert "PREFECT_API_URL is not set" in line
