"""The views ``cases_wide`` and ``case_changes``, generated from the vocabulary in code.

Generated rather than written in a .sql file so a code added to latinno/vocabulary.py gets its
boolean column without a hand-edited migration (db.sync_reference rewrites them when the
generated SQL changes).
"""

from __future__ import annotations

from latinno.vocabulary import FIELD_LABELS, OPTION_TERMS, codes_for
from warehouse.content import HASHED_FIELDS

# list field -> (bridge table, code column)
BRIDGES: dict[str, tuple[str, str]] = {
    "participant_types": ("case_participant_types", "participant_type"),
    "means": ("case_means", "means"),
    "ends": ("case_ends", "ends"),
    "policy_cycle": ("case_policy_cycle", "stage"),
}

_LIST_LABELS = {
    "participant_types": FIELD_LABELS["participant_types"]["en"],
    "means": "Means",
    "ends": "Ends",
    "policy_cycle": "Policy cycle",
}


def _code_label(name: str, code: str) -> str:
    for term in OPTION_TERMS.get(name, ()):
        if term.code == code:
            return term.labels["en"]
    return code.replace("_", " ")


def wide_columns() -> list[tuple[str, str, str]]:
    """(column, list field, code) of every boolean column of cases_wide, in order."""
    return [(f"{name}_{code}", name, code) for name in BRIDGES for code in codes_for(name)]


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _cases_wide() -> str:
    flags = ",\n    ".join(
        f"coalesce(list_contains({name}.codes, {_q(code)}), false) AS {column}"
        for column, name, code in wide_columns()
    )
    joins = "\n".join(
        f"LEFT JOIN (SELECT case_id, list({col}) AS codes FROM {table} GROUP BY case_id) "
        f"AS {name} ON {name}.case_id = c.case_id"
        for name, (table, col) in BRIDGES.items()
    )
    return f"""CREATE OR REPLACE VIEW cases_wide AS
SELECT
    c.case_id,
    c.country_code,
    k.name_en AS country_name,
    c.title,
    c.description,
    c.formalization,
    c.frequency,
    c.participant_selection,
    c.decisiveness,
    c.co_governance,
    {flags},
    c.url,
    c.lang,
    c.status,
    c.first_seen_at,
    c.last_seen_at,
    c.last_changed_at,
    c.parser_version
FROM cases AS c
LEFT JOIN countries AS k ON k.country_code = c.country_code
{joins}"""


def _case_changes() -> str:
    fields = ", ".join(f"({_q(f)})" for f in ("status", *HASHED_FIELDS))
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
WHERE old_json IS DISTINCT FROM new_json"""


_COMMENTS_WIDE = {
    "case_id": "LATINNO case id (cases.case_id).",
    "country_code": "ISO 3166-1 alpha-2 code of the country.",
    "country_name": "English name of the country.",
    "title": "Name of the case (language: lang).",
    "description": "Description of the case (language: lang).",
    "formalization": "Formalization code (vocabulary field formalization).",
    "frequency": "Frequency code (vocabulary field frequency).",
    "participant_selection": "Mode of selection of participants code.",
    "decisiveness": "Decisiveness code (vocabulary field decisiveness).",
    "co_governance": "Co-governance: true = yes, false = no.",
    "url": "URL of the page the row was built from.",
    "lang": "Language of title and description.",
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


def column_comments() -> dict[str, dict[str, str]]:
    """Comment of every view column, by view."""
    wide = dict(_COMMENTS_WIDE)
    for column, name, code in wide_columns():
        wide[column] = (
            f"{_LIST_LABELS[name]}: {_code_label(name, code)} applies ({name} code {code})."
        )
    return {"cases_wide": wide, "case_changes": dict(_COMMENTS_CHANGES)}


def statements() -> list[str]:
    """SQL that (re)creates both views and their comments."""
    out = [
        _cases_wide(),
        _case_changes(),
        "COMMENT ON VIEW cases_wide IS 'One row per case with a boolean column per code of "
        "participant types, means, ends and policy cycle (e.g. means_deliberation).'",
        "COMMENT ON VIEW case_changes IS 'Field-level changes between consecutive versions "
        "of a case in case_history (one row per changed field).'",
    ]
    for view, comments in column_comments().items():
        for column, text in comments.items():
            out.append(f"COMMENT ON COLUMN {view}.{column} IS {_q(text)}")
    return out
