"""The column spec of a case record: which fields are the case's content, and of what kind.

The spec is ``CaseRecord`` itself (latinno/record.py): a field declared with
``field(metadata=content(kind))`` is content, and ``content_columns`` reads those declarations,
in order, into ``Column`` values (``latinno.record.CASE_COLUMNS``). The warehouse derives from
them, and from nothing else, the Arrow schema of a load, the column lists of the ``cases``
inserts and updates, the hashed JSON (in Python and in SQL), the bridge tables and the views.
Adding a design field therefore touches its declaration in CaseRecord, a schema migration
(warehouse/sql/) and the vocabulary (its labels and codes), nothing else.

Kinds, and where the warehouse keeps each:

- ``text``: free text in the page's language; ``cases`` (primary language) and ``case_texts``.
- ``code``: one code, or the raw text when no code matched; a VARCHAR column of ``cases``.
- ``flag``: yes/no, NULL when not shown; a BOOLEAN column of ``cases``.
- ``codes``: the codes that apply; a bridge table ``table(case_id, code_column)`` and a boolean
  per code in ``cases_wide``.
- ``sources``: the page's source links; a table ``table(case_id, position, text, url)``.
- ``sections``: which ``parts`` of the page were shown (a case section, or a field inside one);
  a VARCHAR[] column of ``cases``, not a column of ``cases_wide``. What a page did not show is
  unknown, not "no": every boolean of a ``codes`` field named among the parts but not shown is
  NULL in ``cases_wide``. Stored in ``parts`` order whatever order the record lists them in.

Every content field is hashed and versioned, in declaration order (the order is part of the
content hash: reordering fields changes every hash).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

Kind = Literal["text", "code", "flag", "codes", "sources", "sections"]
SCALAR_KINDS: tuple[Kind, ...] = ("text", "code", "flag")  # one column of ``cases`` each
ROW_KINDS: tuple[Kind, ...] = (*SCALAR_KINDS, "sections")  # stored in ``cases`` itself

_KEY = "latinno.content"


@dataclass(frozen=True, slots=True)
class Column:
    """One content field of the record: its name, kind, (codes, sources) its own table and
    (sections) the parts it may list."""

    name: str
    kind: Kind
    table: str | None = None
    code_column: str | None = None
    parts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Content:
    kind: Kind
    table: str | None
    code_column: str | None
    parts: tuple[str, ...]


def content(
    kind: Kind,
    table: str | None = None,
    code_column: str | None = None,
    *,
    parts: tuple[str, ...] = (),
) -> Mapping[str, Any]:
    """Field metadata marking a record field as content of ``kind``.

    ``codes`` needs its bridge ``table`` and ``code_column``; ``sources`` its ``table``;
    ``sections`` the ``parts`` it may list, in page order.
    """
    if kind not in get_args(Kind):
        raise ValueError(f"content kind {kind!r} is not one of {get_args(Kind)}")
    needs_table = kind in ("codes", "sources")
    if needs_table != (table is not None) or (kind == "codes") != (code_column is not None):
        raise ValueError(f"content kind {kind!r}: table/code_column do not fit this kind")
    if (kind == "sections") != bool(parts) or len(set(parts)) != len(parts):
        raise ValueError(f"content kind {kind!r}: parts do not fit this kind")
    return {_KEY: _Content(kind, table, code_column, tuple(parts))}


def content_columns(record_type: type) -> tuple[Column, ...]:
    """The content fields of a record dataclass, in declaration order."""
    columns = []
    for field in dataclasses.fields(record_type):
        spec = field.metadata.get(_KEY)
        if isinstance(spec, _Content):
            columns.append(Column(field.name, spec.kind, spec.table, spec.code_column, spec.parts))
    return tuple(columns)


def of_kind(columns: tuple[Column, ...], *kinds: Kind) -> tuple[Column, ...]:
    """The columns of the given kinds, in spec order."""
    return tuple(c for c in columns if c.kind in kinds)


def scalar_columns(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """The columns stored one-to-one in ``cases`` and shown in ``cases_wide``, in spec order."""
    return of_kind(columns, *SCALAR_KINDS)


def row_columns(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """The columns stored in ``cases`` itself: the scalars and the ``sections`` lists."""
    return of_kind(columns, *ROW_KINDS)


def shown_by(columns: tuple[Column, ...]) -> dict[str, str]:
    """``codes`` field -> the ``sections`` column that says whether the page showed it.

    A ``codes`` field no ``sections`` column names is always taken as shown.
    """
    lists = {c.name for c in of_kind(columns, "codes")}
    return {
        part: column.name
        for column in of_kind(columns, "sections")
        for part in column.parts
        if part in lists
    }


def ordered_parts(column: Column, shown: tuple[str, ...] | list[str]) -> list[str]:
    """The parts of a ``sections`` value in ``column.parts`` order, each once; any unknown
    part after them, sorted (as ``codes`` lists are normalized)."""
    given = set(shown)
    return [p for p in column.parts if p in given] + sorted(given - set(column.parts))
