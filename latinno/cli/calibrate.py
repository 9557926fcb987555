"""``latinno calibrate``: learn from the site's markup how it marks the options that apply.

Needs no orchestration and no warehouse: never imports Prefect or DuckDB. Learning is
``parsers.calibration`` (pure); fetching is ``latinno.cli.calibrate_sample``; writing the rule
is ``latinno.cli.config_edit``.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from latinno.cli.app import ConfigOption, app, settings_for
from latinno.config import DEFAULT_CONFIG_PATH, Settings
from latinno.errors import LatinnoError, PageParseError
from latinno.marker import Marker
from latinno.vocabulary import OPTION_LISTS

if TYPE_CHECKING:
    from latinno.record import CaseRecord
    from latinno.vocabulary import Labels
    from parsers.calibration import Candidate, Learned
    from parsers.case_page import PageOptions

Page = tuple[bytes, str]
SAMPLES = 3

_HELP = (
    "Learn how the site marks the Means, Ends and Policy-cycle options that apply, from a "
    "small polite sample of its pages (robots.txt, rate and concurrency as configured; the "
    "sitemap when offered, else the first ids of a few country prefixes) or from saved pages, "
    "and print the evidence: the rule, how many pages and options it explains, what it reads "
    "on three sample cases, labels it could not place. --write saves the rule as "
    "parser.marker in the config file (comments and order kept). Exit 1 without writing when "
    "the markup does not say which side applies.\n\n"
    "Example: latinno calibrate --pages 30, then latinno calibrate --write; offline: "
    "latinno calibrate saved/*.html"
)


def _say(line: str = "") -> None:
    sys.stdout.buffer.write(line.encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


def _readings(record: CaseRecord) -> list[str]:
    return [
        f"{n}: {', '.join(getattr(record, n)) or '(none)'}"
        if n in record.sections_present
        else f"{n}: (not on the page)"
        for n in OPTION_LISTS
    ]


def _uniform_pages(records: list[CaseRecord]) -> str:
    parts = []
    for name in OPTION_LISTS:
        counts = [c for r in records for c in r.option_counts if c.list == name]
        uniform = sum(1 for c in counts if c.applying in (0, c.found))
        parts.append(f"{name} {uniform} of {len(counts)}")
    return ", ".join(parts)


def _read_sample(pages: list[Page], labels: Labels) -> tuple[list[PageOptions], list[Page]]:
    from parsers.case_page import page_options

    sample: list[PageOptions] = []
    kept: list[Page] = []
    for body, url in pages:
        try:
            sample.append(page_options(body, url, labels=labels))
            kept.append((body, url))
        except PageParseError:
            continue
    return sample, kept


def _candidate(c: Candidate) -> str:
    said = {"applying": "says applying", "not_applying": "says NOT applying", None: "says nothing"}
    return f"{c.rule().describe().split(' marks ')[0]} ({c.pages} pages, {said[c.marks]})"


def _print_learned(
    learned: Learned, pages: list[Page], sample: list[PageOptions], labels: Labels
) -> None:
    from parsers.calibration_evidence import evidence

    rule = learned.rule
    assert rule is not None
    found = evidence(pages, sample, rule, labels)
    _say(f"Learnt: {rule.describe()}")
    _say(
        f"  its signal is on {found.signal_pages} of {len(sample)} pages "
        f"({found.options} options on them)"
    )
    for name, (shown, mean, none) in found.lists.items():
        _say(f"  {name}: shown on {shown} pages, {mean:.1f} applying on average, {none} with none")
    others = [c for c in learned.candidates if c is not learned.candidate]
    if others:
        _say("  other signals: " + "; ".join(_candidate(c) for c in others[:3]))
    _say("Sample cases, as read with it:")
    for record in found.records[:SAMPLES]:
        _say(f"  {record.case_id} ({record.lang}) {record.title or ''}")
        for line in _readings(record):
            _say(f"    {line}")


def _print_undecided(candidate: Candidate, pages: list[Page], labels: Labels) -> None:
    from parsers.calibration_evidence import read_with

    on = read_with(pages[:SAMPLES], candidate.rule("applying"), labels)
    off = read_with(pages[:SAMPLES], candidate.rule("not_applying"), labels)
    _say(f"Found: {_candidate(candidate)} splits the options, but its words do not say which")
    _say("side applies. The two readings, side by side:")
    width = 48
    _say(f"  {'if it marks applying options':<{width}} | if it marks NOT applying options")
    for a, b in zip(on, off, strict=True):
        _say(f"  {a.case_id} ({a.lang}) {a.title or ''}")
        for left, right in zip(_readings(a), _readings(b), strict=True):
            _say(f"    {left:<{width - 2}} | {right}")


def _pages(settings: Settings, paths: list[Path], count: int) -> tuple[list[Page], str]:
    from latinno.cli.calibrate_sample import fetched_pages, saved_pages

    if not paths:
        pages, how = fetched_pages(settings, count)
        return pages, f"{settings.source.base_url} ({how})"
    pages, notes = saved_pages(paths, settings.source.base_url)
    for note in notes:
        print(f"latinno: skipped {note}", file=sys.stderr)
    return pages, f"{len(paths)} saved files"


def _write(config: Path | None, rule: Marker, pages: int, where: str) -> None:
    from latinno.cli.config_edit import write_marker

    path = config or DEFAULT_CONFIG_PATH
    day = datetime.now(UTC).date().isoformat()
    write_marker(path, rule, f"on {day} from {pages} pages: {rule.describe()}")
    _say(
        f"Written: parser.marker in {path}. Next: latinno refresh --limit 20, then latinno refresh."
    )


@app.command(help=_HELP)
def calibrate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Saved case pages to learn from, instead of fetching.",
            metavar="[PAGE.html]...",
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Site to sample (overrides source.base_url).")
    ] = None,
    languages: Annotated[
        str | None, typer.Option("--languages", help="Comma-separated: en,es,pt.")
    ] = None,
    pages: Annotated[int, typer.Option("--pages", help="Case pages to sample, at most.")] = 30,
    write: Annotated[
        bool, typer.Option("--write", help="Save the rule as parser.marker in the config file.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    from latinno.vocabulary import build_labels
    from parsers.calibration import learn

    langs = [part.strip() for part in languages.split(",") if part.strip()] if languages else None
    settings = settings_for(config, source__base_url=base_url, source__languages=langs)
    if pages < 1:
        raise LatinnoError(f"--pages {pages}: expected at least 1")
    labels = build_labels(settings.parser.extra_labels)
    raw, where = _pages(settings, list(paths or []), pages)
    sample, kept = _read_sample(raw, labels)
    if not sample:
        raise LatinnoError(
            f"calibrate: none of the {len(raw)} pages from {where} is a case page; nothing learnt"
        )
    _say(f"Calibrating on {len(sample)} case pages from {where}.")
    _report_current(settings.parser.rule(), kept, labels)
    learned = learn(sample)
    _report_unplaced(sample, labels)
    if learned.candidate is None:
        raise LatinnoError(
            "calibrate: no class, attribute, image or style tells the options of a list apart "
            "on these pages; nothing written. Check a page with `latinno parse` and the "
            "labels above"
        )
    if learned.rule is None:
        _print_undecided(learned.candidate, kept, labels)
        raise LatinnoError(
            f"calibrate: the markup does not say whether {_candidate(learned.candidate)} marks "
            "applying or not-applying options; nothing written. Pick the reading that fits the "
            "cases above and set parser.marker by hand (marks: applying or not_applying)"
        )
    _print_learned(learned, kept, sample, labels)
    if write:
        _write(config, learned.rule, len(sample), where)
    else:
        _say("Check the sample cases against the site; then run again with --write to save it.")


def _report_current(rule: Marker, pages: list[Page], labels: Labels) -> None:
    from parsers.calibration_evidence import read_with

    records = read_with(pages, rule, labels)
    _say(f"Configured parser.marker: {rule.describe()}")
    _say(f"  lists read with none or all applying: {_uniform_pages(records)} pages")


def _report_unplaced(sample: list[PageOptions], labels: Labels) -> None:
    from parsers.calibration_evidence import unplaced

    lines = unplaced(sample, labels)
    if not lines:
        _say("Labels not placed: none (every heading and option seen was recognized).")
        return
    _say("Labels not placed (add the entry to config.yaml if the guess is right):")
    for line in lines[:20]:
        _say(f"  {line}")
