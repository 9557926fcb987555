"""Arrow building: one batch of records as the Arrow tables DuckDB reads directly.

Column by column from the column spec (``latinno.record.CASE_COLUMNS``), never a dict per
record: the hashed JSON, list order and bridge rows are computed later inside DuckDB.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from typing import Any

import pyarrow as pa

from latinno.columns import Column, Kind, of_kind
from latinno.pages import PageKey
from latinno.record import CaseRecord, Source
from latinno.vocabulary import LANGS

SOURCE_TYPE = pa.struct([("text", pa.string()), ("url", pa.string())])
_ARROW_TYPES: dict[Kind, pa.DataType] = {
    "text": pa.string(),
    "code": pa.string(),
    "flag": pa.bool_(),
    "codes": pa.list_(pa.string()),
    "sources": pa.list_(SOURCE_TYPE),
    "sections": pa.list_(pa.string()),
}
ISSUE_SCHEMA = pa.schema(
    [
        ("case_id", pa.int32()),
        ("lang", pa.string()),
        ("url", pa.string()),
        ("field", pa.string()),
        ("raw", pa.string()),
        ("message", pa.string()),
    ]
)
KEY_SCHEMA = pa.schema([("case_id", pa.int32()), ("lang", pa.string())])

# DuckDB scans a registered Arrow table one record batch per thread: a table built as one
# chunk is read (and its JSON and SHA-256 built) by a single thread. Zero-copy slices of this
# many rows let every thread take part (~1.8x faster on 2 cores for 100k records).
_BATCH_ROWS = 10_240


@cache
def case_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """``_in_cases``: the chosen record of each case, lists as lists."""
    return pa.schema(
        [
            ("case_id", pa.int32()),
            *((c.name, _ARROW_TYPES[c.kind]) for c in columns),
            ("url", pa.string()),
            ("lang", pa.string()),
            ("is_primary", pa.bool_()),
            ("parser_version", pa.string()),
        ]
    )


@cache
def text_schema(columns: tuple[Column, ...]) -> pa.Schema:
    """``_in_texts``: the text fields of every page (case and language) of the batch."""
    texts = [(c.name, pa.string()) for c in of_kind(columns, "text")]
    return pa.schema([("case_id", pa.int32()), ("lang", pa.string()), *texts, ("url", pa.string())])


@dataclass(frozen=True, slots=True)
class BatchTables:
    """The Arrow tables of one batch, registered under these names while it loads."""

    cases: pa.Table
    texts: pa.Table
    issues: pa.Table

    def named(self) -> dict[str, pa.Table]:
        return {"_in_cases": self.cases, "_in_texts": self.texts, "_in_issues": self.issues}


def language_order(primary_lang: str, languages: Sequence[str] = ()) -> list[str]:
    """The order in which languages fill a case's row: ``languages`` as configured, else the
    primary language; then en, es, pt."""
    return list(dict.fromkeys((*(languages or (primary_lang,)), *LANGS)))


def choose(
    records: Sequence[CaseRecord], primary_lang: str, languages: Sequence[str] = ()
) -> tuple[list[CaseRecord], list[CaseRecord]]:
    """(record building each case's row, every distinct (case_id, lang) record).

    Of a case's records, the one earliest in :func:`language_order`. A repeated (case_id, lang)
    in one batch: the last one wins.
    """
    by_key = {(r.case_id, r.lang): r for r in records}
    pages = list(by_key.values())
    if all(r.lang == primary_lang for r in pages):  # the usual batch: one language
        return pages, pages
    rank = {lang: i for i, lang in enumerate(language_order(primary_lang, languages))}
    chosen: dict[int, CaseRecord] = {}
    for record in pages:
        held = chosen.get(record.case_id)
        if held is None or rank.get(record.lang, 99) < rank.get(held.lang, 99):
            chosen[record.case_id] = record
    return list(chosen.values()), pages


def _arrays(records: list[CaseRecord], schema: pa.Schema, names: list[str]) -> dict[str, pa.Array]:
    """Arrow arrays of some record attributes (two or more), transposed in one pass."""
    if not records:
        return {name: pa.array([], schema.field(name).type) for name in names}
    columns = zip(*map(attrgetter(*names), records), strict=True)
    return {
        name: pa.array(column, schema.field(name).type)
        for name, column in zip(names, columns, strict=True)
    }


def _sources_array(records: list[CaseRecord], name: str) -> pa.Array:
    """list<struct<text, url>> built from flat columns (much faster than a list of dicts)."""
    offsets = [0]
    flat: list[Source] = []
    for record in records:
        flat.extend(getattr(record, name))
        offsets.append(len(flat))
    structs = pa.StructArray.from_arrays(
        [
            pa.array([s.text for s in flat], pa.string()),
            pa.array([s.url for s in flat], pa.string()),
        ],
        fields=list(SOURCE_TYPE),
    )
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), structs)


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic GC while building Arrow columns: it allocates millions of short-lived
    objects and none that form cycles, and GC passes over them cost ~30% of the build."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunked(table: pa.Table) -> pa.Table:
    """The same table as zero-copy record batches of ``_BATCH_ROWS`` rows."""
    return pa.Table.from_batches(table.to_batches(max_chunksize=_BATCH_ROWS), table.schema)


def _issues_table(pages: list[CaseRecord]) -> pa.Table:
    issues: dict[str, list[Any]] = {name: [] for name in ISSUE_SCHEMA.names}
    for record in pages:
        for issue in dict.fromkeys(record.issues):
            issues["case_id"].append(record.case_id)
            issues["lang"].append(record.lang)
            issues["url"].append(record.url)
            issues["field"].append(issue.field)
            issues["raw"].append(issue.raw)
            issues["message"].append(issue.message)
    return pa.table(issues, schema=ISSUE_SCHEMA)


def batch_tables(
    records: Sequence[CaseRecord],
    primary_lang: str,
    columns: tuple[Column, ...],
    languages: Sequence[str] = (),
) -> BatchTables:
    """The Arrow tables of one batch: chosen case rows, texts of every page, parse issues."""
    with _no_gc():
        chosen, pages = choose(records, primary_lang, languages)
        cases_schema, texts_schema = case_schema(columns), text_schema(columns)
        sources = {c.name for c in of_kind(columns, "sources")}
        plain = [f for f in cases_schema.names if f not in sources and f != "is_primary"]
        cases = _arrays(chosen, cases_schema, plain)
        if chosen is pages:  # one language (the usual batch): the texts are the same arrays
            texts = {name: cases[name] for name in texts_schema.names}
        else:
            texts = _arrays(pages, texts_schema, texts_schema.names)
        for name in sources:
            cases[name] = _sources_array(chosen, name)
        cases["is_primary"] = pa.array([r.lang == primary_lang for r in chosen], pa.bool_())
        return BatchTables(
            cases=_chunked(
                pa.Table.from_arrays([cases[n] for n in cases_schema.names], schema=cases_schema)
            ),
            texts=_chunked(
                pa.Table.from_arrays([texts[n] for n in texts_schema.names], schema=texts_schema)
            ),
            issues=_chunked(_issues_table(pages)),
        )


def keys_table(keys: Sequence[PageKey]) -> pa.Table:
    """(case_id, lang) pages, each once."""
    unique = list(dict.fromkeys((int(k), str(lang)) for k, lang in keys))
    return pa.table(
        {"case_id": [k for k, _ in unique], "lang": [lang for _, lang in unique]},
        schema=KEY_SCHEMA,
    )


def ids_table(case_ids: Sequence[int]) -> pa.Table:
    """Distinct case ids, sorted."""
    return pa.table({"case_id": pa.array(sorted(set(case_ids)), pa.int32())})
