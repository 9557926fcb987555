"""The typer application and what every command shares: settings, --db/--config, errors."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from latinno import pipeline_version
from latinno.config import Overrides, Settings, resolve_settings

app = typer.Typer(
    name="latinno",
    help="LATINNO pipeline: fetch, parse and load the LATINNO case pages into DuckDB.\n\n"
    "Example: latinno refresh --base-url http://127.0.0.1:8765 --db data/demo.duckdb",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Path to config.yaml (default: ./config.yaml).", show_default=False
    ),
]
DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="DuckDB file (default: warehouse.path in config, or $LATINNO_DB).",
        show_default=False,
    ),
]

_state: dict[str, Any] = {"verbose": False}


def _print_version(value: bool) -> None:
    if value:
        found = pipeline_version()
        hint = " (not installed; run `make` or `pip install -e .`)" if found == "unknown" else ""
        print(f"latinno {found}{hint}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Show detail and tracebacks.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    _state["verbose"] = verbose
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def is_verbose() -> bool:
    return bool(_state["verbose"])


def overrides_for(db: Path | None = None, **flags: Any) -> Overrides:
    """A command's flags as overrides: ``--db`` and ``section__key=value`` (None: not given)."""
    changes: Overrides = {}
    if db is not None:
        changes["warehouse"] = {"path": str(db)}
    for key, value in flags.items():
        if value is None:
            continue
        section, _, name = key.partition("__")
        changes.setdefault(section, {})[name] = value
    return changes


def settings_for(
    config: Path | None, db: Path | None = None, *, announce: bool = True, **flags: Any
) -> Settings:
    """Read config once and apply command-line overrides (``--db``, source/politeness flags).

    ``announce``: say which config on stderr (``note_config``); commands that print a report
    pass False and say it in the report.
    """
    settings = resolve_settings(config, overrides_for(db, **flags), "command line")
    if announce:
        note_config(config)
    return settings


def config_line(config: Path | None) -> str:
    """``config: /abs/config.yaml`` (or that there was none): what every command says."""
    from latinno.config import describe_config

    return f"config: {describe_config(config)}"


def note_config(config: Path | None) -> None:
    """Commands whose stdout is data (query, changes, parse, report) say which config they
    used on stderr, when a person is watching it; a script reading them gets its data alone."""
    import sys

    if sys.stderr.isatty():
        print(f"latinno: {config_line(config)}", file=sys.stderr)


def refuse_defaults_for_the_site(config: Path | None, base_url_given: bool) -> None:
    """A command that fetches, run where there is no config.yaml and given none, stops rather
    than crawl the real site on built-in defaults into a warehouse of the current folder."""
    from latinno.config import ENV_BASE_URL, config_file
    from latinno.config_sections import SourceSettings
    from latinno.errors import LatinnoError

    if config_file(config) is None and not base_url_given and not os.environ.get(ENV_BASE_URL):
        raise LatinnoError(
            f"no config.yaml in {Path.cwd()} and no --config: not fetching "
            f"{SourceSettings().base_url} on built-in defaults; run where your config.yaml is, "
            "pass --config PATH, or name the site with --base-url"
        )


def quiet_prefect(level: str = "WARNING") -> None:
    """Environment for a Prefect run that prints no telemetry or shutdown noise offline.

    ``level`` is Prefect's console log level. Interactive commands pass CRITICAL: a failure
    reaches the user once, as our one-line error, not also as Prefect's logged traceback (the
    Prefect API still records the failed run). An explicit PREFECT_LOGGING_LEVEL wins.
    """
    if is_verbose():
        level = "INFO"
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", level)
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    # Prefect's temporary API server once took longer than its default 20 s to start on a busy
    # machine (issue 13); a run would rather wait than fail.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_SERVER_TELEMETRY_ENABLED", "false")
    reap_children()


class Output(Console):
    """Standard output that a reader gone early (``latinno refresh | head -1``) leaves quiet.

    What a command prints is for its reader; how the run ended is its exit code, which that
    reader does not change. Rich's default on a broken pipe is to exit 1; here the rest of the
    output is dropped (standard output pointed at the null device, as Python's documentation
    advises for SIGPIPE, so the interpreter's last flush does not fail either) and the command
    goes on to its own exit code.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def reap_children() -> None:
    """Whatever this command starts (Prefect's server) ends with it, even when
    it is killed with -9 (latinno.reaper)."""
    if not _state.get("reaper"):
        from latinno.reaper import watch_over

        _state["reaper"] = watch_over()
