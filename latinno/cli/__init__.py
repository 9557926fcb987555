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


def main() -> None:
    # Standalone mode handles usage errors and --help; our own errors pass through to here.
    try:
        app()
    except LatinnoError as exc:
        if is_verbose():
            raise
        print(f"latinno: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("latinno: interrupted", file=sys.stderr)
        sys.exit(130)


__all__ = ["app", "main"]
