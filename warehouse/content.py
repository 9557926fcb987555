"""The normalized content of a case: what is versioned in case_history and hashed.

Hashed (and so versioned) is the case-level content of the record the ``cases`` row is built
from: the content fields of the column spec (``latinno.record.CASE_COLUMNS``), in spec order.
Not hashed: url, lang, parse issues, parser_version, run and timestamps, so a new parser
version or another fetch that yields the same content is no change. Lists of codes are
deduplicated and put in vocabulary (page) order, so the order a parser returns them in does not
matter; values outside the vocabulary (raw text kept with a parse issue) follow, alphabetically.
The parts a page showed (``sections``) are put in the order of their column's ``parts`` alike.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from typing import Any

from latinno.columns import Column, ordered_parts
from latinno.record import CASE_COLUMNS, CaseRecord
from latinno.vocabulary import codes_for

HASHED_FIELDS: tuple[str, ...] = tuple(c.name for c in CASE_COLUMNS)


@cache
def _rank(name: str) -> dict[str, int]:
    return {code: i for i, code in enumerate(codes_for(name))}


def ordered_codes(name: str, codes: tuple[str, ...]) -> list[str]:
    """Distinct codes of a list field in vocabulary order; unknown values last, sorted."""
    rank = _rank(name)
    distinct = set(codes)
    if len(distinct) == len(codes) and all(c in rank for c in codes):
        return sorted(codes, key=rank.__getitem__)
    known = sorted((c for c in distinct if c in rank), key=rank.__getitem__)
    return known + sorted(c for c in distinct if c not in rank)


def _value(record: CaseRecord, column: Column) -> Any:
    value = getattr(record, column.name)
    if column.kind == "codes":
        return ordered_codes(column.name, value)
    if column.kind == "sources":
        return [{"text": s.text, "url": s.url} for s in value]
    if column.kind == "sections":
        return ordered_parts(column, value)
    return value


def case_content(record: CaseRecord, columns: tuple[Column, ...] = CASE_COLUMNS) -> dict[str, Any]:
    """The hashed content of a record, as a JSON-ready dict in spec order."""
    return {column.name: _value(record, column) for column in columns}


# A \u00XX escape (not an escaped backslash followed by "u00XX")
_CONTROL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u00([01][0-9a-f])")


def canonical_json(content: dict[str, Any]) -> str:
    """Compact JSON in field order, non-ASCII kept: the exact text that is hashed.

    The loader builds the same text inside DuckDB (``json_object``, vectorized); this is the
    reference it is tested against. DuckDB writes control-character escapes in upper case.
    """
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    if "\\u00" in text:
        text = _CONTROL_ESCAPE.sub(lambda m: m.group(1) + "\\u00" + m.group(2).upper(), text)
    return text


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
