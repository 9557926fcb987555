"""``latinno report``: the warehouse as one self-contained HTML page of charts.

Read-only on the warehouse; imports DuckDB inside the command and never Prefect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latinno.cli.app import ConfigOption, DbOption, app, settings_for


@app.command(epilog="Example: latinno report --out reports/latinno-report.html")
def report(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="HTML file to write, or a folder to write latinno-report.html into "
            "(default: report.path in config).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Write one HTML page of charts and tables about the data; it opens offline and prints.

    Prints the path written.
    """
    settings = settings_for(config, db)
    from latinno.report import write_report

    written = write_report(
        settings.warehouse.path,
        out if out is not None else settings.report.path,
        lock_timeout_s=settings.warehouse.read_lock_timeout_s,
    )
    print(written)
