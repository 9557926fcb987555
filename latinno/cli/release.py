"""``latinno release`` and ``latinno changes``: citable snapshots and what changed.

Read-only on the warehouse; pyarrow, pandas and pyreadstat load inside the commands, and
Prefect never does.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from latinno.cli.app import ConfigOption, DbOption, app, config_line, settings_for
from latinno.cli.warehouse import CsvDialectOption, _dialect


@app.command(
    "release",
    epilog="Example: latinno release --out releases/ --csv-dialect excel",
)
def release_command(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder of releases; this one goes to OUT/<version>/ (default: release.dir).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            help="Release name (default: UTC date of the newest run, then .1, .2, ...).",
            show_default=False,
        ),
    ] = None,
    csv_dialect: CsvDialectOption = "plain",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Write a citable release: Parquet, CSV, Stata, SPSS, codebook, CHANGES.md, checksums.

    The same data gives a byte-identical release; an identical one already written is left as
    it is, a different one under the same version is refused.
    """
    _dialect(csv_dialect)
    settings = settings_for(config, db, announce=False)
    from latinno.release import release_for

    result = release_for(settings, out=out, version=version, csv_dialect=csv_dialect)
    if not result.written:
        print(f"{result.path}: release {result.version} already holds this data; nothing written")
        print(config_line(config))
        return
    if result.counts is None:
        since = "first release"
    else:
        since = f"since {result.previous}: {result.counts.line()}"
    print(f"wrote release {result.version} to {result.path} ({result.files} files; {since})")
    print(config_line(config))


@app.command(
    "changes",
    epilog="Example: latinno changes --since 2026-03-02 --format csv > changes.csv",
)
def changes_command(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="A date (2026-03-02, UTC), a run id or a release version (default: the "
            "previous run, i.e. what the latest run changed).",
            show_default=False,
        ),
    ] = None,
    format: Annotated[str, typer.Option("--format", help="Output: table, csv or json.")] = "table",
    releases: Annotated[
        Path | None,
        typer.Option(
            "--releases",
            help="Folder of releases for --since VERSION (default: release.dir).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Show cases added, withdrawn and changed (field, old, new) since a date, run or release."""
    if format not in ("table", "csv", "json"):
        raise typer.BadParameter(
            f"expected table, csv or json, got {format!r}", param_hint="--format"
        )
    settings = settings_for(config, db)
    from latinno.release.changes import changes_since, render
    from warehouse.db import reading

    folder = releases if releases is not None else settings.release.dir
    path = settings.warehouse.path
    with reading(path, settings.warehouse.read_lock_timeout_s) as con:
        report = changes_since(con, since, folder, str(path))
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 80
    sys.stdout.write(render(report, format, width))
