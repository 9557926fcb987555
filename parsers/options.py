"""Means, Ends and Policy cycle: every option is always listed; return only the marked ones.

docs/site.md assumption (configurable): an option applies when its element, or an ancestor of it up
to the list, carries one of ``active_classes``. An option is named by its visible text or, when
it shows only an icon, by ``alt``/``title`` on the item or inside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bs4.element import Tag

from latinno.vocabulary import OPTION_LISTS, OPTION_TERMS, Labels
from parsers.stream import Stream, attribute, common_ancestor

_CODE_ORDER: dict[str, dict[str, int]] = {
    name: {term.code: i for i, term in enumerate(terms)} for name, terms in OPTION_TERMS.items()
}


def _has_class(element: Tag, wanted: frozenset[str]) -> bool:
    classes = attribute(element, "class")
    return classes is not None and not wanted.isdisjoint(classes.split())


def is_marked(element: Tag, stop: Tag | None, wanted: frozenset[str]) -> bool:
    """True when ``element`` or an ancestor below ``stop`` (the list) carries a wanted class."""
    node: Tag | None = element
    while node is not None and node is not stop:
        if _has_class(node, wanted):
            return True
        node = node.parent
    return False


def _list_of(stop_candidates: list[Tag]) -> Tag | None:
    """The element holding all of one list's options; for a lone option, its parent."""
    distinct = list({id(e): e for e in stop_candidates}.values())
    if len(distinct) == 1:
        return distinct[0].parent
    return common_ancestor(distinct)


def read_options(
    stream: Stream,
    start: int,
    end: int,
    labels: Labels,
    active_classes: Iterable[str],
    lists: Sequence[str] = OPTION_LISTS,
) -> dict[str, tuple[str, ...] | None]:
    """Marked option codes per list, in vocabulary order, from pieces ``start:end``; None for
    a list none of whose options is shown (every page lists them all: nothing is known then).

    Options are matched by name against all three lists at once, so Means and Ends laid out
    side by side in one table (their items interleaved in reading order) still separate.
    """
    wanted = frozenset(active_classes)
    found: dict[str, list[tuple[str, Tag]]] = {name: [] for name in lists}
    for index in range(start, end):
        piece = stream.pieces[index]
        for name in lists:
            code = labels.option_codes[name].get(piece.key)
            if code is not None:
                found[name].append((code, piece.element))
                break
    result: dict[str, tuple[str, ...] | None] = {}
    for name, items in found.items():
        if not items:
            result[name] = None
            continue
        stop = _list_of([element for _, element in items])
        codes = {code for code, element in items if is_marked(element, stop, wanted)}
        order = _CODE_ORDER[name]
        result[name] = tuple(sorted(codes, key=order.__getitem__))
    return result
