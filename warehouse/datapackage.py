"""Frictionless descriptors shared by ``latinno export`` and ``latinno release``: table schemas
and resources, so both describe their files the same way and both pass
``frictionless validate`` (CSV: tabular-data-resource; Parquet and other binaries: a file
resource whose size and SHA-256 are checked, never read as a table).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")


def field_type(duck_type: str) -> str:
    if duck_type.endswith("[]"):  # a list: JSON text in CSV, as Frictionless reads an array
        return "array"
    if duck_type == "BOOLEAN":
        return "boolean"
    if duck_type in _INTEGER_TYPES or duck_type in ("UBIGINT", "HUGEINT"):
        return "integer"
    if duck_type in ("FLOAT", "DOUBLE") or duck_type.startswith("DECIMAL"):
        return "number"
    if duck_type.startswith("TIMESTAMP"):
        return "datetime"
    if duck_type == "DATE":
        return "date"
    return "string"


@dataclass(frozen=True, slots=True)
class SchemaField:
    name: str
    type: str  # DuckDB type
    description: str
    enum: tuple[str, ...] = ()


def schema(
    fields: Sequence[SchemaField], key: Sequence[str], *, csv_booleans: bool
) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for f in fields:
        entry: dict[str, Any] = {
            "name": f.name,
            "type": field_type(f.type),
            "description": f.description,
        }
        if entry["type"] == "boolean" and csv_booleans:
            entry["trueValues"] = ["1"]
            entry["falseValues"] = ["0"]
        if f.enum:
            entry["constraints"] = {"enum": list(f.enum)}
        out.append(entry)
    result: dict[str, Any] = {"fields": out, "missingValues": [""]}
    if key:
        result["primaryKey"] = list(key)
    return result


def resource(
    name: str,
    path: str,
    data: bytes,
    *,
    description: str,
    fmt: str,
    mediatype: str,
    table_schema: dict[str, Any],
    bom: bool = False,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "path": path,
        "title": path.rsplit("/", 1)[-1],
        "description": description,
        "format": fmt,
        "mediatype": mediatype,
        "bytes": len(data),
        "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
    }
    if fmt == "csv":
        entry["profile"] = "tabular-data-resource"
        entry["encoding"] = "utf-8-sig" if bom else "utf-8"
        entry["dialect"] = {
            "delimiter": ",",
            "lineTerminator": "\r\n",
            "quoteChar": '"',
            "doubleQuote": True,
            "header": True,
        }
    else:
        # Frictionless reads no Parquet/Stata/SPSS rows: it checks their size and SHA-256.
        entry["profile"] = "data-resource"
        entry["type"] = "file"  # frictionless-py: check the file, do not open it as a table
    entry["schema"] = table_schema
    return entry
