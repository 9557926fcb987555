"""The six Institutional design fields: find the labels, read the values, map them to codes.

Labels stand alone ("Formalization"); help texts behind the ``?`` toggle start with the label and
a colon ("Formalization: is the innovation …?") and are never values. A label is found as a
whole line or as one text piece followed by something other than a colon, so a definition list,
a two-column table, label/value ``div`` pairs and inline ``<b>label</b> value`` all read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from latinno.record import ParseIssue
from latinno.vocabulary import DESIGN_FIELDS, FIELD_TERMS, Labels, normalize_label
from parsers.stream import Stream, collapse

_CODE_ORDER: dict[str, dict[str, int]] = {
    name: {term.code: i for i, term in enumerate(terms)} for name, terms in FIELD_TERMS.items()
}
_SEPARATORS = ",;/|·•"


@dataclass(frozen=True, slots=True)
class Marker:
    """A label (``field`` set, value starts at ``value_start``) or a help text (no value)."""

    at: int
    field: str | None
    value_start: int


def help_field(key: str, next_raw: str | None, labels: Labels) -> str | None:
    """The field a help text explains ("Formalization: is …", "Formalization:" + "is …")."""
    head, colon, _ = key.partition(":")
    if colon and head.strip() in labels.field_by_label:
        return labels.field_by_label[head.strip()]
    if key in labels.field_by_label and next_raw is not None and next_raw.lstrip()[:1] == ":":
        return labels.field_by_label[key]
    return None


def find_markers(stream: Stream, start: int, end: int, labels: Labels) -> list[Marker]:
    """Labels and help texts between pieces ``start`` and ``end``, in page order."""
    pieces = stream.pieces
    markers: list[Marker] = []
    for line in stream.lines(start, end):
        texts = [i for i in line if not pieces[i].is_attribute]
        if not texts:
            continue
        whole = stream.text_of(texts)
        field = labels.field_by_label.get(normalize_label(whole)) if ":" not in whole else None
        if field is not None and len(texts) > 1:
            markers.append(Marker(texts[0], field, line[-1] + 1))
            continue
        for pos, index in enumerate(texts):
            key = pieces[index].key
            next_raw = pieces[texts[pos + 1]].raw if pos + 1 < len(texts) else None
            if key in labels.field_by_label and (next_raw is None or next_raw.lstrip()[:1] != ":"):
                markers.append(Marker(index, labels.field_by_label[key], index + 1))
            elif help_field(key, next_raw, labels) is not None:
                markers.append(Marker(index, None, index + 1))
    return markers


def value_text(stream: Stream, start: int, end: int, *, piecewise: bool) -> str:
    """A value's visible text. ``piecewise`` joins separate elements with a space (lists)."""
    pieces = stream.pieces
    texts = [i for i in range(start, end) if not pieces[i].is_attribute]
    if not texts:  # an icon-only value, named by alt/title
        return collapse(" ".join(pieces[i].raw for i in range(start, end)))
    if piecewise:
        return collapse(" ".join(pieces[i].raw for i in texts))
    return " ".join(t for t in (stream.text_of(line) for line in stream.lines(start, end)) if t)


def split_participants(text: str, table: Mapping[str, str]) -> tuple[tuple[str, ...], list[str]]:
    """Codes named in a space-joined list ("civil society private stakeholders") and leftovers.

    Splits against the vocabulary, longest label first, never on spaces alone; words no label
    covers are returned as unknown parts, in page order.
    """
    words = text.split(" ")
    folded = [normalize_label(w.strip(_SEPARATORS)) for w in words]
    by_length = sorted(
        ((tuple(label.split(" ")), code) for label, code in table.items()),
        key=lambda item: -len(item[0]),
    )
    codes: list[str] = []
    unknown: list[str] = []
    pending: list[str] = []
    i = 0
    while i < len(words):
        if not folded[i]:  # a lone separator
            i += 1
            continue
        for label_words, code in by_length:
            if tuple(folded[i : i + len(label_words)]) == label_words:
                if pending:
                    unknown.append(" ".join(pending))
                    pending = []
                codes.append(code)
                i += len(label_words)
                break
        else:
            pending.append(words[i])
            i += 1
    if pending:
        unknown.append(" ".join(pending))
    return tuple(codes), unknown


@dataclass(slots=True)
class Design:
    values: dict[str, object]
    issues: list[ParseIssue]
    labelled: set[str]  # fields whose label was found
    shown: set[str]  # fields whose label was found with a value after it (coded or not)


def read_design(stream: Stream, start: int, end: int, labels: Labels) -> Design:
    """The six fields' codes (None / () when not codable) and the issues found on the way."""
    markers = find_markers(stream, start, end, labels)
    values: dict[str, object] = {
        name: (() if name == "participant_types" else None) for name in DESIGN_FIELDS
    }
    issues: list[ParseIssue] = []
    seen: set[str] = set()
    shown: set[str] = set()
    for pos, marker in enumerate(markers):
        name = marker.field
        if name is None or name in seen:
            continue
        seen.add(name)
        stop = markers[pos + 1].at if pos + 1 < len(markers) else end
        multi = name == "participant_types"
        raw = value_text(stream, marker.value_start, stop, piecewise=multi)
        if not raw:
            issues.append(ParseIssue(name, None, f"'{name}' label found but no value after it"))
            continue
        shown.add(name)
        table = labels.value_codes[name]
        if multi:
            codes, unknown = split_participants(raw, table)
            order = _CODE_ORDER[name]
            values[name] = tuple(sorted(set(codes), key=lambda c: order.get(c, len(order))))
            issues.extend(
                ParseIssue(name, part, f"participant type '{part}' is not in the vocabulary")
                for part in unknown
            )
            continue
        code = table.get(normalize_label(raw))
        if code is None:
            issues.append(
                ParseIssue(name, raw, f"value '{raw}' of '{name}' is not in the vocabulary")
            )
        elif name == "co_governance":
            values[name] = code == "true"
        else:
            values[name] = code
    for name in DESIGN_FIELDS:
        if name not in seen:
            issues.append(ParseIssue(name, None, f"label of '{name}' not found on the page"))
    return Design(values, issues, seen, shown)
