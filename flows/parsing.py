"""Parsing pages in bulk, safely: one bad page costs that page, never the run.

No Prefect here. The refresh parses each batch in its own process, on a thread beside the
event loop that fetches (``flows.pipeline``); ``latinno reparse`` parses the archive in its own
process too (fetching at a polite 2 requests/s, parsing is under 1% of a run's time).
``parse_pages`` never raises for a page: whatever parsing one page raises, even a bug, becomes a
``ParseFailure`` naming the page and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from latinno.errors import PageParseError
from latinno.marker import DEFAULT_MARKER, Marker
from latinno.record import CaseRecord
from latinno.vocabulary import Labels, build_labels
from parsers import parse_case

ParseInput = tuple[bytes, str, str | None]  # body, URL, HTTP charset


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A page that gave no record, and why (the reason is stored with the page's failure)."""

    url: str
    reason: str


ParseOutcome = CaseRecord | ParseFailure


@dataclass(frozen=True, slots=True)
class ParseSpec:
    """What parsing needs besides the page: plain, hashable values (labels are built once)."""

    extra_labels: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()
    marker: Marker = DEFAULT_MARKER

    @classmethod
    def of(
        cls,
        extra_labels: Mapping[str, Mapping[str, Sequence[str]]],
        marker: Marker | Sequence[str],
    ) -> ParseSpec:
        """``marker``: the rule (``settings.parser.rule()``), or the old list of classes."""
        if not isinstance(marker, Marker):
            marker = Marker.of_classes(tuple(marker))
        frozen = tuple(
            (group, tuple((target, tuple(labels)) for target, labels in sorted(targets.items())))
            for group, targets in sorted(extra_labels.items())
        )
        return cls(frozen, marker)

    def labels(self) -> Labels:
        return _labels_for(self.extra_labels)


_LABELS: dict[object, Labels] = {}


def _labels_for(extra: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...]) -> Labels:
    # Built once per process and spec: a run parses many batches with the same labels.
    labels = _LABELS.get(extra)
    if labels is None:
        labels = _LABELS[extra] = build_labels(
            {group: {target: list(v) for target, v in targets} for group, targets in extra}
        )
    return labels


def parse_pages(items: Sequence[ParseInput], spec: ParseSpec) -> list[ParseOutcome]:
    """Parse every page; a page that fails, whatever it raises, becomes a ``ParseFailure``."""
    labels = spec.labels()
    out: list[ParseOutcome] = []
    for body, url, charset in items:
        try:
            out.append(parse_case(body, url, charset=charset, labels=labels, marker=spec.marker))
        except PageParseError as exc:
            out.append(ParseFailure(url, exc.reason))
        except Exception as exc:  # a parser bug must cost one page, never the run
            out.append(ParseFailure(url, f"parser error: {type(exc).__name__}: {exc}"))
    return out
