"""Means, Ends and Policy cycle: every option is always listed; return only the marked ones.

docs/site.md: which options apply is shown by markup only, and that markup is unknown, so the marker
is a declared rule (``latinno.marker.Marker``, from ``parser.marker``; default: class
``active`` on the option or an ancestor up to the list). An option is named by its visible text
or, when it shows only an icon, by ``alt``/``title`` on the item or inside it; the rule is
looked for in the option's scope (``parsers.marker.scope_tops``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bs4.element import Tag

from latinno.marker import Marker
from latinno.vocabulary import OPTION_LISTS, OPTION_TERMS, Labels
from parsers.marker import carries, owners_of, scope_tops
from parsers.stream import Stream, common_ancestor

_CODE_ORDER: dict[str, dict[str, int]] = {
    name: {term.code: i for i, term in enumerate(terms)} for name, terms in OPTION_TERMS.items()
}


def _list_of(stop_candidates: list[Tag]) -> Tag | None:
    """The element holding all of one list's options; for a lone option, its parent."""
    distinct = list({id(e): e for e in stop_candidates}.values())
    if len(distinct) == 1:
        return distinct[0].parent
    return common_ancestor(distinct)


@dataclass(frozen=True, slots=True)
class OptionsRead:
    """One list as the page shows it: the codes read as applying, and how many options of
    the list were found at all (the evidence that the marker fits: none or all applying on
    most pages means it does not)."""

    codes: tuple[str, ...]
    found: int


def find_options(
    stream: Stream, start: int, end: int, labels: Labels, lists: Sequence[str] = OPTION_LISTS
) -> dict[str, list[tuple[str, Tag]]]:
    """Each list's options named in pieces ``start:end``: (code, naming element), page order.

    Options are matched by name against all three lists at once, so Means and Ends laid out
    side by side in one table (their items interleaved in reading order) still separate.
    """
    found: dict[str, list[tuple[str, Tag]]] = {name: [] for name in lists}
    for index in range(start, end):
        piece = stream.pieces[index]
        for name in lists:
            code = labels.option_codes[name].get(piece.key)
            if code is not None:
                found[name].append((code, piece.element))
                break
    return found


@dataclass(frozen=True, slots=True)
class OptionScopes:
    """One list on a page: the element holding its options, and each option's code and scope
    (the element whose subtree is that option's alone; ``parsers.marker.scope_tops``)."""

    holder: Tag | None
    options: tuple[tuple[str, Tag], ...]


def option_scopes(found: dict[str, list[tuple[str, Tag]]]) -> dict[str, OptionScopes]:
    """The scopes of every list found (``find_options``); lists with no option are left out."""
    owners = owners_of([(f"{n}:{c}", e) for n, items in found.items() for c, e in items])
    out: dict[str, OptionScopes] = {}
    for name, items in found.items():
        if not items:
            continue
        stop = _list_of([element for _, element in items])
        tops = scope_tops([(f"{name}:{c}", e) for c, e in items], stop, owners)
        out[name] = OptionScopes(
            stop, tuple((code, top) for (code, _), top in zip(items, tops, strict=True))
        )
    return out


def read_options(
    stream: Stream,
    start: int,
    end: int,
    labels: Labels,
    marker: Marker,
    lists: Sequence[str] = OPTION_LISTS,
) -> dict[str, OptionsRead | None]:
    """Marked option codes per list, in vocabulary order, from pieces ``start:end``; None for
    a list none of whose options is shown (every page lists them all: nothing is known then).
    """
    scopes = option_scopes(find_options(stream, start, end, labels, lists))
    result: dict[str, OptionsRead | None] = {}
    applying = marker.marks == "applying"
    for name in lists:
        scope = scopes.get(name)
        if scope is None:
            result[name] = None
            continue
        marked: dict[str, bool] = {}
        for code, top in scope.options:
            marked[code] = marked.get(code, False) or carries(top, marker)
        codes = {code for code, hit in marked.items() if hit == applying}
        order = _CODE_ORDER[name]
        result[name] = OptionsRead(tuple(sorted(codes, key=order.__getitem__)), len(marked))
    return result
