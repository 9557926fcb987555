"""Parsing pages in bulk, safely: one bad page costs that page, never the run.

No Prefect here. The refresh parses each batch in its own process, on a thread beside the
event loop that fetches (``flows.pipeline``); ``latinno reparse`` parses the archive in its own
process too (fetching at a polite 2 requests/s, parsing is under 1% of a run's time).
``parse_pages`` never raises for a page: whatever parsing one page raises, even a bug, becomes a
``ParseFailure`` naming the page and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from latinno.config_sections import ParserSettings
from latinno.errors import PageParseError
from latinno.marker import Marker
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
    """What parsing needs besides the page, derived once per run from config.yaml's ``parser``
    section: the labels (the vocabulary's and ``extra_labels``) and the marker rule
    (``parser.marker``, or the older ``active_classes``). Only these derived values, not the
    section: the parser takes them as plain arguments and never sees configuration."""

    labels: Labels
    marker: Marker

    @classmethod
    def of(cls, parser: ParserSettings) -> ParseSpec:
        """Built once per run: a run parses many batches with the same labels."""
        return cls(build_labels(parser.extra_labels), parser.rule())


def parse_pages(items: Iterable[ParseInput], spec: ParseSpec) -> list[ParseOutcome]:
    """Parse every page; a page that fails, whatever it raises, becomes a ``ParseFailure``.
    ``items`` may be a generator: a page need not be in memory before its turn."""
    labels = spec.labels
    out: list[ParseOutcome] = []
    for body, url, charset in items:
        try:
            out.append(parse_case(body, url, charset=charset, labels=labels, marker=spec.marker))
        except PageParseError as exc:
            out.append(ParseFailure(url, exc.reason))
        except Exception as exc:  # a parser bug must cost one page, never the run
            out.append(ParseFailure(url, f"parser error: {type(exc).__name__}: {exc}"))
    return out
