"""The README's Prefect commands run word for word (tests/test_serve.py): each command line in a
process group of its own, stopped as a whole; polling the Prefect API for what has no push."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from _prefect_support import stop_group

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def readme_commands(heading: str) -> list[str]:
    """The command lines of the first ``sh`` block after ``heading``, comments dropped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    start = section.index("```sh") + 5
    block = section[start : section.index("```", start)]
    lines = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    return [line for line in lines if line]


def argv(command: str, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """A command line (``VAR=value ... prog args``, maybe ending in ``&``) as the words to run
    and its environment; ``.venv/bin/`` names the test's own virtualenv."""
    words = shlex.split(command.rstrip("& "))
    env = dict(env)
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if words[0].startswith(".venv/bin/"):
        words[0] = str(BIN / Path(words[0]).name)
    return words, env


@contextmanager
def started(
    command: str, env: dict[str, str], log: Path, cwd: Path = REPO
) -> Iterator[subprocess.Popen[bytes]]:
    """A command line in its own process group, output to ``log``; the group is stopped on
    exit."""
    words, env = argv(command, env)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            words, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process started by ``started`` and its whole group: Ctrl-C, then harder."""
    stop_group(proc, (signal.SIGINT, signal.SIGTERM, signal.SIGKILL))
    with suppress(ProcessLookupError):  # leftovers: flow-run processes
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_for(what: str, check: Any, timeout_s: float, logs: list[Path]) -> Any:
    """``check()`` once a second until it gives something true, which is returned; the test
    fails with the logs' tails after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(1)  # polling an API that has no push, not waiting for a process to be ready
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)
    pytest.fail(f"timed out waiting for {what}\n{tails}")


def api(client: httpx.Client, path: str, body: dict[str, Any] | None = None) -> Any:
    response = client.post(path, json=body or {}) if body is not None else client.get(path)
    response.raise_for_status()
    return response.json()


def healthy(client: httpx.Client) -> bool:
    try:
        return client.get("/health").status_code == 200
    except httpx.HTTPError:
        return False
