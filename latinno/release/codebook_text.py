"""``codebook.md``: the codebook for people (every variable of every table, what the Stata and
SPSS files do differently, the conventions of each format)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from latinno.columns import of_kind
from latinno.record import CASE_COLUMNS
from latinno.release.codebook import (
    CHANGES_COLUMNS,
    CODEBOOK_LABELS,
    CODEBOOK_SPEC,
    Codes,
    column_codes,
    obtained_from,
)
from latinno.release.snapshot import KEYLESS, VOCABULARY_FIELD, Snapshot, TableData
from latinno.release.statfiles import SPSS_STRING_BYTES, UNCODED_FROM, StatVariable
from latinno.release.tabular import CsvDialect

# The coded variables of cases_wide: the spec's code fields that the vocabulary codes.
_CODED: tuple[str, ...] = tuple(
    c.name for c in of_kind(CASE_COLUMNS, "code") if c.name in VOCABULARY_FIELD
)


def md_cell(value: Any) -> str:
    if value is None or value == "":
        return ""
    text = str(value).replace("\r", " ").replace("\n", " ")
    for char in ("\\", "|", "*", "`", "<", ">", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text


def _codes_cell(codes: Codes | None, var: StatVariable | None) -> str:
    if codes is None:
        return ""
    numbers = {}
    if var is not None and var.kind == "coded":
        numbers = var.codes
    parts = []
    for code, label in zip(codes.codes, codes.labels, strict=True):
        number = f" [{numbers[code]}]" if code in numbers else ""
        parts.append(f"{code} = {label}{number}")
    return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class BookContext:
    version: str
    created: str
    citation: str
    csv_dialect: CsvDialect
    report_note: str | None  # why the HTML report is not included; None when it is
    previous: str | None


def _table_section(snapshot: Snapshot, data: TableData, variables: dict[str, StatVariable]) -> str:
    wide = data.spec.name == "cases_wide"
    key = "" if data.spec.name in KEYLESS else f" Key: {', '.join(data.spec.order_by)}."
    lines = [
        f"## {data.spec.name}",
        "",
        f"{data.spec.description} {data.table.num_rows:,} rows.{key} Files: "
        f"`csv/{data.spec.name}.csv`, `parquet/{data.spec.name}.parquet`"
        + (", `stata/latinno_cases.dta`, `spss/latinno_cases.sav`." if wide else "."),
        "",
    ]
    head = "| # | variable | type | label | codes | % missing | obtained from |"
    rule = "|---|---|---|---|---|---:|---|"
    if wide:
        head = "| # | variable | Stata/SPSS | type | label | codes [Stata/SPSS number] | " + (
            "% missing | obtained from |"
        )
        rule = "|---|---|---|---|---|---|---:|---|"
    lines += [head, rule]
    total = data.table.num_rows
    for position, column in enumerate(data.columns, start=1):
        nulls = data.table.column(column.name).null_count
        missing = f"{100.0 * nulls / total:.2f}" if total else "0.00"
        var = variables.get(column.name) if wide else None
        codes = _codes_cell(column_codes(snapshot, column.name, column.type), var)
        cells = [str(position), md_cell(column.name)]
        if wide:
            cells.append(md_cell(var.name if var else ""))
        cells += [
            column.type,
            md_cell(column.label),
            md_cell(codes),
            missing,
            md_cell(obtained_from(data.spec.name, column.name)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def _uncoded_note(variables: Sequence[StatVariable]) -> str:
    """Said only when the data holds text outside the vocabulary (the parser writes NULL and a
    parse issue instead, so a warehouse it loaded never does)."""
    if not any(n >= UNCODED_FROM for v in variables for n in v.value_labels):
        return ""
    return (
        f" Numbers from {UNCODED_FROM} are text outside the vocabulary that this data holds; "
        "their label is that text."
    )


def _stata_section(variables: Sequence[StatVariable]) -> str:
    renamed = [v for v in variables if v.name != v.column]
    lines = [
        "## Stata and SPSS",
        "",
        "`stata/latinno_cases.dta` (Stata 14 or later, format 118) and "
        "`spss/latinno_cases.sav` hold `cases_wide`, one row per case, with these differences:",
        "",
        f"- Coded variables ({', '.join(_CODED)}) are "
        "numbers with value labels: the position of the code in `vocabulary` and its English "
        "label (the numbers are in the `cases_wide` table below). Page text that matched no "
        "code is missing here, as in the data; the text is in `parse_issues`."
        + _uncoded_note(variables),
        "- True/false variables are 1/0 with the value labels yes/no; missing is `.` (Stata) or "
        "system-missing (SPSS). A list the case page did not show (its section, or the label "
        "of a list field, was not on the page) is missing in every one of its variables, "
        "never 0: not shown is unknown, not no.",
        "- Text has no missing value in Stata or SPSS: NULL is written as empty text. Stata "
        f"(strL) holds text of any length; SPSS holds {SPSS_STRING_BYTES:,} bytes per value.",
        "- Timestamps are UTC date-times to the millisecond (Stata `%tc`, SPSS DATETIME).",
        "",
    ]
    if renamed:
        lines += [
            "Renamed variables (Stata names are at most 32 characters):",
            "",
            "| column | Stata/SPSS name |",
            "|---|---|",
        ]
        lines += [f"| {md_cell(v.column)} | {md_cell(v.name)} |" for v in renamed]
        lines.append("")
    else:
        lines += ["No variable was renamed.", ""]
    notes = [(v, n) for v in variables for n in v.notes if not n.startswith("named ")]
    if notes:
        lines += [
            "What was shortened or cut (never silently; the Parquet and CSV files hold "
            "every value whole):",
            "",
        ]
        lines += [f"- `{v.name}`: {md_cell(n)}" for v, n in notes]
    else:
        lines.append("Nothing was shortened or cut.")
    lines.append("")
    return "\n".join(lines)


def _intro(snapshot: Snapshot, context: BookContext) -> list[str]:
    wide = snapshot.tables["cases_wide"].table
    active = sum(1 for s in wide.column("status").to_pylist() if s == "active")
    runs = snapshot.runs
    covered = (
        f"{len(runs)} refresh run{'s' if len(runs) != 1 else ''} "
        f"({runs[0].run_id} … {runs[-1].run_id})"
        if runs
        else "no recorded refresh run"
    )
    changes = f"since release {context.previous}" if context.previous else "first release"
    lines = [
        f"# LATINNO Dataset, release {context.version}: codebook",
        "",
        f"Please cite: {context.citation}",
        "",
        f"Data as of {context.created} (the newest refresh run), from {covered}: "
        f"{wide.num_rows:,} cases, {active:,} active and {wide.num_rows - active:,} withdrawn. "
        f"How to cite this snapshot: `CITATION.cff`. What changed: `CHANGES.md` ({changes}).",
        "",
        "## Files",
        "",
        "| file | what |",
        "|---|---|",
        "| `csv/*.csv`, `parquet/*.parquet` | every table below, the same rows in both |",
        "| `stata/latinno_cases.dta`, `spss/latinno_cases.sav` | `cases_wide` with labels |",
        "| `codebook.md`, `csv/codebook.csv`, `parquet/codebook.parquet` | this codebook |",
        "| `datapackage.json` | Frictionless description: schemas, sizes, SHA-256 |",
        "| `CITATION.cff` | how to cite LATINNO and this release |",
        "| `CHANGES.md`, `changes.csv` | what changed since the previous release |",
        "| `SHA256SUMS` | checksum of every file (`sha256sum -c SHA256SUMS`) |",
    ]
    if context.report_note is None:
        lines += ["| `report.html` | the data report (`latinno report`) |", ""]
    else:
        lines += ["", f"Not included: {context.report_note}", ""]
    return lines


def _conventions(context: BookContext) -> list[str]:
    bom_note = (
        "with a byte-order mark (`--csv-dialect excel`), and a `'` before text starting with "
        "`=`, `+`, `-`, `@`, tab or CR so spreadsheets show it instead of running it"
        if context.csv_dialect == "excel"
        else "without a byte-order mark (`--csv-dialect excel` adds one for Excel)"
    )
    return [
        "## Conventions",
        "",
        "- Codes, not labels, are stored; `vocabulary` holds the labels in English, Spanish "
        "and Portuguese.",
        f"- CSV: UTF-8 {bom_note}; a header row; CRLF between rows (RFC 4180); a value "
        "holding a comma, quote or line break is quoted, and its line breaks are kept inside "
        "the quotes.",
        "- CSV: true/false are written 1/0 (Parquet keeps them as booleans); NULL is an empty "
        'field, an empty text is `""` (DuckDB: `read_csv(..., allow_quoted_nulls = false)`).',
        "- Timestamps are UTC, written `2026-03-02T03:00:00Z` in CSV.",
        "- Lists and sources in `case_history.record` and `changes.csv` are JSON text.",
        "",
    ]


def _columns_section(title: str, text: str, columns: dict[str, str]) -> list[str]:
    return [
        f"## {title}",
        "",
        text,
        "",
        "| column | what |",
        "|---|---|",
        *(f"| {md_cell(k)} | {md_cell(v)} |" for k, v in columns.items()),
        "",
    ]


def codebook_md(
    snapshot: Snapshot, variables: Sequence[StatVariable], context: BookContext
) -> bytes:
    by_column = {v.column: v for v in variables}
    lines = [*_intro(snapshot, context), *_conventions(context), _stata_section(variables)]
    for data in snapshot.tables.values():
        lines.append(_table_section(snapshot, data, by_column))
    lines += _columns_section(
        "codebook",
        f"{CODEBOOK_SPEC.description} Files: `csv/codebook.csv`, `parquet/codebook.parquet`.",
        CODEBOOK_LABELS,
    )
    lines += _columns_section(
        "changes.csv",
        "One row per added, withdrawn, reactivated or removed case, and per changed field of a "
        "changed case (the same as `CHANGES.md`).",
        CHANGES_COLUMNS,
    )
    return "\n".join(lines).encode("utf-8")
