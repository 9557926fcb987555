"""The README's configuration table is the settings model's (issue 20 part 5): every key the
model accepts is in the table and every key in the table is one the model accepts, as the
README writes them (``section.key``, and ``.key`` after a key of the same section); each
default the table states is the model's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from latinno.config import Settings
from latinno.config_sections import MarkerSettings, ParserSettings, PolitenessSettings
from latinno.vocabulary import COUNTRY_BY_PREFIX

README = Path(__file__).resolve().parent.parent / "README.md"

# One description of the defaults of two settings (checked by what it names).
USER_AGENT = "project name and version + contact URL"


def table_rows() -> list[tuple[str, str]]:
    """(key cell, default cell) of every row of the table under "## Configuration"."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 3:
            rows.append((cells[0], cells[1]))
    return rows


def row_keys(cell: str) -> list[str]:
    """``http.timeout_s``, ``.max_retries`` -> http.timeout_s, http.max_retries."""
    keys: list[str] = []
    for name in re.findall(r"`([^`]+)`", cell):
        keys.append(keys[-1].split(".")[0] + name if name.startswith(".") else name)
    return keys


def readme_table() -> dict[str, str]:
    """Every key of the table with the default the table states for it."""
    table: dict[str, str] = {}
    for keys_cell, default_cell in table_rows():
        keys = row_keys(keys_cell)
        defaults = [default_cell] * len(keys)  # one key, or one description for all
        if len(keys) > 1 and default_cell != USER_AGENT:
            separator = " / " if " / " in default_cell else ", "
            defaults = default_cell.split(separator)
            assert len(defaults) == len(keys), f"{keys}: one default each in {default_cell!r}"
        for key, default in zip(keys, defaults, strict=True):
            assert key not in table, f"{key} is in the table twice"
            table[key] = default.strip()
    return table


def model_defaults() -> dict[str, Any]:
    """Every key the settings model accepts, ``section.key``, with its default."""
    out: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        section = field.annotation
        assert isinstance(section, type) and issubclass(section, BaseModel), name
        for key, setting in section.model_fields.items():
            out[f"{name}.{key}"] = setting.default
    return out


def as_stated(text: str, default: Any) -> Any:
    """A default as the table writes it (``5 MB``, ``none``, ``[en]``, a YAML value), as a value
    comparable with the model's."""
    text = text.strip("`")
    if text == "none":
        return {} if isinstance(default, dict) else None
    if match := re.fullmatch(r"(\d+) MB", text):
        return int(match.group(1)) * 1_000_000
    if isinstance(default, list) and not text.startswith("["):
        return text.split(", ")
    return yaml.safe_load(text)


def comparable(default: Any) -> Any:
    return str(default) if isinstance(default, Path) else default


def test_the_readme_table_lists_exactly_the_settings_the_model_accepts() -> None:
    table, model = readme_table(), model_defaults()
    assert sorted(set(model) - set(table)) == [], "settings missing from the README's table"
    assert sorted(set(table) - set(model)) == [], "README keys the model does not accept"


@pytest.mark.parametrize("key", sorted(model_defaults()))
def test_the_readme_states_the_default_of_the_model(key: str) -> None:
    stated, default = readme_table()[key], model_defaults()[key]
    if key == "source.country_prefixes":
        assert stated == f"all {len(COUNTRY_BY_PREFIX)}"
        assert default == sorted(COUNTRY_BY_PREFIX)
    elif key == "parser.marker":  # unset, the rule ParserSettings.rule() gives is the default
        assert default is None
        assert MarkerSettings(**as_stated(stated, default)).rule() == ParserSettings().rule()
    elif key in ("politeness.user_agent", "politeness.contact"):
        assert stated == USER_AGENT
        agent, contact = PolitenessSettings().user_agent, PolitenessSettings().contact
        assert "latinno-pipeline/{version}" in agent and "{contact}" in agent
        assert contact.startswith("https://")
    else:
        assert as_stated(stated, default) == comparable(default), f"README says {stated!r}"
