"""Details of the Stata/SPSS files a researcher sees (issue 21): value-label names and display
formats.

pyreadstat names each Stata value label after its variable plus a running number (a
variable ``x`` gets ``x0``, another ``y4``); ``label list`` then shows names nobody chose. The
.dta's fixed-width name fields are rewritten to the variable's own name (``label list x``),
the same width, so nothing else in the file moves. Codes and 0/1 dummies with
a missing value are stored as doubles; their display format is set to a whole number, so Stata
and SPSS show ``2``, not ``2.00``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

NAME_FIELD = 129  # dta 118: a variable or value-label name, NUL-padded
STATA_INTEGER = "%8.0g"
SPSS_INTEGER = "F8.0"


def _section(data: bytes, tag: bytes) -> tuple[int, int]:
    start = data.index(b"<" + tag + b">") + len(tag) + 2
    return start, data.index(b"</" + tag + b">", start)


def _names(data: bytes, tag: bytes) -> list[bytes]:
    start, end = _section(data, tag)
    return [data[i : i + NAME_FIELD].split(b"\0", 1)[0] for i in range(start, end, NAME_FIELD)]


def _field(name: bytes) -> bytes:
    return name + b"\0" * (NAME_FIELD - len(name))


def name_label_sets(dta: bytes) -> bytes:
    """The .dta with every value label named after the variable that uses it."""
    variables = _names(dta, b"varnames")
    start, end = _section(dta, b"value_label_names")
    renames: dict[bytes, bytes] = {}
    out = bytearray(dta)
    for index, offset in enumerate(range(start, end, NAME_FIELD)):
        old = dta[offset : offset + NAME_FIELD].split(b"\0", 1)[0]
        if old:
            renames[old] = variables[index]
            out[offset : offset + NAME_FIELD] = _field(variables[index])
    order: Literal["little", "big"] = (
        "little" if b"<byteorder>LSF</byteorder>" in dta[:256] else "big"
    )
    offset, labels_end = _section(dta, b"value_labels")
    # Each <lbl>: the table's length (4 bytes), the name, 3 bytes of padding, the table.
    while dta.startswith(b"<lbl>", offset) and offset < labels_end:
        length = int.from_bytes(dta[offset + 5 : offset + 9], order)
        at = offset + 9
        old = dta[at : at + NAME_FIELD].split(b"\0", 1)[0]
        if old in renames:
            out[at : at + NAME_FIELD] = _field(renames[old])
        offset = at + NAME_FIELD + 3 + length + len(b"</lbl>")
    return bytes(out)


def integer_formats(names: Iterable[str], spss: bool) -> dict[str, str]:
    """A whole-number display format for each of ``names`` (codes and dummies)."""
    return dict.fromkeys(names, SPSS_INTEGER if spss else STATA_INTEGER)
