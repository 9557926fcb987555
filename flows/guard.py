"""The site-drift guard: a run that would empty what the warehouse knows is held, not applied.

When the site is redesigned, parsing keeps "working" but yields empty sections. Before a run's
records replace the ones we hold, the guard compares them, case by case (known active cases in
the primary language): the share of pages that no longer parse, and for each content field the
share of cases that had a value and now have none. Above the limits (once ``min_pages`` pages
were compared) the run is held: its pages are archived, but cases, bridges and history are not
touched. Until it can judge, the guard keeps a run's first batches waiting (at most
``buffer_pages`` pages); a run with too few known cases to compare is applied.

Withdrawals are judged apart, against every known active case rather than a sample, and
whenever they happen: a run that would withdraw more than ``max_withdrawal_share`` of them
(and more than one) is held from that batch on, so a site answering 404 everywhere (maintenance,
a routing bug) never empties the warehouse; at most that share is withdrawn before the hold.

The marker check (``MarkerEvidence``, issue 19) needs nothing known: when more than
``max_uniform_list_share`` of the pages a run parsed read an option list with none or all of
its options applying (judged at ``min_pages`` pages, or at the end of a run of at least
``min_marker_pages``), the marker does not fit the site and the run is held the same way,
a first run into a fresh warehouse included.

No Prefect here: the refresh flow and ``latinno reparse`` use it alike.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from latinno.config_sections import GuardSettings
from latinno.record import CASE_COLUMNS, CaseRecord

W = TypeVar("W")
Mode = Literal["apply", "hold"]

# Content fields compared (the sections list says what the others say already).
FIELDS: tuple[str, ...] = tuple(c.name for c in CASE_COLUMNS if c.kind != "sections")


def filled(values: Mapping[str, Any]) -> frozenset[str]:
    """The content fields that hold a value: not None, not empty text, not an empty list."""
    out = []
    for name in FIELDS:
        value = values.get(name)
        if value is None or (isinstance(value, str | tuple | list) and not value):
            continue
        out.append(name)
    return frozenset(out)


@dataclass
class MarkerEvidence:
    """Whether the marker tells what applies (issue 19): every real page lists every option,
    so a list read with none or all of its options applying on most pages means the marker
    in use does not fit the site. Counted over every page a run parsed, known or not, so a
    first run into a fresh warehouse is judged too."""

    pages: int = 0
    shown: Counter[str] = field(default_factory=Counter)
    uniform: Counter[str] = field(default_factory=Counter)

    def observe(self, record: CaseRecord) -> None:
        self.pages += 1
        for count in record.option_counts:
            if count.found:
                self.shown[count.list] += 1
                if count.applying in (0, count.found):
                    self.uniform[count.list] += 1

    def findings(self, limits: GuardSettings, marker: str) -> list[tuple[float, str]]:
        """One (worst share, phrase) naming every list read uniformly on more than the
        allowed share of pages, or nothing."""
        over = [
            (self.uniform[name] / shown, name, shown)
            for name, shown in self.shown.items()
            if shown and self.uniform[name] / shown > limits.max_uniform_list_share
        ]
        if not over:
            return []
        lists = ", ".join(
            f"{name} on {self.uniform[name]} of {shown} pages ({share:.0%})"
            for share, name, shown in over
        )
        return [
            (
                max(share for share, _, _ in over),
                f"{lists} read with none or all of the list's options applying under "
                f"parser.marker ({marker}): the marker does not fit the site, run "
                "`latinno calibrate`",
            )
        ]


@dataclass
class Drift:
    """What a run would lose, counted over the cases compared."""

    compared: int = 0
    parse_failed: int = 0
    had: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)

    def findings(self, limits: GuardSettings) -> list[str]:
        """One phrase per limit exceeded, worst first; empty when the run may be applied."""
        return [text for _, text in sorted(self.ranked(limits), key=lambda item: -item[0])]

    def ranked(self, limits: GuardSettings) -> list[tuple[float, str]]:
        """(share, phrase) per limit exceeded."""
        found: list[tuple[float, str]] = []
        if self.compared and self.parse_failed / self.compared > limits.max_parse_failure_share:
            share = self.parse_failed / self.compared
            found.append((share, f"{self.parse_failed} of {self.compared} pages no longer parse"))
        for name, had in self.had.items():
            lost = self.lost[name]
            if had and lost / had > limits.max_field_loss_share:
                found.append(
                    (lost / had, f"{name} lost on {lost} of {had} cases ({lost / had:.1%})")
                )
        return found


class DriftGuard(Generic[W]):
    """Decides, once it has seen enough, whether a run's writes are applied or held.

    ``limits`` is config.yaml's ``guard`` section as it is (a frozen pydantic model): every
    field of it is a limit applied here and none is derived, so no copy of it is kept."""

    def __init__(
        self,
        before: Mapping[int, frozenset[str]],
        limits: GuardSettings,
        *,
        lang: str,
        accept: bool = False,
        buffer_pages: int = 800,
        marker: str = "",
    ) -> None:
        self.before = before
        self.marker = marker or "as configured"
        self.evidence = MarkerEvidence()
        self.limits = limits
        self.lang = lang
        self.accept = accept
        self.buffer_pages = buffer_pages
        self.drift = Drift()
        self.mode: Mode | None = None
        self.findings: list[str] = []
        self._waiting: list[W] = []
        self._waiting_pages = 0
        self._lock = threading.Lock()
        self._withdrawn: set[int] = set()
        self._applied = False  # some batch was written as applied before a late hold
        self._withdrawal_note: str | None = None

    def _withdrawals(self, case_ids: Iterable[int]) -> None:
        """Count the known cases a batch would withdraw; past the limit, hold from here on."""
        self._withdrawn.update(cid for cid in case_ids if cid in self.before)
        withdrawn, known = len(self._withdrawn), len(self.before)
        if withdrawn < 2 or withdrawn / known <= self.limits.max_withdrawal_share:
            return
        self._withdrawal_note = (
            f"{withdrawn} of {known} known cases would be withdrawn ({withdrawn / known:.1%})"
        )
        self.mode = "hold"

    def admit(
        self,
        records: Iterable[CaseRecord],
        failed_ids: Iterable[int],
        writes: W,
        pages: int,
        withdrawn: Iterable[int] = (),
    ) -> tuple[Mode, list[W]]:
        """Count a batch, and say what may be written now and how (applied or held);
        ``withdrawn``: the cases the batch would withdraw."""
        with self._lock:
            self._observe(records, failed_ids)
            self._withdrawals(withdrawn)
            if self.mode is not None:
                ready, self._waiting = [*self._waiting, writes], []
            else:
                self._waiting.append(writes)
                self._waiting_pages += pages
                if self.drift.compared >= self.limits.min_pages or self._marker_unfit():
                    self._decide()
                elif self._waiting_pages >= self.buffer_pages:
                    self._decide(final=True)  # too few known cases to compare: the marker decides
                else:
                    return "apply", []
                ready, self._waiting = self._waiting, []
            self._applied |= self._mode() == "apply"
            return self._mode(), ready

    def flush(self) -> tuple[Mode, list[W]]:
        """At the end of the run: the writes still waiting, and how to write them."""
        with self._lock:
            if self.mode is None:
                self._decide(final=True)  # a small run: judged on what it has
            ready, self._waiting = self._waiting, []
            return self._mode(), ready

    @property
    def held(self) -> bool:
        return self._mode() == "hold"

    def message(self, *, what: str = "refresh") -> str:
        """The one line a held run ends with."""
        applied = "nothing applied" if not self._applied else "the rest not applied"
        if self._withdrawal_note and not self.findings:
            return (
                f"held: {self._withdrawal_note}; {applied}. Check that the site serves its case "
                f"pages, then refresh again, or apply anyway with `latinno {what} --accept-drift`"
            )
        found = [self._withdrawal_note, *self.findings] if self._withdrawal_note else self.findings
        return (
            f"held: {'; '.join(found)}; {applied}. Check the site's markup "
            "(`latinno parse`), adjust parser settings, then `latinno reparse`, or apply anyway "
            f"with `latinno {what} --accept-drift`"
        )

    def _mode(self) -> Mode:
        return "hold" if self.mode == "hold" and not self.accept else "apply"

    def _marker_unfit(self) -> bool:
        evidence = self.evidence
        return evidence.pages >= self.limits.min_pages and bool(
            evidence.findings(self.limits, self.marker)
        )

    def _decide(self, *, final: bool = False) -> None:
        """Hold or apply. The drift findings need ``min_pages`` known cases compared; the
        marker's need ``min_pages`` pages, or at the end ``min_marker_pages``."""
        if self.mode == "hold":
            return  # held already, by withdrawals
        limits = self.limits
        found: list[tuple[float, str]] = []
        if self.drift.compared >= limits.min_pages:
            found += self.drift.ranked(limits)
        marker_pages = limits.min_marker_pages if final else limits.min_pages
        if self.evidence.pages >= marker_pages:
            found += self.evidence.findings(limits, self.marker)
        self.findings = [text for _, text in sorted(found, key=lambda item: -item[0])]
        self.mode = "hold" if self.findings else "apply"

    def _observe(self, records: Iterable[CaseRecord], failed_ids: Iterable[int]) -> None:
        drift = self.drift
        for record in records:
            self.evidence.observe(record)
            had = self.before.get(record.case_id)
            if had is None or record.lang != self.lang:
                continue
            drift.compared += 1
            now = filled({name: getattr(record, name) for name in FIELDS})
            drift.had.update(had)
            drift.lost.update(had - now)
        for case_id in failed_ids:
            if case_id in self.before:
                drift.compared += 1
                drift.parse_failed += 1


def before_run(contents: Mapping[int, Mapping[str, Any]]) -> dict[int, frozenset[str]]:
    """What each known case held before the run: its filled content fields."""
    return {case_id: filled(values) for case_id, values in contents.items()}
