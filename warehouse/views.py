"""The views ``cases_wide`` and ``case_changes``, generated from the column spec in code.

Generated rather than written in a .sql file so a content field added to the record
(latinno/record.py) or a code added to latinno/vocabulary.py gets its view columns without a
hand-edited view (db.sync_reference rewrites them when the generated SQL changes).
"""

from __future__ import annotations

from collections.abc import Iterable

from latinno.columns import Column, of_kind, scalar_columns, shown_by
from latinno.record import CASE_COLUMNS
from latinno.vocabulary import FIELD_LABELS, FIELD_TERMS, OPTION_TERMS, SECTION_HEADINGS, codes_for


def bridges(columns: tuple[Column, ...] = CASE_COLUMNS) -> dict[str, tuple[str, str]]:
    """list field -> (bridge table, code column), from the spec's ``codes`` columns."""
    return {
        c.name: (c.table, c.code_column)
        for c in of_kind(columns, "codes")
        if c.table is not None and c.code_column is not None
    }


BRIDGES: dict[str, tuple[str, str]] = bridges()


def _label(name: str) -> str:
    """English label of a content field (its heading on the page), else its name."""
    labels = FIELD_LABELS.get(name) or SECTION_HEADINGS.get(name) or {}
    return labels.get("en") or name.replace("_", " ").capitalize()


def _code_label(name: str, code: str) -> str:
    for term in OPTION_TERMS.get(name, ()) or FIELD_TERMS.get(name, ()):
        if term.code == code:
            return term.labels["en"]
    return code.replace("_", " ")


def wide_columns(columns: tuple[Column, ...] = CASE_COLUMNS) -> list[tuple[str, str, str]]:
    """(column, list field, code) of every boolean column of cases_wide, in order."""
    return [(f"{name}_{code}", name, code) for name in bridges(columns) for code in codes_for(name)]


def allowed_values(columns: tuple[Column, ...] = CASE_COLUMNS) -> dict[str, tuple[str, ...]]:
    """Allowed values of the coded columns of cases, the bridge tables and cases_wide.

    ``code`` fields of the vocabulary take its codes (country_code is not one: the countries
    table lists those), flags and the wide booleans take true/false, a ``sections`` list its
    parts.
    """
    allowed: dict[str, tuple[str, ...]] = {}
    for column in scalar_columns(columns):
        if column.kind == "code" and column.name in FIELD_TERMS:
            allowed[column.name] = codes_for(column.name)
        elif column.kind == "flag":
            allowed[column.name] = ("true", "false")
    for column in of_kind(columns, "sections"):
        allowed[column.name] = column.parts
    for name, (_, code_column) in bridges(columns).items():
        allowed[code_column] = codes_for(name)
    for wide, _, _ in wide_columns(columns):
        allowed[wide] = ("true", "false")
    return allowed


def _and(words: Iterable[str]) -> str:
    """'a, b and c'."""
    items = list(words)
    return " and ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _wide_value(name: str, code: str, shown: dict[str, str]) -> str:
    """SQL of one boolean: whether the code applies; NULL when the page did not show the list
    (unknown, not "no")."""
    applies = f"coalesce(list_contains({name}.codes, {_q(code)}), false)"
    if name not in shown:
        return applies
    return f"CASE WHEN list_contains(c.{shown[name]}, {_q(name)}) THEN {applies} END"


def _cases_wide(columns: tuple[Column, ...]) -> str:
    shown = shown_by(columns)
    scalars = []
    for column in scalar_columns(columns):
        scalars.append(f"c.{column.name}")
        if column.name == "country_code":
            scalars.append("k.name_en AS country_name")
    fields = ",\n    ".join(
        [
            "c.case_id",
            *scalars,
            *(
                f"{_wide_value(name, code, shown)} AS {wide}"
                for wide, name, code in wide_columns(columns)
            ),
            *(f"c.{name}" for name in _WIDE_TAIL),
        ]
    )
    joins = "\n".join(
        f"LEFT JOIN (SELECT case_id, list({col}) AS codes FROM {table} GROUP BY case_id) "
        f"AS {name} ON {name}.case_id = c.case_id"
        for name, (table, col) in bridges(columns).items()
    )
    return f"""CREATE OR REPLACE VIEW cases_wide AS
SELECT
    {fields}
FROM cases AS c
LEFT JOIN countries AS k ON k.country_code = c.country_code
{joins}"""


# Columns of cases that are not content: after the content in cases_wide.
_WIDE_TAIL = (
    "url",
    "lang",
    "status",
    "first_seen_at",
    "last_seen_at",
    "last_changed_at",
    "parser_version",
)


def _case_changes(columns: tuple[Column, ...]) -> str:
    fields = ", ".join(f"({_q(f)})" for f in ("status", *(c.name for c in columns)))
    return f"""CREATE OR REPLACE VIEW case_changes AS
WITH versions AS (
    SELECT
        case_id, version, valid_from, run_id, change, status, record,
        lag(status) OVER w AS prev_status,
        lag(record) OVER w AS prev_record
    FROM case_history
    WINDOW w AS (PARTITION BY case_id ORDER BY version)
),
pairs AS (
    SELECT
        v.case_id, v.version, v.valid_from, v.run_id, v.change, f.field,
        CASE WHEN f.field = 'status' THEN to_json(v.prev_status)
             ELSE json_extract(v.prev_record, '$.' || f.field) END AS old_json,
        CASE WHEN f.field = 'status' THEN to_json(v.status)
             ELSE json_extract(v.record, '$.' || f.field) END AS new_json
    FROM versions AS v
    CROSS JOIN (VALUES {fields}) AS f(field)
    WHERE v.version > 1
)
SELECT
    case_id,
    version,
    valid_from AS changed_at,
    run_id,
    change,
    field,
    CASE WHEN json_type(old_json) IN ('ARRAY', 'OBJECT') THEN old_json::VARCHAR
         ELSE old_json ->> '$' END AS old_value,
    CASE WHEN json_type(new_json) IN ('ARRAY', 'OBJECT') THEN new_json::VARCHAR
         ELSE new_json ->> '$' END AS new_value
FROM pairs
WHERE old_json IS DISTINCT FROM new_json
  -- A field the earlier version did not record (stored before the field existed) is no change.
  AND old_json IS NOT NULL"""


# Comments of the cases_wide columns that are not derived from the vocabulary.
_COMMENTS_WIDE = {
    "case_id": "LATINNO case id (cases.case_id).",
    "country_code": "ISO 3166-1 alpha-2 code of the country.",
    "country_name": "English name of the country.",
    "title": "Name of the case (language: lang).",
    "description": "Description of the case (language: lang).",
    "url": "URL of the page the row was built from.",
    "lang": (
        "Language of title, description and sources: the first"
        " configured language (source.languages) that has the case's"
        " page; case_texts holds every language."
    ),
    "status": "active or withdrawn.",
    "first_seen_at": "UTC time the case was first loaded.",
    "last_seen_at": "UTC time the case was last seen on the site.",
    "last_changed_at": "UTC time the case content or status last changed.",
    "parser_version": "Version of the parser that produced the row.",
}

_COMMENTS_CHANGES = {
    "case_id": "Case id (cases.case_id).",
    "version": "case_history version that introduced the change.",
    "changed_at": "UTC time the change was first seen (valid_from of the version).",
    "run_id": "Run that loaded the change.",
    "change": "Kind of version: changed, withdrawn or reactivated.",
    "field": "Field that changed: status or a field of case_history.record.",
    "old_value": "Value in the previous version (JSON text for lists).",
    "new_value": "Value in this version (JSON text for lists).",
}


def _scalar_comment(column: Column) -> str:
    label = _label(column.name)
    if column.kind == "flag":
        return f"{label}: true = yes, false = no."
    if column.kind == "code":
        return f"{label} code (vocabulary field {column.name})."
    return f"{label} (language: lang)."


def column_comments(columns: tuple[Column, ...] = CASE_COLUMNS) -> dict[str, dict[str, str]]:
    """Comment of every view column, by view."""
    wide = {"case_id": _COMMENTS_WIDE["case_id"]}  # in the view's column order
    for column in scalar_columns(columns):
        wide[column.name] = _COMMENTS_WIDE.get(column.name) or _scalar_comment(column)
        if column.name == "country_code":
            wide["country_name"] = _COMMENTS_WIDE["country_name"]
    shown = shown_by(columns)
    for wide_column, name, code in wide_columns(columns):
        # Last, inside the parenthesis, so a label cut short for Stata drops it whole.
        unknown = f"; NULL: {_label(name)} not shown" if name in shown else ""
        wide[wide_column] = (
            f"{_label(name)}: {_code_label(name, code)} applies ({name} code {code}{unknown})."
        )
    wide.update((name, _COMMENTS_WIDE[name]) for name in _WIDE_TAIL)
    return {"cases_wide": wide, "case_changes": dict(_COMMENTS_CHANGES)}


def statements(columns: tuple[Column, ...] = CASE_COLUMNS) -> list[str]:
    """SQL that (re)creates both views and their comments."""
    out = [
        _cases_wide(columns),
        _case_changes(columns),
        f"COMMENT ON VIEW cases_wide IS 'One row per case with a boolean column per code of "
        f"{_and(name.replace('_', ' ') for name in bridges(columns))} (e.g. means_deliberation)"
        + (
            ", NULL for every code of a list the page did not show (cases.sections_present)"
            if shown_by(columns)
            else ""
        )
        + ".'",
        "COMMENT ON VIEW case_changes IS 'Field-level changes between consecutive versions "
        "of a case in case_history (one row per changed field).'",
    ]
    for view, comments in column_comments(columns).items():
        for column, text in comments.items():
            out.append(f"COMMENT ON COLUMN {view}.{column} IS {_q(text)}")
    return out
