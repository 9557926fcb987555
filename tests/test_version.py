"""The version lives in one place (issue 22, part 4): pyproject.toml's ``project.version``, read
from the installed package's metadata by ``--version``, the User-Agent, releases and the report."""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from latinno import pipeline_version
from latinno.config import load_settings, parse_settings
from latinno.errors import ConfigError
from latinno.report import write_report
from warehouse.db import connect

REPO = Path(__file__).resolve().parent.parent
# A version number written down anywhere but pyproject.toml (and the changelog, which names
# releases): the User-Agent once carried the number by hand in two places.
HARD_CODED = re.compile(r"latinno(?:-pipeline)?[/ ]v?\d+\.\d+")


def test_the_installed_metadata_is_pyprojects_version() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert pipeline_version() == version("latinno-pipeline") == pyproject["project"]["version"]


def test_no_tracked_file_writes_the_version_down_again() -> None:
    names = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    found = []
    for name in names:
        if name in ("pyproject.toml", "CHANGELOG.md") or not (REPO / name).is_file():
            continue
        text = (REPO / name).read_bytes().decode("utf-8", errors="replace")
        found += [f"{name}: {m}" for m in HARD_CODED.findall(text)]
    assert found == []


@pytest.mark.parametrize("config", [None, REPO / "config.yaml"])
def test_the_user_agent_carries_the_installed_version(config: Path | None) -> None:
    settings = load_settings(config, env={})
    agent = settings.politeness.user_agent_header
    assert agent.startswith(f"latinno-pipeline/{version('latinno-pipeline')} (")
    assert settings.politeness.contact in agent


def test_a_user_agent_template_with_an_unknown_placeholder_names_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"politeness": {"user_agent": "bot/{release} (+{contact})"}}, "c.yaml")
    assert "politeness.user_agent" in str(caught.value)
    assert "{version}" in str(caught.value)


def test_the_report_names_the_pipeline_version(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    connect(db).close()
    html = write_report(db, tmp_path / "r.html", lock_timeout_s=5).read_text(encoding="utf-8")
    expected = version("latinno-pipeline")
    assert f'<meta name="generator" content="latinno-pipeline {expected}">' in html
    assert f"Report built by the LATINNO pipeline {expected} " in html
