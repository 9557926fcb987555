"""config.yaml validation: every error names the key and the expected form."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from latinno.config import Settings, load_settings, parse_settings
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
        # Every section refuses infinity, the revisit one (its own module) too.
        ({"revisit": {"max_days": float("inf")}}, "revisit.max_days", "finite number"),
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
    # Relative to the config file, not to where the command runs (issue 21).
    assert load_settings(path, env={}).warehouse.path == tmp_path / "a.duckdb"


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
        (
            {"politeness": {"user_agent": "x {x}"}},
            "politeness.user_agent",
            "placeholders are {contact} and {version} only",
        ),
        (
            {"politeness": {"user_agent": "x {"}},
            "politeness.user_agent",
            "placeholders are {contact} and {version} only",
        ),
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


@pytest.mark.process
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


@pytest.mark.parametrize(
    ("schedule", "key", "problem"),
    [
        ({"timezone": "Mars/Olympus"}, "schedule.timezone", "not an IANA time zone"),
        ({"timezone": "../etc/passwd"}, "schedule.timezone", "not an IANA time zone"),
        ({"cron": "61 * * * *"}, "schedule.cron", "minute 61 is outside 0-59"),
        ({"cron": "0 24 * * *"}, "schedule.cron", "hour 24 is outside 0-23"),
        ({"cron": "0 3 0 * *"}, "schedule.cron", "day of month 0 is outside 1-31"),
        ({"cron": "0 3 * 13 *"}, "schedule.cron", "month 13 is outside 1-12"),
        ({"cron": "0 3 * * 8"}, "schedule.cron", "day of week 8 is outside 0-7"),
        ({"cron": "*/0 3 * * *"}, "schedule.cron", "minute '*/0': the step after /"),
        ({"cron": "0 3 * * monday"}, "schedule.cron", "day of week 'monday' is not a number"),
        ({"cron": "0 3 * *"}, "schedule.cron", "expected a 5-field cron expression"),
    ],
)
def test_a_bad_schedule_is_refused_when_the_config_is_read(
    tmp_path: Path, schedule: dict[str, str], key: str, problem: str
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"schedule": schedule}))
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}: setting '{key}': {problem}"), message
    assert "\n" not in message and "Value error" not in message


GOOD_CRONS = ["0 3 * * 1", "*/15 * * * *", "0 0-6/2 1,15 jan-jun mon-fri", "30 4 * * 7"]


@pytest.mark.parametrize("cron", [*GOOD_CRONS, "0 3 ? * SUN"])
def test_good_schedules_pass(tmp_path: Path, cron: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"schedule": {"cron": cron, "timezone": "America/Sao_Paulo"}}))
    assert load_settings(path, env={}).schedule.cron == cron


def test_serve_with_a_bad_timezone_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"schedule": {"timezone": "Mars/Olympus"}}))
    proc = subprocess.run(
        [sys.executable, "-m", "latinno.cli", "serve", "--config", str(path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"latinno: error: {path}: setting 'schedule.timezone': not an IANA time zone; expected "
        "a name such as Europe/Berlin or UTC (got 'Mars/Olympus')"
    ]


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"parser": {"marker": {"kind": "colour"}}}, "parser.marker.kind", "'class'"),
        (
            {"parser": {"marker": {"kind": "attribute", "values": ["true"]}}},
            "parser.marker",
            "name",
        ),
        ({"parser": {"marker": {"values": []}}}, "parser.marker", "at least one"),
        ({"parser": {"marker": {"marks": "yes"}}}, "parser.marker.marks", "applying"),
        (
            {"parser": {"marker": {"values": ["on"]}, "active_classes": ["on"]}},
            "parser",
            "not both",
        ),
    ],
)
def test_bad_marker_names_key(data: dict, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "my.yaml")
    assert (info.value.key, fragment in info.value.problem) == (key, True), info.value


def test_marker_rule_and_the_old_active_classes_setting() -> None:
    from latinno.marker import Marker

    shipped = load_settings(REPO / "config.yaml", env={}).parser.rule()
    assert shipped == Marker("class", ("active",), None, "applying")
    old = parse_settings({"parser": {"active_classes": ["on", "sel"]}}, "x").parser.rule()
    assert old == Marker("class", ("on", "sel"), None, "applying")
    aria = {"kind": "attribute", "name": "aria-checked", "values": ["true"]}
    rule = parse_settings({"parser": {"marker": aria}}, "x").parser.rule()
    assert rule == Marker("attribute", ("true",), "aria-checked", "applying")


def test_every_section_is_one_kind_of_frozen_model() -> None:
    """Sections are passed to fetching and the guard as they are (issue 20): none may change
    under them, and every one refuses unknown keys and infinity alike."""
    from latinno.config_sections import _Section

    settings = Settings()
    for name, field in Settings.model_fields.items():
        assert isinstance(field.annotation, type) and issubclass(field.annotation, _Section), name
        with pytest.raises(ValidationError, match="frozen"):
            setattr(getattr(settings, name), next(iter(field.annotation.model_fields)), None)
