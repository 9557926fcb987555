"""config.yaml validation: every error names the key and the expected form."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from latinno.config import load_settings, parse_settings
from latinno.errors import ConfigError
from latinno.vocabulary import build_labels

REPO = Path(__file__).resolve().parent.parent


def test_shipped_config_is_valid_and_polite() -> None:
    settings = load_settings(REPO / "config.yaml", env={})
    assert settings.source.base_url == "https://latinno.net"
    assert settings.politeness.rate == 2.0
    assert settings.politeness.concurrency == 2
    assert settings.politeness.contact in settings.politeness.user_agent_header
    # The unseen translations it carries are accepted by the label tables.
    labels = build_labels(settings.parser.extra_labels)
    assert labels.section_by_heading["diseño institucional"] == "institutional_design"


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"source": {"rate": 1}}, "source.rate", "unknown setting"),
        ({"sourse": {}}, "sourse", "unknown setting"),
        ({"politeness": {"rate": "fast"}}, "politeness.rate", "valid number"),
        ({"politeness": {"concurrency": 0}}, "politeness.concurrency", "greater than 0"),
        ({"source": {"base_url": "latinno.net"}}, "source.base_url", "http(s) URL"),
        ({"source": {"languages": ["fr"]}}, "source.languages.0", "'en', 'es' or 'pt'"),
        ({"source": {"country_prefixes": [11]}}, "source.country_prefixes", "unknown country"),
        ({"schedule": {"cron": "daily"}}, "schedule.cron", "5-field cron"),
        ({"parser": {"active_classes": []}}, "parser.active_classes", "at least one"),
        (
            {"parser": {"extra_labels": {"means": {"voting": ["x"]}}}},
            "parser.extra_labels",
            "unknown ['voting']",
        ),
        ({"parser": {"extra_labels": {"colours": {}}}}, "parser.extra_labels", "unknown group"),
    ],
)
def test_bad_setting_names_key(data: dict, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "my.yaml")
    assert info.value.key == key
    assert fragment in info.value.problem
    assert str(info.value).startswith(f"my.yaml: setting '{key}'")


def test_environment_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"warehouse": {"path": "a.duckdb"}}))
    env = {"LATINNO_DB": "b.duckdb", "LATINNO_BASE_URL": "http://127.0.0.1:9/"}
    settings = load_settings(path, env=env)
    assert str(settings.warehouse.path) == "b.duckdb"
    assert settings.source.base_url == "http://127.0.0.1:9"
    assert str(load_settings(path, env={}).warehouse.path) == "a.duckdb"


def test_bad_env_override_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "absent.yaml", env={"LATINNO_BASE_URL": "nope"})
    assert info.value.key in ("source.base_url", "(file)")


@pytest.mark.parametrize(
    "url", ["http://user:s3cret@latinno.net", "https://s3cret@latinno.net/", "http://:s3cret@h"]
)
def test_credentials_in_the_base_url_are_refused_without_echoing_them(url: str) -> None:
    # Issue 24: they ended up in pages.url, runs.params and a release's datapackage.json.
    with pytest.raises(ConfigError) as info:
        parse_settings({"source": {"base_url": url}}, "my.yaml")
    assert info.value.key == "source.base_url"
    assert "credentials in the URL" in info.value.problem
    assert "s3cret" not in str(info.value)


def test_cli_refuses_a_base_url_with_credentials_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "latinno.cli", "refresh", "--db", str(tmp_path / "w.duckdb")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "LATINNO_BASE_URL": "http://user:s3cret@127.0.0.1:9"},
    )
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert "source.base_url" in line and "credentials in the URL" in line, line
    assert "s3cret" not in proc.stderr + proc.stdout
    assert not (tmp_path / "w.duckdb").exists()


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"politeness": {"rate": float("inf")}}, "politeness.rate", "finite number"),
        ({"http": {"timeout_s": float("nan")}}, "http.timeout_s", "finite number"),
        ({"politeness": {"user_agent": "x {x}"}}, "politeness.user_agent", "only {contact}"),
        ({"politeness": {"user_agent": "x {"}}, "politeness.user_agent", "only {contact}"),
        ({"politeness": {"user_agent": " "}}, "politeness.user_agent", "one line"),
        ({"politeness": {"contact": "https://x/\r\nX-Evil: 1"}}, "politeness.contact", "one line"),
    ],
)
def test_settings_that_used_to_be_tracebacks_name_their_key(
    data: dict, key: str, fragment: str
) -> None:
    # Issue 24, 16: each of these failed later, as a traceback or blamed on the site.
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "my.yaml")
    assert info.value.key == key and fragment in info.value.problem, info.value


def test_unreadable_config_files_are_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("source:\n  base_url: http://h\xe9\n".encode("latin-1"))
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    cases = {
        deep: "nested too deep",
        latin1: "not UTF-8 text",
        folder: "cannot read it",
        Path("/dev/zero"): "larger than 1000000 bytes",  # read no further than that
    }
    for path, fragment in cases.items():
        with pytest.raises(ConfigError) as info:
            load_settings(path, env={})
        assert info.value.key == "(file)" and fragment in info.value.problem, info.value


def test_missing_explicit_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.yaml", env={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad, env={})


def test_cli_reports_config_error_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"warehouse": {"lock_timeout_s": "soon"}}))
    proc = subprocess.run(
        [sys.executable, "-m", "latinno.cli", "status", "--config", str(bad)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "warehouse.lock_timeout_s" in lines[0]
    assert "Traceback" not in proc.stderr
