"""Command-line interface. ``main`` turns every LatinnoError into one line and its exit code.

Command modules import their heavy dependencies (Prefect, DuckDB, lxml) inside the command, so
only the commands that orchestrate (``refresh``, ``serve``, ``demo``) load Prefect.
"""

from __future__ import annotations

import sys

# Each command module adds its commands to ``app`` when imported (plain imports: a missing
# module is an error, never skipped); they import heavy dependencies inside the commands.
from latinno.cli import (  # noqa: F401
    calibrate,
    deploy,
    parse,
    refresh,
    release,
    report,
    site_model,
    warehouse,
)
from latinno.cli.app import app, is_verbose
from latinno.errors import LatinnoError

KEPT = "what was written before stays (a refresh's run is marked interrupted)"

VERBOSE_FLAGS = ("-v", "--verbose")


def verbose_first(args: list[str]) -> list[str]:
    """``-v`` is an option of ``latinno`` itself; given after the command (``latinno refresh
    -v``) it is moved before it, as a user means it. Arguments after ``--`` stay as they are."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in VERBOSE_FLAGS]
    if not flags:
        return args
    return [*flags, *(a for a in args[:end] if a not in VERBOSE_FLAGS), *args[end:]]


def main() -> None:
    # Standalone mode handles usage errors and --help; our own errors pass through to here.
    sys.argv[1:] = verbose_first(sys.argv[1:])
    try:
        app()
    except LatinnoError as exc:
        if is_verbose():
            raise
        print(f"latinno: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit as exc:
        if exc.code != 130:  # typer's silent exit for a KeyboardInterrupt inside a command
            raise
        _interrupted()
    except BaseException as exc:
        # Prefect's TerminationSignal (SIGTERM, as systemd or docker stop a service), named
        # without importing Prefect: commands that do not orchestrate never load it.
        if type(exc).__name__ != "TerminationSignal" or is_verbose():
            raise
        print(f"latinno: stopped by SIGTERM; {KEPT}", file=sys.stderr)
        sys.exit(143)


def _interrupted() -> None:
    import logging

    # The line below is the last word: Prefect's exit handlers log nothing after it.
    logging.disable(logging.CRITICAL)
    # A refresh turns SIGTERM into a KeyboardInterrupt (flows.refresh), noting the signal.
    if "SIGTERM" in getattr(sys.modules.get("flows.refresh"), "STOPPED_BY", ()):
        print(f"latinno: stopped by SIGTERM; {KEPT}", file=sys.stderr)
        sys.exit(143)
    print(f"latinno: interrupted; {KEPT}", file=sys.stderr)
    sys.exit(130)


__all__ = ["app", "main"]
