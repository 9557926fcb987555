"""``latinno export``, ``latinno query`` and ``latinno status``: read-only warehouse commands.

DuckDB, pyarrow and rich are imported inside the commands so ``latinno --help`` stays fast;
nothing here imports Prefect.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from latinno.cli.app import ConfigOption, DbOption, app, config_line, settings_for

if TYPE_CHECKING:
    from rich.table import Table

    from warehouse.csvfile import CsvDialect

QueryFormat = Literal["table", "csv", "json"]
TABLE_ROWS = 1000  # rows `latinno query` prints as a table unless --limit says otherwise
CsvDialectOption = Annotated[
    str,
    typer.Option(
        "--csv-dialect",
        help="CSV as it is (plain), or for Excel (excel: a byte-order mark, and a ' before "
        "text starting with = + - @), the same in export, release and query.",
    ),
]


def _dialect(name: str) -> CsvDialect:
    from warehouse.csvfile import dialect_named

    try:
        return dialect_named(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--csv-dialect") from None


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
    csv_dialect: CsvDialectOption = "plain",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Write cases_wide, the long tables, vocabulary and a codebook, plus datapackage.json.

    Example: latinno export --format csv --out exports/
    """
    dialect = _dialect(csv_dialect)
    changes = {"export__format": format, "export__dir": str(out) if out else None}
    settings = settings_for(config, db, announce=False, **changes)
    from warehouse.db import reading
    from warehouse.export import export as write_export

    out_dir = settings.export.dir
    with reading(settings.warehouse.path, settings.warehouse.read_lock_timeout_s) as con:
        files = write_export(con, out_dir, settings.export.format, dialect)
    print(f"wrote {len(files)} files to {out_dir}")
    print(config_line(config))


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
    csv_dialect: CsvDialectOption = "plain",
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
    dialect = _dialect(csv_dialect)
    if limit is None:
        limit = TABLE_ROWS if format == "table" else 0
    settings = settings_for(config, db)
    from warehouse.db import reading
    from warehouse.query import run_query

    stream = _Stream(format, dialect) if format != "table" and not limit else None
    timeout, memory = settings.query.timeout_s, settings.query.memory_limit
    with reading(
        settings.warehouse.path, settings.warehouse.read_lock_timeout_s, memory_limit=memory
    ) as con:
        result = run_query(con, sql, limit=limit or None, timeout_s=timeout, sink=stream)
    if stream is not None:
        stream.close()
    else:
        _print_result(result.columns, result.rows, format, dialect)  # type: ignore[arg-type]
    if result.truncated:
        print(
            f"latinno: note: printed the first {limit:,} rows; there are more "
            "(--limit N for more, --limit 0 for all, or add LIMIT/WHERE to the query)",
            file=sys.stderr,
        )


class _Stream:
    """csv or json rows printed as they are fetched, the same text ``_print_result`` prints,
    so a result of millions of rows never sits in memory whole."""

    def __init__(self, fmt: str, dialect: CsvDialect = "plain") -> None:
        self.fmt = fmt
        self.dialect = dialect
        self.rows = 0
        self.header = False

    def __call__(self, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if self.fmt == "csv":
            from warehouse.csvfile import csv_bytes

            data = csv_bytes(columns, rows, self.dialect)
            if self.header:  # the header line (and the excel byte-order mark) once only
                data = data.split(b"\r\n", 1)[1]
            self.header = True
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        import json
        import textwrap

        from warehouse.csvfile import json_value

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


def _print_result(
    columns: list[str], rows: list[tuple[Any, ...]], fmt: QueryFormat, dialect: CsvDialect = "plain"
) -> None:
    if fmt == "csv":
        from warehouse.csvfile import csv_bytes

        sys.stdout.flush()
        sys.stdout.buffer.write(csv_bytes(columns, rows, dialect))
        sys.stdout.buffer.flush()
    elif fmt == "json":
        import json

        from warehouse.csvfile import json_value

        data = [dict(zip(columns, row, strict=True)) for row in rows]
        print(json.dumps(data, ensure_ascii=False, indent=2, default=json_value))
    else:
        from rich.console import Console

        Console().print(_rich_table(None, columns, rows))


def _rich_table(
    title: str | None, columns: list[str], rows: list[tuple[Any, ...]], compact: bool = False
) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    if compact:  # status: no side borders, one space between columns, so 80 columns hold it
        table = Table(
            title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1),
            pad_edge=False, show_edge=False, min_width=len(title or ""),
        )  # fmt: skip
    for column in columns:
        # A header is never cut: its column is at least that wide, and values wrap whole.
        table.add_column(column, min_width=len(column), overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


@app.command(epilog="Example: latinno status --db data/latinno.duckdb")
def status(db: DbOption = None, config: ConfigOption = None) -> None:
    """Show cases by status and country, the last runs, open fetch failures and parse issues."""
    settings = settings_for(config, db, announce=False)
    from rich.console import Console

    from warehouse.db import reading, storage_note, storage_version
    from warehouse.status import status_tables

    with reading(settings.warehouse.path, settings.warehouse.read_lock_timeout_s) as con:
        tables = status_tables(con)
        note = storage_note(settings.warehouse.path, storage_version(con))
    console = Console()
    console.print(
        f"Config: {config_line(config).partition(': ')[2]}", highlight=False, soft_wrap=True
    )
    console.print(f"Warehouse: {settings.warehouse.path}", highlight=False, soft_wrap=True)
    if note:
        console.print(note, style="yellow", highlight=False, soft_wrap=True)
    for table in tables:
        console.print(_rich_table(table.title, table.columns, table.rows, compact=True))
