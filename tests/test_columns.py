"""The column spec (latinno/columns.py): the record's fields are listed once, in CaseRecord, and
the Arrow schema, the cases inserts, the content hash and the views all follow it."""

from __future__ import annotations

import hashlib
import re
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path

import pyarrow as pa
import pytest
from _warehouse_support import day, make_record, naive

from latinno.columns import Column, content, content_columns, ordered_parts, shown_by
from latinno.record import CASE_COLUMNS, PAGE_PARTS, RECORD_FIELDS, CaseRecord, Source
from warehouse import views
from warehouse.apply import _cases_sql
from warehouse.arrow_tables import case_schema
from warehouse.content import HASHED_FIELDS, canonical_json, case_content
from warehouse.db import connect
from warehouse.load import load_records
from warehouse.staging import staging_sql

REPO = Path(__file__).resolve().parent.parent

_PYTHON_TYPES: dict[str, object] = {
    "text": str | None,
    "code": str | None,
    "flag": bool | None,
    "codes": tuple[str, ...],
    "sources": tuple[Source, ...],
    "sections": tuple[str, ...],
}


def test_every_content_field_is_declared_with_the_type_of_its_kind() -> None:
    hints = typing.get_type_hints(CaseRecord)
    declared = {c.name: _PYTHON_TYPES[c.kind] for c in CASE_COLUMNS}
    assert {name: hints[name] for name in declared} == declared
    assert [f for f in RECORD_FIELDS if f in HASHED_FIELDS] == list(HASHED_FIELDS)
    assert {"url", "case_id", "lang", "issues", "parser_version"}.isdisjoint(HASHED_FIELDS)


def test_a_kind_without_its_table_is_refused() -> None:
    with pytest.raises(ValueError, match="'codes'"):
        content("codes")
    with pytest.raises(ValueError, match="'code'"):
        content("code", "case_codes")
    with pytest.raises(ValueError, match="'list'"):
        content("list")  # type: ignore[arg-type]  # the point: a kind that does not exist
    with pytest.raises(ValueError, match="'sections': parts"):
        content("sections")
    with pytest.raises(ValueError, match="'sections': parts"):
        content("sections", parts=("means", "means"))
    with pytest.raises(ValueError, match="'code': parts"):
        content("code", parts=("means",))


def test_the_page_parts_say_which_lists_are_unknown_when_not_shown() -> None:
    # Every list of codes is one of the page's parts, so none can silently read as "no".
    [sections] = [c for c in CASE_COLUMNS if c.kind == "sections"]
    assert sections.parts == PAGE_PARTS and sections.name == "sections_present"
    lists = [c.name for c in CASE_COLUMNS if c.kind == "codes"]
    assert shown_by(CASE_COLUMNS) == dict.fromkeys(lists, "sections_present")
    assert PAGE_PARTS[0] == "institutional_design" and set(lists) < set(PAGE_PARTS)
    # Hashed in parts order whatever order a record gives; an unknown part after, sorted.
    shuffled = make_record(sections_present=("ends", "zeta", "means", "alpha", "ends"))
    assert case_content(shuffled)["sections_present"] == ["means", "ends", "alpha", "zeta"]
    assert ordered_parts(sections, ()) == []


# A design field added the way the spec says: declared on the record (here a subclass, so the
# real record stays as it is), a migration adding its column, and nothing else.
@dataclass(frozen=True, slots=True)
class ExtendedRecord(CaseRecord):
    consultation: str | None = field(default=None, metadata=content("code"))
    open_data: bool | None = field(default=None, metadata=content("flag"))


EXTENDED = content_columns(ExtendedRecord)
MIGRATION = (
    "ALTER TABLE cases ADD COLUMN consultation VARCHAR; "
    "ALTER TABLE cases ADD COLUMN open_data BOOLEAN; "
    "COMMENT ON COLUMN cases.consultation IS 'Consultation code.'; "
    "COMMENT ON COLUMN cases.open_data IS 'Open data: true = yes.'"
)


def extended(consultation: str | None, **changes: typing.Any) -> ExtendedRecord:
    base = make_record(**changes)
    values = {f.name: getattr(base, f.name) for f in fields(CaseRecord)}
    return ExtendedRecord(**values, consultation=consultation, open_data=True)


def test_a_field_added_to_the_spec_reaches_schema_inserts_hash_and_views() -> None:
    assert EXTENDED[: len(CASE_COLUMNS)] == CASE_COLUMNS
    assert EXTENDED[len(CASE_COLUMNS) :] == (
        Column("consultation", "code"),
        Column("open_data", "flag"),
    )
    schema = case_schema(EXTENDED)
    assert (schema.field("consultation").type, schema.field("open_data").type) == (
        pa.string(),
        pa.bool_(),
    )
    insert, update = _cases_sql(EXTENDED)
    assert "consultation" in insert and "c.open_data" in update
    assert "'consultation', i.consultation" in staging_sql(EXTENDED)
    wide, changes, *_ = views.statements(EXTENDED)
    assert "c.consultation" in wide and "('open_data')" in changes
    comments = views.column_comments(EXTENDED)["cases_wide"]
    assert comments["open_data"] == "Open data: true = yes, false = no."
    assert list(case_content(extended("online"), EXTENDED))[-2:] == ["consultation", "open_data"]
    # The real spec is untouched by the extended one.
    assert "consultation" not in staging_sql(CASE_COLUMNS)


def test_a_field_added_to_the_spec_is_loaded_hashed_versioned_and_viewed(tmp_path: Path) -> None:
    con = connect(tmp_path / "wh.duckdb")
    con.execute(MIGRATION)
    for statement in views.statements(EXTENDED):
        con.execute(statement)

    def load(records: list[ExtendedRecord], n: int, run: str) -> tuple[int, int, int]:
        stats = load_records(
            con, records, run_id=run, seen_at=day(n), primary_lang="en", columns=EXTENDED
        )
        return stats.new, stats.changed, stats.unchanged

    first = extended(
        "online",
        sources=(Source("a", "https://a/"),),
        sections_present=("policy_cycle", "other", "means"),  # SQL orders it as Python does
    )
    assert load([first, extended(None, case_id=5099)], 0, "r1") == (2, 0, 0)
    assert con.execute(
        "SELECT case_id, consultation, open_data FROM cases ORDER BY 1"
    ).fetchall() == [(5099, None, True), (17001, "online", True)]
    [(record, digest)] = con.execute(
        "SELECT record::VARCHAR, content_hash FROM case_history WHERE case_id = 17001"
    ).fetchall()
    assert record == canonical_json(case_content(first, EXTENDED))
    assert digest == hashlib.sha256(record.encode()).hexdigest()
    assert '"consultation":"online","open_data":true' in record

    assert load([first], 1, "r2") == (0, 0, 1)  # reload: no change
    again = extended("in person", sources=first.sources, sections_present=first.sections_present)
    assert load([again], 2, "r3") == (0, 1, 0)
    assert con.execute(
        "SELECT case_id, version, changed_at, field, old_value, new_value FROM case_changes"
    ).fetchall() == [(17001, 2, naive(2), "consultation", "online", "in person")]
    assert con.execute(
        "SELECT consultation, open_data, country_name FROM cases_wide WHERE case_id = 17001"
    ).fetchall() == [("in person", True, "Peru")]
    con.close()


# --- No hand-written list of the fields elsewhere ----------------------------------------------

# Field names that are not also ordinary words (frequency, means, ends are: they are left out).
DISTINCT_NAMES = (
    "formalization",
    "participant_selection",
    "participant_types",
    "decisiveness",
    "co_governance",
    "policy_cycle",
)
SCANNED = ("latinno", "warehouse", "flows", "bench")
NOT_SCANNED = ("latinno/sitemodel",)
# Where a design field's name is written, and why. parsers/ (reads each field off the page) and
# latinno/sitemodel/ (renders it) are not scanned: a new field must be parsed and modelled by
# nature.
PLACES = {
    "latinno/record.py": "the spec: CaseRecord's declaration of the field",
    "latinno/vocabulary.py": "its labels and codes",
    "warehouse/sql/001_schema.sql": "the migration that created its column",
    "latinno/report/sections/countries.py": "editorial: which fields the report draws a chart of",
}
# Hand-written lists in files owned by others, to derive from the spec (then drop the entry):
# report/ and release/: CASE_COLUMNS (kinds) with the vocabulary's labels (FIELD_LABELS), as
# warehouse/export.py takes its allowed codes from views.allowed_values().
TO_DERIVE = {
    "latinno/release/statfiles.py": "short variable prefixes for list fields (editorial, may stay)",
}


def written_in(root: Path = REPO) -> set[str]:
    """Files under ``root``'s scanned packages that write one of DISTINCT_NAMES."""
    pattern = re.compile(r"\b(?:" + "|".join(DISTINCT_NAMES) + r")\b")
    found = set()
    for package in SCANNED:
        for path in sorted((root / package).rglob("*")):
            relative = path.relative_to(root)
            if any(part.startswith(".") for part in relative.parts):
                continue  # scratch space such as bench/.work (git-ignored)
            if relative.as_posix().startswith(NOT_SCANNED):
                continue
            if path.suffix in (".py", ".sql") and pattern.search(path.read_text(encoding="utf-8")):
                found.add(relative.as_posix())
    return found


def test_design_fields_are_named_only_in_the_spec_the_vocabulary_and_migrations() -> None:
    found = written_in()
    assert {"latinno/record.py", "latinno/vocabulary.py", "warehouse/sql/001_schema.sql"} <= found
    # Any later migration (warehouse/sql/NNN_*.sql) may name a field it adds.
    unexpected = {p for p in found - set(PLACES) - set(TO_DERIVE) if not p.endswith(".sql")}
    assert unexpected == set()
    assert set(TO_DERIVE) <= found, "derived already: drop it from TO_DERIVE"


def test_the_field_scan_sees_a_hand_written_list(tmp_path: Path) -> None:
    (tmp_path / "warehouse").mkdir()
    (tmp_path / "warehouse" / "listing.py").write_text(
        'FIELDS = ("decisiveness", "co_governance")\n', encoding="utf-8"
    )
    (tmp_path / "warehouse" / "other.py").write_text('FIELDS = ("frequency",)\n', encoding="utf-8")
    (tmp_path / "bench" / ".work").mkdir(parents=True)
    (tmp_path / "bench" / ".work" / "copy.py").write_text('X = "co_governance"\n', encoding="utf-8")
    assert written_in(tmp_path) == {"warehouse/listing.py"}


def test_allowed_values_cover_the_coded_fields_of_the_spec() -> None:
    allowed = views.allowed_values()
    assert allowed["decisiveness"] == ("binding", "non_binding", "no_decision")
    assert allowed["co_governance"] == allowed["means_deliberation"] == ("true", "false")
    assert allowed["stage"][0] == "agenda_setting"  # the bridge's code column
    assert "title" not in allowed and "country_code" not in allowed
    assert allowed["sections_present"] == PAGE_PARTS
    assert views.allowed_values(EXTENDED)["open_data"] == ("true", "false")
