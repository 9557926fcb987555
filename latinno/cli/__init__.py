"""Command-line interface. ``main`` turns every LatinnoError into one line and its exit code.

Command modules import their heavy dependencies (Prefect, DuckDB, lxml) inside the command, so
``latinno parse|query|export|status`` start without loading Prefect.
"""

from __future__ import annotations

import sys

# Each command module adds its commands to ``app`` when imported (plain imports: a missing
# module is an error, never skipped); they import heavy dependencies inside the commands.
from latinno.cli import parse, refresh, release, report, site_model, warehouse  # noqa: F401
from latinno.cli.app import app, is_verbose, own_the_process
from latinno.errors import LatinnoError

KEPT = "what was written before stays (a refresh's run is marked interrupted)"


def main() -> None:
    # Standalone mode handles usage errors and --help; our own errors pass through to here.
    own_the_process()
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
