"""``latinno export``, ``latinno query`` and ``latinno status``: read-only warehouse commands.

DuckDB, pyarrow and rich are imported inside the commands so ``latinno --help`` stays fast;
nothing here imports Prefect.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from latinno.cli.app import ConfigOption, DbOption, app, settings_for

if TYPE_CHECKING:
    from rich.table import Table

QueryFormat = Literal["table", "csv", "json"]
TABLE_ROWS = 1000  # rows `latinno query` prints as a table unless --limit says otherwise


@app.command()
def export(
    format: Annotated[
        str | None,
        typer.Option("--format", help="parquet, csv or all (default: export.format in config)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Directory to write (default: export.dir in config)."),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Write cases_wide, the long tables, vocabulary and a codebook, plus datapackage.json.

    Example: latinno export --format csv --out exports/
    """
    changes = {"export__format": format, "export__dir": str(out) if out else None}
    settings = settings_for(config, db, **changes)
    from warehouse.db import reading
    from warehouse.export import export as write_export

    out_dir = settings.export.dir
    with reading(settings.warehouse.path, settings.warehouse.read_lock_timeout_s) as con:
        files = write_export(con, out_dir, settings.export.format)
    print(f"wrote {len(files)} files to {out_dir}")


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run (SELECT, DESCRIBE, SHOW, ...).")],
    format: Annotated[str, typer.Option("--format", help="Output: table, csv or json.")] = "table",
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            help="Print at most N rows (default: 1000 for table, all for csv and json; "
            "0: all). A note on stderr says when rows were cut.",
            show_default=False,
            min=0,
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Run a read-only SQL query on the warehouse; statements that write are refused.

    The query reads only the warehouse: other files, URLs, extensions and settings are refused,
    and it is interrupted after query.timeout_s seconds (config.yaml, default 60).

    Example: latinno query "SELECT country_code, count(*) FROM cases GROUP BY 1"
    """
    if format not in ("table", "csv", "json"):
        raise typer.BadParameter(
            f"expected table, csv or json, got {format!r}", param_hint="--format"
        )
    if limit is None:
        limit = TABLE_ROWS if format == "table" else 0
    settings = settings_for(config, db)
    from warehouse.db import reading
    from warehouse.query import run_query

    stream = _Stream(format) if format != "table" and not limit else None
    timeout, memory = settings.query.timeout_s, settings.query.memory_limit
    with reading(
        settings.warehouse.path, settings.warehouse.read_lock_timeout_s, memory_limit=memory
    ) as con:
        result = run_query(con, sql, limit=limit or None, timeout_s=timeout, sink=stream)
    if stream is not None:
        stream.close()
    else:
        _print_result(result.columns, result.rows, format)  # type: ignore[arg-type]
    if result.truncated:
        print(
            f"latinno: note: printed the first {limit:,} rows; there are more "
            "(--limit N for more, --limit 0 for all, or add LIMIT/WHERE to the query)",
            file=sys.stderr,
        )


class _Stream:
    """csv or json rows printed as they are fetched, the same text ``_print_result`` prints,
    so a result of millions of rows never sits in memory whole."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.rows = 0
        self.header = False

    def __call__(self, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if self.fmt == "csv":
            import csv

            from warehouse.export import safe_cell

            writer = csv.writer(sys.stdout, lineterminator="\n")
            if not self.header:
                writer.writerow(columns)
                self.header = True
            writer.writerows([safe_cell(v) for v in row] for row in rows)
            return
        import json
        import textwrap

        from warehouse.export import json_value

        for row in rows:
            text = json.dumps(
                dict(zip(columns, row, strict=True)),
                ensure_ascii=False,
                indent=2,
                default=json_value,
            )
            sys.stdout.write(("[\n" if not self.rows else ",\n") + textwrap.indent(text, "  "))
            self.rows += 1

    def close(self) -> None:
        if self.fmt == "json":
            sys.stdout.write("\n]\n" if self.rows else "[]\n")


def _print_result(columns: list[str], rows: list[tuple], fmt: QueryFormat) -> None:
    if fmt == "csv":
        import csv

        from warehouse.export import safe_cell

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([safe_cell(v) for v in row] for row in rows)
    elif fmt == "json":
        import json

        from warehouse.export import json_value

        data = [dict(zip(columns, row, strict=True)) for row in rows]
        print(json.dumps(data, ensure_ascii=False, indent=2, default=json_value))
    else:
        from rich.console import Console

        Console().print(_rich_table(None, columns, rows))


def _rich_table(title: str | None, columns: list[str], rows: list[tuple[Any, ...]]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


@app.command(epilog="Example: latinno status --db data/latinno.duckdb")
def status(db: DbOption = None, config: ConfigOption = None) -> None:
    """Show cases by status and country, the last runs, open fetch failures and parse issues."""
    settings = settings_for(config, db)
    from rich.console import Console

    from warehouse.db import reading
    from warehouse.status import status_tables

    with reading(settings.warehouse.path, settings.warehouse.read_lock_timeout_s) as con:
        tables = status_tables(con)
    console = Console()
    console.print(f"Warehouse: {settings.warehouse.path}")
    for table in tables:
        console.print(_rich_table(table.title, table.columns, table.rows))
