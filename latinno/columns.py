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

Every content field is hashed and versioned, in declaration order (the order is part of the
content hash: reordering fields changes every hash).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

Kind = Literal["text", "code", "flag", "codes", "sources"]
SCALAR_KINDS: tuple[Kind, ...] = ("text", "code", "flag")  # one column of ``cases`` each

_KEY = "latinno.content"


@dataclass(frozen=True, slots=True)
class Column:
    """One content field of the record: its name, kind and (codes, sources) its own table."""

    name: str
    kind: Kind
    table: str | None = None
    code_column: str | None = None


@dataclass(frozen=True, slots=True)
class _Content:
    kind: Kind
    table: str | None
    code_column: str | None


def content(
    kind: Kind, table: str | None = None, code_column: str | None = None
) -> Mapping[str, Any]:
    """Field metadata marking a record field as content of ``kind``.

    ``codes`` needs its bridge ``table`` and ``code_column``; ``sources`` its ``table``.
    """
    if kind not in get_args(Kind):
        raise ValueError(f"content kind {kind!r} is not one of {get_args(Kind)}")
    needs_table = kind in ("codes", "sources")
    if needs_table != (table is not None) or (kind == "codes") != (code_column is not None):
        raise ValueError(f"content kind {kind!r}: table/code_column do not fit this kind")
    return {_KEY: _Content(kind, table, code_column)}


def content_columns(record_type: type) -> tuple[Column, ...]:
    """The content fields of a record dataclass, in declaration order."""
    columns = []
    for field in dataclasses.fields(record_type):
        spec = field.metadata.get(_KEY)
        if isinstance(spec, _Content):
            columns.append(Column(field.name, spec.kind, spec.table, spec.code_column))
    return tuple(columns)


def of_kind(columns: tuple[Column, ...], *kinds: Kind) -> tuple[Column, ...]:
    """The columns of the given kinds, in spec order."""
    return tuple(c for c in columns if c.kind in kinds)


def scalar_columns(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """The columns stored one-to-one in ``cases``, in spec order."""
    return of_kind(columns, *SCALAR_KINDS)
