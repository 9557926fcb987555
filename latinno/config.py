"""config.yaml: read once, validated with pydantic, errors name the bad key.

Only the CLI and the flows see ``Settings``; parsers and loaders get plain arguments from it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from latinno.config_sections import (
    SECRET_ERROR,
    ExportSettings,
    GuardSettings,
    HttpSettings,
    ParserSettings,
    PolitenessSettings,
    QuerySettings,
    ReleaseSettings,
    ReportSettings,
    RunnerSettings,
    ScheduleSettings,
    SourceSettings,
    WarehouseSettings,
    _Section,
)
from latinno.errors import ConfigError
from latinno.revisit_config import RevisitSettings

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path("config.yaml")
ENV_DB = "LATINNO_DB"
ENV_BASE_URL = "LATINNO_BASE_URL"


class Settings(_Section):
    source: SourceSettings = SourceSettings()
    politeness: PolitenessSettings = PolitenessSettings()
    http: HttpSettings = HttpSettings()
    parser: ParserSettings = ParserSettings()
    warehouse: WarehouseSettings = WarehouseSettings()
    export: ExportSettings = ExportSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    runner: RunnerSettings = RunnerSettings()
    query: QuerySettings = QuerySettings()
    guard: GuardSettings = GuardSettings()
    revisit: RevisitSettings = RevisitSettings()
    release: ReleaseSettings = ReleaseSettings()
    report: ReportSettings = ReportSettings()


def _key(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def parse_settings(data: Any, source: str) -> Settings:
    """Validate a loaded mapping; the first error becomes a ConfigError naming the key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(source, "(top level)", "expected a mapping of sections")
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = first["msg"].removeprefix("Value error, ")  # pydantic's, for our own checks
        if first["type"] == "extra_forbidden":
            problem = "unknown setting (check its spelling and section)"
        elif first["type"] == SECRET_ERROR:
            pass  # never print the value back: it holds a password
        elif "input" in first and not isinstance(first["input"], dict | list):
            problem = f"{problem} (got {first['input']!r})"
        raise ConfigError(source, _key(first["loc"]), problem) from None


MAX_CONFIG_BYTES = 1_000_000  # a config file is a page of text; /dev/zero is not one


def _read_yaml(path: Path) -> Any:
    """The YAML of a config file; every way it can be unreadable is a ConfigError."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:  # a directory, no permission
        raise ConfigError(str(path), "(file)", f"cannot read it: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(str(path), "(file)", f"larger than {MAX_CONFIG_BYTES} bytes") from None
    try:
        return yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "(file)", f"not UTF-8 text (byte {exc.start})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "(file)", f"not valid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(str(path), "(file)", "nested too deep to be a config file") from None


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read config.yaml once; ``LATINNO_DB`` and ``LATINNO_BASE_URL`` override it.

    A missing default file means built-in defaults; a missing explicit file is an error.
    Relative paths of a file (and the defaults it leaves) are relative to that file's folder.
    """
    env = dict(os.environ) if env is None else env
    explicit = path is not None
    path = path or DEFAULT_CONFIG_PATH
    data: Any = {}
    if path.exists():
        data = _read_yaml(path)
    elif explicit:
        raise ConfigError(str(path), "(file)", "file not found")
    settings = parse_settings(data, str(path))
    if path.exists():
        settings = anchored(settings, path.parent, str(path))
    overrides: dict[str, Any] = {}
    if env.get(ENV_DB):
        overrides["warehouse"] = {"path": env[ENV_DB]}
    if env.get(ENV_BASE_URL):
        overrides["source"] = {"base_url": env[ENV_BASE_URL]}
    if overrides:
        settings = override(settings, overrides, f"{path} + environment")
    return settings


Overrides = dict[str, dict[str, Any]]


def resolve_settings(
    path: Path | None, overrides: Overrides | None = None, source: str = "overrides"
) -> Settings:
    """config.yaml read once with ``overrides`` (``{section: {key: value}}``) applied on top.

    The one way a config path and overrides become settings: the CLI validates a command's
    flags with it before anything starts, and the flow resolves the same two values again.
    """
    settings = load_settings(path)
    return override(settings, overrides, source) if overrides else settings


def override(settings: Settings, changes: dict[str, dict[str, Any]], source: str) -> Settings:
    """A validated copy with ``{section: {key: value}}`` changed (CLI flags, environment)."""
    data = settings.model_dump(mode="json")
    for section, values in changes.items():
        data[section].update(values)
    return parse_settings(data, source)


# Settings that name a file or folder: relative to the config file that holds them.
PATH_SETTINGS: tuple[tuple[str, str], ...] = (
    ("warehouse", "path"),
    ("export", "dir"),
    ("release", "dir"),
    ("report", "path"),
)


def anchored(settings: Settings, folder: Path, source: str) -> Settings:
    """``settings`` with each relative path of PATH_SETTINGS made relative to ``folder`` (a
    config file's), so ``--config /abs/x.yaml`` means the same from any working directory."""
    if folder == Path("."):
        return settings
    changes: Overrides = {}
    for section, key in PATH_SETTINGS:
        value = Path(getattr(getattr(settings, section), key))
        if not value.is_absolute():
            changes.setdefault(section, {})[key] = str(folder / value)
    return override(settings, changes, source) if changes else settings


def config_file(path: Path | None) -> Path | None:
    """The file a command reads: ``path`` (``--config``), else ./config.yaml if there is one."""
    if path is not None:
        return path
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.is_file() else None


def describe_config(path: Path | None) -> str:
    """Which config a command used, for the one line every command prints."""
    found = config_file(path)
    if found is None:
        return f"none: no config.yaml in {Path.cwd()} and no --config; built-in defaults"
    return str(found.resolve())
