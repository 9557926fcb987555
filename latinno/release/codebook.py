"""The codebook table of a release (``codebook_text`` writes the same as ``codebook.md``).

Each column: type, label (its COMMENT), codes with English labels, % missing, how it was
obtained from the page, and for ``cases_wide`` its Stata/SPSS name, numbers and any note
(renamed, label shortened, text cut).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from latinno.columns import shown_by
from latinno.record import CASE_COLUMNS
from latinno.release.snapshot import VOCABULARY_FIELD, Snapshot
from latinno.release.statfiles import StatVariable
from latinno.vocabulary import COUNTRIES, FIELD_LABELS, FIELD_TERMS, LANGS, SECTION_HEADINGS
from warehouse.export import ExportTable
from warehouse.views import wide_columns

CODEBOOK_SPEC = ExportTable(
    "codebook",
    ("table_name", "position"),
    "Every column of every table: type, label, codes, percent missing, origin, Stata name.",
)

CODEBOOK_LABELS: dict[str, str] = {
    "table_name": "Table (file name without extension).",
    "position": "Position of the column in the table, from 1.",
    "column_name": "Column name.",
    "type": "DuckDB type of the column (BOOLEAN: 1/0 in CSV, Stata and SPSS).",
    "label": "What the column holds (the column comment in the warehouse).",
    "allowed_codes": "Allowed values, separated by ' | ' (empty: free text or number).",
    "code_labels": "English label of each allowed value, in the same order.",
    "missing_pct": "Percent of rows where the column is empty (NULL).",
    "obtained_from": "How the value was obtained from the case page (or set by the pipeline).",
    "stata_name": "Name of the variable in stata/latinno_cases.dta and spss/latinno_cases.sav.",
    "stata_values": "Numbers of the Stata/SPSS variable and their value labels.",
    "note": "What differs in the Stata/SPSS files: renamed, label shortened, text cut.",
}

CHANGES_COLUMNS: dict[str, str] = {
    "change": "added, withdrawn, reactivated, changed, or removed (missing from this data).",
    "case_id": "Case id.",
    "title": "Title of the case (in this release, else in the earlier one).",
    "field": "Field that changed: status or a field of case_history.record; empty when added.",
    "old_value": "Value in the earlier release (JSON text for lists and sources).",
    "new_value": "Value in this release (JSON text for lists and sources).",
}

_PIPELINE = "Set by the pipeline."
_FROM_PAGE: dict[str, str] = {
    "case_id": "The number in the page URL …/{lang}/case/{id}/ (country prefix × 1000 + serial).",
    "country_code": "The country name shown before the title, as its ISO code; without one, "
    "the country of the id prefix (and a parse issue).",
    "country_name": "English name of country_code (table countries).",
    "title": "The text after the country name (without one: the last heading before the case "
    "sections).",
    "description": "Every line between the title and the Institutional design section, one "
    "paragraph per line, joined by a blank line.",
    "url": "The URL the page was fetched from (after redirects).",
    "lang": (
        "The language of title, description and sources: the first"
        " configured language (source.languages) that has the case's"
        " page; case_texts holds every language."
    ),
    "status": "Set by the pipeline: withdrawn when the page is no longer on the site.",
}
_FROM_PAGE_IN: dict[tuple[str, str], str] = {
    ("case_sources", "position"): "Order of the link in the Sources section.",
    ("case_sources", "text"): "Link text in the Sources section.",
    ("case_sources", "url"): "Link target in the Sources section, made absolute.",
    ("case_history", "record"): "The case content read from the page (the columns of "
    "cases_wide, lists as codes, sources as text and URL), as JSON.",
    ("parse_issues", "field"): "Written by the parser: the field it could not code or find.",
    ("parse_issues", "raw"): "Written by the parser: the text found on the page, if any.",
    ("parse_issues", "message"): "Written by the parser.",
    ("parse_issues", "url"): "The URL of the page.",
    ("case_texts", "lang"): "The language of the page this title and description were read "
    "from: the {lang} of its URL …/{lang}/case/{id}/.",
    ("parse_issues", "lang"): "The language of the page the issue was found on: the {lang} "
    "of its URL …/{lang}/case/{id}/.",
}
_LIST_SECTION: dict[str, str] = {}


def _page_label(name: str) -> str:
    labels = FIELD_LABELS.get(name) or SECTION_HEADINGS.get(name) or {}
    return labels.get("en") or name.replace("_", " ").capitalize()


# Design fields and lists, from the record's column spec, so a new field gets its line.
for _column in CASE_COLUMNS:
    _label = _page_label(_column.name)
    if _column.kind == "code" and _column.name in FIELD_TERMS:
        _FROM_PAGE[_column.name] = (
            f"The value after the label {_label} (Institutional design), mapped to a code; "
            "NULL when the label is not on the page or its text matches no code (that text is "
            "kept in parse_issues: field, raw)."
        )
    elif _column.kind == "flag":
        _FROM_PAGE[_column.name] = (
            f"The value after the label {_label} (Institutional design): yes = true (1), "
            "no = false (0); NULL when not shown, or when the text is neither yes nor no (that "
            "text is kept in parse_issues: field, raw)."
        )
    elif _column.kind == "codes":
        _LIST_SECTION[_column.name] = (
            f"the options marked as applying in the {_label} section"
            if _column.name in SECTION_HEADINGS
            else f"the values listed after the label {_label} (Institutional design; a value "
            "that matches no code is left out and kept in parse_issues)"
        )
_WIDE = {column: (name, code) for column, name, code in wide_columns()}
_SHOWN_BY = shown_by(CASE_COLUMNS)
_LANG_NAMES = {"en": "English", "es": "Spanish", "pt": "Portuguese"}


def obtained_from(table: str, column: str) -> str:
    if (table, column) in _FROM_PAGE_IN:
        return _FROM_PAGE_IN[(table, column)]
    if table in ("vocabulary", "countries"):
        return "Reference data of the pipeline (labels as shown on the site)."
    if table == "case_history" and column not in ("case_id", "status"):
        return _PIPELINE
    if column in _WIDE:
        name, code = _WIDE[column]
        unknown = (
            f"; missing (empty, never 0) when the page did not show {_page_label(name)} "
            f"(cases.{_SHOWN_BY[name]})"
            if name in _SHOWN_BY
            else ""
        )
        return f"1 when {code} is among {_LIST_SECTION[name]}, else 0{unknown}."
    if column in VOCABULARY_FIELD and VOCABULARY_FIELD[column] in _LIST_SECTION:
        return f"One row per code among {_LIST_SECTION[VOCABULARY_FIELD[column]]}."
    if column.endswith("_at"):
        return "Set by the pipeline (UTC)."
    return _FROM_PAGE.get(column, _PIPELINE)


@dataclass(frozen=True, slots=True)
class Codes:
    codes: tuple[str, ...]
    labels: tuple[str, ...]


def column_codes(snapshot: Snapshot, column: str, duck_type: str) -> Codes | None:
    if column in VOCABULARY_FIELD:
        pairs = snapshot.vocabulary.get(VOCABULARY_FIELD[column], [])
        return Codes(tuple(c for c, _ in pairs), tuple(lb for _, lb in pairs))
    if duck_type == "BOOLEAN":
        return Codes(("1", "0"), ("yes", "no"))
    if column == "status":
        return Codes(("active", "withdrawn"), ("on the site", "no longer on the site"))
    if column == "lang":
        return Codes(LANGS, tuple(_LANG_NAMES[x] for x in LANGS))
    if column == "country_code":
        return Codes(tuple(c.code for c in COUNTRIES), tuple(c.name_en for c in COUNTRIES))
    if column == "change":
        return Codes(
            ("new", "changed", "withdrawn", "reactivated"),
            ("first version", "content changed", "gone from the site", "back on the site"),
        )
    return None


def _stata_values(var: StatVariable) -> str | None:
    if not var.value_labels:
        return None
    return " | ".join(f"{n} = {text}" for n, text in sorted(var.value_labels.items()))


def codebook_table(snapshot: Snapshot, variables: Sequence[StatVariable]) -> pa.Table:
    by_column = {v.column: v for v in variables}
    rows: dict[str, list[Any]] = {name: [] for name in CODEBOOK_LABELS}
    for data in snapshot.tables.values():
        total = data.table.num_rows
        for position, column in enumerate(data.columns, start=1):
            nulls = data.table.column(column.name).null_count
            codes = column_codes(snapshot, column.name, column.type)
            var = by_column.get(column.name) if data.spec.name == "cases_wide" else None
            rows["table_name"].append(data.spec.name)
            rows["position"].append(position)
            rows["column_name"].append(column.name)
            rows["type"].append(column.type)
            rows["label"].append(column.label)
            rows["allowed_codes"].append(" | ".join(codes.codes) if codes else None)
            rows["code_labels"].append(" | ".join(codes.labels) if codes else None)
            rows["missing_pct"].append(round(100.0 * nulls / total, 2) if total else 0.0)
            rows["obtained_from"].append(obtained_from(data.spec.name, column.name))
            rows["stata_name"].append(var.name if var else None)
            rows["stata_values"].append(_stata_values(var) if var else None)
            rows["note"].append("; ".join(var.notes) if var and var.notes else None)
    types = {"position": pa.int32(), "missing_pct": pa.float64()}
    return pa.table(
        {name: pa.array(values, types.get(name, pa.string())) for name, values in rows.items()}
    )


CODEBOOK_TYPES: dict[str, str] = {
    name: ("INTEGER" if name == "position" else "DOUBLE" if name == "missing_pct" else "VARCHAR")
    for name in CODEBOOK_LABELS
}
