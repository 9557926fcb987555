"""Learning the option marker from a sample of pages (``latinno calibrate``), from markup alone.

Pure: pages in, a rule (``latinno.marker.Marker``) or the reason there is none out. No network,
Prefect or DuckDB; the command fetches or reads the pages and prints what this finds.

Every real page lists every option; which apply is shown by some signal in each option's scope
(``parsers.marker``): a class token, an attribute value, a word of an image file name, an
inline style value. A signal is a *candidate* when

- it splits the options of one list on one page (some carry it, some do not), and
- its split varies across pages for the same option (so it is not that option's own icon or
  class, which every page shows the same).

The candidate seen on the most pages wins (then the one splitting the most lists). Which side
applies is read from the markup's own words (on/off, true/false, checked, active/inactive,
disabled, check/times, grey, grayscale...) or, for an opacity, from which side is more opaque.
Where the words say nothing, there is no rule: the caller shows both readings and writes
nothing. Labels in a language nobody has seen are not learnt here (``unplaced`` points at them).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from latinno.marker import Marker, Marks
from parsers.case_page import PageOptions
from parsers.marker import Signal, scope_elements, signals, words

_POSITIVE = (
    "active on true yes checked selected enabled check checkmark tick ticked ok applies applied "
    "apply filled full colored coloured color colour highlighted highlight chosen marked "
    "current y success positive strong b mark em ins"
)
_NEGATIVE = (
    "inactive off false no not unchecked unselected disabled times close cross x grey gray "
    "grayscale greyscale blur sepia empty blank muted faded dim dimmed hidden unmarked minus "
    "n cancel remove deselected notapplicable na del s strike"
)
# The markup's own words for the two sides (a word of a class, value or file name).
POSITIVE = frozenset(_POSITIVE.split())
NEGATIVE = frozenset(_NEGATIVE.split())
# Candidates seen on at least this share of the best one's pages compete on their words.
NEAR = 0.9


@dataclass
class _Stats:
    """What one candidate signal does across the sample."""

    pages: set[int] = field(default_factory=set)
    splits: int = 0
    # (list, code) -> [pages with the signal on that option, pages showing the option]
    per_option: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def varies(self) -> bool:
        return any(0 < on < seen for on, seen in self.per_option.values())


@dataclass(frozen=True, slots=True)
class Candidate:
    feature: Signal
    pages: int
    splits: int
    marks: Marks | None  # which side the signal marks, when the markup's words say so

    def rule(self, marks: Marks | None = None) -> Marker:
        kind, name, value = self.feature
        side = marks or self.marks or "applying"
        return Marker(kind, (value,), name or None, side)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Learned:
    """The outcome: ``rule`` when a candidate was found and its side decided; ``candidate`` is
    the best signal found (decided or not); ``candidates`` the runners-up, best first."""

    rule: Marker | None
    candidate: Candidate | None
    candidates: tuple[Candidate, ...]
    pages: int


def features(page: PageOptions) -> list[tuple[str, str, frozenset[Signal]]]:
    """(list, code, signals) of every option of every list on the page. An image file name
    counts by its words (``deliberation-on.svg``: deliberation, on, svg), so one word can mark
    every option's own icon."""
    out: list[tuple[str, str, frozenset[Signal]]] = []
    for name, scopes in page.lists.items():
        for code, top in scopes.options:
            found: set[Signal] = set()
            for element in scope_elements(top):
                for kind, attr, value in signals(element):
                    if kind == "image":
                        found.update(("image", "", word) for word in words(value))
                    else:
                        found.add((kind, attr, value))
            out.append((name, code, frozenset(found)))
    return out


def _stats(pages: list[list[tuple[str, str, frozenset[Signal]]]]) -> dict[Signal, _Stats]:
    stats: dict[Signal, _Stats] = defaultdict(_Stats)
    for index, options in enumerate(pages):
        by_list: dict[str, list[frozenset[Signal]]] = defaultdict(list)
        for name, _code, found in options:
            by_list[name].append(found)
        for found_lists in by_list.values():
            counts = Counter(f for found in found_lists for f in found)
            for feature, on in counts.items():
                stats[feature].pages.add(index)
                if on < len(found_lists):
                    stats[feature].splits += 1
        for name, code, found in options:
            for feature in found:
                stats[feature].per_option.setdefault((name, code), [0, 0])[0] += 1
    for index, options in enumerate(pages):
        for name, code, _found in options:
            for stat in stats.values():
                if index in stat.pages:
                    stat.per_option.setdefault((name, code), [0, 0])[1] += 1
    return stats


def judge(found: Iterable[str]) -> Marks | None:
    """Which side words like these mark: a negative word wins over a positive one
    (``not-selected``)."""
    found = set(found)
    if found in ({"1"}, {"0"}):  # a value that is only a number: 1 or 0
        return "applying" if found == {"1"} else "not_applying"
    if found & NEGATIVE:
        return "not_applying"
    if found & POSITIVE:
        return "applying"
    return None


def _number(value: str) -> float | None:
    try:
        return float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
    except ValueError:
        return None


def _opacity_side(
    feature: Signal, pages: list[list[tuple[str, str, frozenset[Signal]]]]
) -> Marks | None:
    """An opacity marks applying options when it is higher than the other options' (an
    option without one is fully opaque)."""
    mine = _number(feature[2])
    if mine is None:
        return None
    others: list[float] = []
    for options in pages:
        for _name, _code, found in options:
            if feature in found:
                continue
            values = [_number(v) for k, n, v in found if k == "style" and n == "opacity"]
            others.extend(v for v in values if v is not None)
            if not values:
                others.append(1.0)
    if not others:
        return None
    other = sum(others) / len(others)
    if mine == other:
        return None
    return "applying" if mine > other else "not_applying"


def side_of(feature: Signal, pages: list[list[tuple[str, str, frozenset[Signal]]]]) -> Marks | None:
    """Which side ``feature`` marks, from the markup's words (None: they do not say)."""
    kind, name, value = feature
    if kind == "style" and name == "opacity":
        return _opacity_side(feature, pages)
    if kind == "attribute" and value == name:  # a boolean attribute: its name says it
        return judge(words(name))
    if kind == "attribute":
        return judge(words(value)) or (judge(words(name)) if value in ("", name) else None)
    return judge(words(value))


def learn(sample: list[PageOptions]) -> Learned:
    """The rule that tells applying options on these pages (see the module docstring)."""
    pages = [features(page) for page in sample]
    stats = _stats(pages)
    ranked = sorted(
        ((f, s) for f, s in stats.items() if s.splits and s.varies()),
        key=lambda item: (-len(item[1].pages), -item[1].splits, item[0]),
    )
    if not ranked:
        return Learned(None, None, (), len(sample))
    best_pages = len(ranked[0][1].pages)
    near = [(f, s) for f, s in ranked if len(s.pages) >= NEAR * best_pages]
    candidates = tuple(Candidate(f, len(s.pages), s.splits, side_of(f, pages)) for f, s in near[:8])
    decided = [c for c in candidates if c.marks is not None]
    # Among equals, a signal on the applying side reads most directly (aria-checked=true).
    decided.sort(key=lambda c: (-c.pages, -c.splits, c.marks != "applying"))
    if decided:
        return Learned(decided[0].rule(), decided[0], candidates, len(sample))
    return Learned(None, candidates[0], candidates, len(sample))
