"""``cases_wide`` as a Stata .dta (format 118, Stata 14+) and an SPSS .sav, with labels.

- Names valid in both (≤ 32 characters, letters, digits, ``_``, no reserved word, unique even
  ignoring case); renamed columns are listed in the codebook.
- Variable labels from the column COMMENTs; one longer than the format holds (Stata 80 bytes,
  SPSS 256) is shortened and the codebook says so.
- Coded variables (the vocabulary's design fields) are numbers with value labels: the code's
  position in ``vocabulary`` and its English label; page text that matched no code gets 101, 102,
  ... with that text as its label (codebook note). Booleans are 0/1 labelled no/yes.
- Text: Stata strL holds any length; SPSS holds 32,767 bytes, longer text is cut (codebook
  note, never silently). Both formats have no missing text: NULL is written as empty.
- Timestamps: UTC, to the millisecond (Stata %tc, SPSS DATETIME).
- ReadStat stamps each file with the wall clock; that stamp is set to the data's time, so the
  same data gives the same bytes.
"""

from __future__ import annotations

import re
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from latinno.release.errors import ReleaseError
from latinno.release.snapshot import VOCABULARY_FIELD, TableData
from latinno.release.statlabels import integer_formats, name_label_sets
from warehouse.views import wide_columns

STATA_LABEL_BYTES = 80
SPSS_LABEL_BYTES = 256
STATA_VALUE_LABEL_BYTES = 32_000
SPSS_VALUE_LABEL_BYTES = 120
SPSS_STRING_BYTES = 32_767
STATA_FILE_LABEL_BYTES = 80
SPSS_FILE_LABEL_BYTES = 64
NAME_LIMIT = 32
UNCODED_FROM = 101  # first number given to page text that matched no code
YES_NO = {0: "no", 1: "yes"}

_STATA_RESERVED = frozenset(
    {
        *("_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int"),
        *("long", "_n", "_pi", "_pred", "_rc", "_skip", "strl", "using", "with"),
    }
)
_SPSS_RESERVED = frozenset(
    {"all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with"}
)
_STR_N = re.compile(r"^str\d+$")
# List fields whose wide columns get a shorter prefix when one of them would be too long.
_SHORT_PREFIX = {"participant_types": "ptype", "policy_cycle": "cycle"}
_STOP_WORDS = frozenset({"and", "or", "of", "the"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fit_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 form has at most ``limit`` bytes."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def shorten_label(label: str, limit: int) -> str:
    """A label within ``limit`` bytes: without its closing parenthesis if that is enough, else
    cut after its last whole word that fits (a word is never cut in two)."""
    if len(label.encode("utf-8")) <= limit:
        return label
    bare = re.sub(r"\s*\([^()]*\)\.?$", "", label)
    if bare != label and len(bare.encode("utf-8")) <= limit:
        return bare
    head = fit_bytes(label, limit - 3)
    if not label[len(head) : len(head) + 1].isspace() and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:(") + "..."


def _shorten_words(name: str) -> str:
    """Drop stop words, then cut the longest words to 4 letters, until the name fits."""
    words = name.split("_")
    if len("_".join(words)) > NAME_LIMIT:
        words = [w for w in words if w not in _STOP_WORDS] or words
    while len("_".join(words)) > NAME_LIMIT:
        longest = max(range(len(words)), key=lambda i: (len(words[i]), i))
        if len(words[longest]) <= 4:
            break
        words[longest] = words[longest][:4]
    return "_".join(words)[:NAME_LIMIT].rstrip("_")


def _reserved(name: str) -> bool:
    lower = name.lower()
    return lower in _STATA_RESERVED or lower in _SPSS_RESERVED or bool(_STR_N.match(lower))


def stata_names(columns: Sequence[str]) -> dict[str, str]:
    """column -> a name valid in Stata and SPSS; same name when it already is one."""
    families: dict[str, str] = {}
    for column, name, _ in wide_columns():
        families[column] = name
    long_families = {families[c] for c in columns if c in families and len(c) > NAME_LIMIT}
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", column)
        family = families.get(column)
        if family in long_families and name.startswith(family + "_"):
            short = _SHORT_PREFIX.get(family) or "".join(w[0] for w in family.split("_"))
            name = short + name[len(family) :]
        if not re.match(r"[A-Za-z]", name):
            name = "v" + name
        if len(name) > NAME_LIMIT:
            name = _shorten_words(name)
        if _reserved(name):
            name = name[: NAME_LIMIT - 1] + "_"
        candidate, n = name, 1
        while candidate.lower() in taken:
            n += 1
            suffix = f"_{n}"
            candidate = name[: NAME_LIMIT - len(suffix)] + suffix
        taken.add(candidate.lower())
        names[column] = candidate
    return names


@dataclass(slots=True)
class StatVariable:
    """One variable of the .dta/.sav and what happened to it on the way."""

    column: str
    name: str
    kind: str  # integer, number, string, coded, dummy, datetime
    label: str
    stata_label: str
    spss_label: str
    codes: dict[str, int] = field(default_factory=dict)  # code (or page text) -> number
    value_labels: dict[int, str] = field(default_factory=dict)  # number -> English label
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StatFiles:
    variables: tuple[StatVariable, ...]
    dta: bytes
    sav: bytes


def _kind(column: str, duck_type: str) -> str:
    if column in VOCABULARY_FIELD:
        return "coded"
    if duck_type == "BOOLEAN":
        return "dummy"
    if duck_type.startswith("TIMESTAMP"):
        return "datetime"
    if duck_type in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT"):
        return "integer"
    if duck_type in ("FLOAT", "DOUBLE") or duck_type.startswith("DECIMAL"):
        return "number"
    return "string"


def _ids_with(values: list[Any], ids: list[Any], test: Any) -> str:
    hits = [str(i) for v, i in zip(values, ids, strict=True) if test(v)]
    shown = ", ".join(hits[:10]) + (f" and {len(hits) - 10} more" if len(hits) > 10 else "")
    return f"{len(hits)} case{'s' if len(hits) != 1 else ''} ({shown})"


def _variables(
    data: TableData, vocabulary: dict[str, list[tuple[str, str]]]
) -> tuple[list[StatVariable], dict[str, list[Any]]]:
    names = stata_names([c.name for c in data.columns])
    ids = data.table.column("case_id").to_pylist()
    variables: list[StatVariable] = []
    values: dict[str, list[Any]] = {}
    for column in data.columns:
        raw = data.table.column(column.name).to_pylist()
        kind = _kind(column.name, column.type)
        var = StatVariable(
            column=column.name,
            name=names[column.name],
            kind=kind,
            label=column.label,
            stata_label=shorten_label(column.label, STATA_LABEL_BYTES),
            spss_label=shorten_label(column.label, SPSS_LABEL_BYTES),
        )
        if var.name != column.name:
            var.notes.append(f"named {var.name} in the Stata and SPSS files")
        if var.stata_label != column.label:
            var.notes.append(f"Stata variable label shortened to {var.stata_label!r}")
        if var.spss_label != column.label:
            var.notes.append(f"SPSS variable label shortened to {var.spss_label!r}")
        if kind == "coded":
            known = vocabulary.get(VOCABULARY_FIELD[column.name], [])
            var.codes = {code: i for i, (code, _) in enumerate(known, start=1)}
            var.value_labels = {i: label for i, (_, label) in enumerate(known, start=1)}
            uncoded = sorted({v for v in raw if v is not None and v not in var.codes})
            for offset, text in enumerate(uncoded):
                var.codes[text] = UNCODED_FROM + offset
                var.value_labels[UNCODED_FROM + offset] = text
            if uncoded:
                shown = "; ".join(f"{var.codes[t]} = {t!r}" for t in uncoded)
                var.notes.append(f"page text that matched no code (see parse_issues): {shown}")
            values[var.name] = [None if v is None else var.codes[v] for v in raw]
        elif kind == "dummy":
            var.value_labels = dict(YES_NO)
            values[var.name] = [None if v is None else int(v) for v in raw]
        elif kind == "string":
            text = ["" if v is None else str(v) for v in raw]
            if any(len(t.encode("utf-8")) > SPSS_STRING_BYTES for t in text):
                where = _ids_with(text, ids, lambda t: len(t.encode("utf-8")) > SPSS_STRING_BYTES)
                var.notes.append(
                    f"cut to {SPSS_STRING_BYTES:,} bytes in the SPSS file for {where}; "
                    "the Stata, Parquet and CSV files hold the whole text"
                )
            values[var.name] = text
        else:
            values[var.name] = raw
        variables.append(var)
    _label_limits(variables)
    return variables, values


def _label_limits(variables: list[StatVariable]) -> None:
    for var in variables:
        for limit, fmt in ((STATA_VALUE_LABEL_BYTES, "Stata"), (SPSS_VALUE_LABEL_BYTES, "SPSS")):
            cut = [n for n, text in var.value_labels.items() if fit_bytes(text, limit) != text]
            if cut:
                numbers = ", ".join(str(n) for n in cut)
                var.notes.append(f"{fmt} value labels of {numbers} cut to {limit} bytes")


def _frame(variables: list[StatVariable], values: dict[str, list[Any]], spss: bool) -> Any:
    import pandas as pd  # type: ignore[import-untyped]  # no stubs locked

    data: dict[str, Any] = {}
    for var in variables:
        column = values[var.name]
        if var.kind in ("coded", "dummy", "integer"):
            has_null = any(v is None for v in column)
            dtype = "float64" if has_null else ("int8" if var.kind == "dummy" else "int32")
            data[var.name] = pd.Series(
                [float("nan") if v is None else v for v in column], dtype=dtype
            )
        elif var.kind == "number":
            data[var.name] = pd.Series(column, dtype="float64")
        elif var.kind == "datetime":
            data[var.name] = pd.Series(pd.to_datetime(column)).dt.floor("ms")
        else:
            cut = [fit_bytes(v, SPSS_STRING_BYTES) for v in column] if spss else column
            data[var.name] = pd.Series(cut, dtype=object)
    return pd.DataFrame(data)


def _value_labels(
    variables: list[StatVariable], frame: Any, limit: int
) -> dict[str, dict[int | float, str]]:
    out: dict[str, dict[int | float, str]] = {}
    for var in variables:
        if not var.value_labels:
            continue
        as_float = str(frame[var.name].dtype) == "float64"
        out[var.name] = {
            (float(n) if as_float else n): fit_bytes(text, limit)
            for n, text in sorted(var.value_labels.items())
        }
    return out


def _stamp_dta(data: bytes, moment: datetime) -> bytes:
    # dta 117+: <timestamp>, a length byte (17), then "dd Mon yyyy hh:mm".
    stamp = f"{moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year:04d} {moment:%H:%M}"
    pattern = re.compile(rb"<timestamp>\x11\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d</timestamp>")
    replaced, count = pattern.subn(
        b"<timestamp>\x11" + stamp.encode("ascii") + b"</timestamp>", data[:512], count=1
    )
    if count != 1:
        raise ReleaseError("stata/latinno_cases.dta: no creation time found in the header")
    return replaced + data[512:]


def _stamp_sav(data: bytes, moment: datetime) -> bytes:
    # SAV header: creation date "dd Mon yy" at byte 92, time "hh:mm:ss" at byte 101.
    stamp = f"{moment.day:02d} {_MONTHS[moment.month - 1]} {moment:%y}{moment:%H:%M:%S}"
    if not re.fullmatch(rb"\d\d [A-Z][a-z]{2} \d\d\d\d:\d\d:\d\d", data[92:109]):
        raise ReleaseError("spss/latinno_cases.sav: no creation time found in the header")
    return data[:92] + stamp.encode("ascii") + data[109:]


def _whole(variables: Sequence[StatVariable]) -> list[str]:
    return [v.name for v in variables if v.kind in ("coded", "dummy", "integer")]


def build_stat_files(
    data: TableData,
    vocabulary: dict[str, list[tuple[str, str]]],
    moment: datetime,
    *,
    file_label: str,
    note: str,
) -> StatFiles:
    import pyreadstat

    variables, values = _variables(data, vocabulary)
    measure = {
        v.name: "scale" if v.kind in ("number", "datetime") else "nominal" for v in variables
    }
    with tempfile.TemporaryDirectory(prefix="latinno-release-") as scratch:
        dta_path, sav_path = Path(scratch) / "cases.dta", Path(scratch) / "cases.sav"
        frame = _frame(variables, values, spss=False)
        pyreadstat.write_dta(
            frame,
            dta_path,
            file_label=fit_bytes(file_label, STATA_FILE_LABEL_BYTES),
            column_labels={v.name: v.stata_label for v in variables},
            version=14,
            variable_value_labels=_value_labels(variables, frame, STATA_VALUE_LABEL_BYTES),
            variable_format=integer_formats(_whole(variables), spss=False),
        )
        frame = _frame(variables, values, spss=True)
        pyreadstat.write_sav(
            frame,
            sav_path,
            file_label=fit_bytes(file_label, SPSS_FILE_LABEL_BYTES),
            column_labels={v.name: v.spss_label for v in variables},
            # SPSS document lines hold 80 bytes each.
            note=textwrap.wrap(note, 80),
            variable_value_labels=_value_labels(variables, frame, SPSS_VALUE_LABEL_BYTES),
            variable_measure=measure,
            variable_format=integer_formats(_whole(variables), spss=True),
        )
        dta = name_label_sets(_stamp_dta(dta_path.read_bytes(), moment))
        sav = _stamp_sav(sav_path.read_bytes(), moment)
    return StatFiles(tuple(variables), dta, sav)
