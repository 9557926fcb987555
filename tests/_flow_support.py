"""What flow tests share: the expected records of a fixture site and a case as stored."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
from _prefect_support import prefect_api_url

from latinno.vocabulary import codes_for


def expected_records(root: Path, lang: str) -> dict[int, dict[str, Any]]:
    out = {}
    for path in sorted((root / lang / "case").glob("*/expected.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        out[record["case_id"]] = record
    return out


def stored_case(con: duckdb.DuckDBPyConnection, case_id: int) -> dict[str, Any]:
    """A case as the warehouse holds it, shaped like the record contract's case fields."""
    row = con.execute(
        "SELECT country_code, title, description, formalization, frequency, "
        "participant_selection, decisiveness, co_governance FROM cases WHERE case_id = ?",
        [case_id],
    ).fetchone()
    assert row is not None, f"case {case_id} not loaded"
    keys = [
        "country_code",
        "title",
        "description",
        "formalization",
        "frequency",
        "participant_selection",
        "decisiveness",
        "co_governance",
    ]
    case = dict(zip(keys, row, strict=True))
    for name, table, column in (
        ("participant_types", "case_participant_types", "participant_type"),
        ("means", "case_means", "means"),
        ("ends", "case_ends", "ends"),
        ("policy_cycle", "case_policy_cycle", "stage"),
    ):
        found = {
            r[0]
            for r in con.execute(
                f"SELECT {column} FROM {table} WHERE case_id = ?", [case_id]
            ).fetchall()
        }
        case[name] = [code for code in codes_for(name) if code in found]
    case["sources"] = [
        {"text": t, "url": u}
        for t, u in con.execute(
            "SELECT text, url FROM case_sources WHERE case_id = ? ORDER BY position", [case_id]
        ).fetchall()
    ]
    case["sections_present"] = con.execute(
        "SELECT sections_present FROM cases WHERE case_id = ?", [case_id]
    ).fetchone()[0]  # type: ignore[index]
    return case


CONFIG = str(Path(__file__).resolve().parent.parent / "config.yaml")
# Keyword arguments of run_refresh and the settings they override.
_SETTINGS = {
    "base_url": ("source", "base_url"),
    "languages": ("source", "languages"),
    "db": ("warehouse", "path"),
    "rate": ("politeness", "rate"),
    "concurrency": ("politeness", "concurrency"),
}


def run_refresh(**params: Any) -> dict[str, Any]:
    """The refresh flow on the project's config at full speed (rate 0, 4 in flight);
    ``base_url``, ``db``, ``languages``, ``rate`` and ``concurrency`` override settings."""
    from flows.refresh import refresh

    prefect_api_url()  # the session's Prefect server, which PREFECT_API_URL names
    params.setdefault("rate", 0)
    params.setdefault("concurrency", 4)
    overrides: dict[str, dict[str, Any]] = params.pop("overrides", {})
    for name, (section, key) in _SETTINGS.items():
        if name in params:
            overrides.setdefault(section, {})[key] = params.pop(name)
    params.setdefault("config_path", CONFIG)
    return asyncio.run(refresh(overrides=overrides, **params))


def copy_refreshed(refreshed: dict[str, Any], into: Path) -> dict[str, Any]:
    """A private copy of the session's ``refreshed_site`` (conftest.py): its site folder and
    warehouse file in ``into``, for a test that changes them."""
    shutil.copytree(refreshed["site"], into / "site")
    shutil.copy2(refreshed["db"], into / "w.duckdb")
    return {**refreshed, "site": into / "site", "db": into / "w.duckdb"}


def quiet_cli_env(tmp_path: Path, *, temporary_server: bool = False) -> dict[str, str]:
    """The environment of a CLI run in a test: a private Prefect home, and no logging level
    inherited from the test session, so the CLI must quieten Prefect by itself.

    The run reports to the session's Prefect server (tests/_prefect_support.py), or with
    ``temporary_server`` to none, so that Prefect starts its temporary one as on a first run."""
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"))
    env.pop("PREFECT_LOGGING_LEVEL", None)
    if temporary_server:
        env.pop("PREFECT_API_URL", None)
    else:
        env["PREFECT_API_URL"] = prefect_api_url()
    return env


def without_progress(stderr: str) -> str:
    """A CLI run's stderr without its progress lines (one per 10 s without a terminal), which
    come before what the run says at the end."""
    return "".join(
        line for line in stderr.splitlines(keepends=True) if not line.startswith("refresh: ")
    )


def run_cli(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``latinno ARGS`` as a process, in a test's environment (``quiet_cli_env``); its stderr
    without the progress lines."""
    proc = subprocess.run(
        [sys.executable, "-m", "latinno.cli", *args],
        capture_output=True,
        text=True,
        env=quiet_cli_env(tmp_path),
        timeout=timeout,
    )
    proc.stderr = without_progress(proc.stderr)
    return proc
