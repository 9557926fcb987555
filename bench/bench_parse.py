"""Parse benchmark: pages/s of ``parse_case`` on every fixture page, one core, against bare bs4.

    python bench/bench_parse.py [--rounds 15] [--no-write]

In the same run and on the same bytes it times:

- bare ``BeautifulSoup(body, "lxml")``: bs4 building the whole tree, no extraction. The target
  is measured against it (issue 8): ``parse_case`` reaches at least 50% of its pages/s;
- the tree ``parse_case`` builds (``parsers.soup.build_soup`` on the decoded text: bs4 with the
  lxml builder, strained to ``<body>``, ``<link>`` and ``<base>``), to show what the strainer
  saves and what the extraction costs on top;
- raw ``lxml.html.fromstring``, the floor of any lxml-based parser, for reference.

Rounds are interleaved so that noise from other processes hits all of them alike; each figure
is the median over rounds. ``--site N`` also times one pass of ``parse_case`` over a generated
site of N cases (English pages, ``latinno.sitemodel.generate``), the parsing share of a
``latinno reparse``. Prints a table and appends it to bench/results/parse.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _machine import describe_machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import lxml.html  # noqa: E402
from bs4 import BeautifulSoup  # noqa: E402

from latinno.config import load_settings  # noqa: E402
from latinno.sitemodel.generate import generate_site  # noqa: E402
from latinno.vocabulary import build_labels  # noqa: E402
from parsers import PARSER_VERSION, parse_case  # noqa: E402
from parsers.decoding import decode_body  # noqa: E402
from parsers.soup import build_soup  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "parse.md"
HEADER = """# Parse benchmark (`python bench/bench_parse.py`)

Target (issue 8): `parse_case` reaches at least 50% of the pages/s of bare
`BeautifulSoup(body, "lxml")` (tree building alone) on the fixture pages, one core, measured in
the same run on the same bytes, with raw `lxml.html.fromstring` beside them.

"""
TARGET = 0.50
Page = tuple[bytes, str]


def load_pages() -> list[Page]:
    pages = []
    for path in sorted((ROOT / "fixtures" / "html").glob("*/case/*/index.html")):
        lang, _, case_id = path.parts[-4:-1]
        pages.append((path.read_bytes(), f"https://latinno.net/{lang}/case/{case_id}/"))
    if not pages:
        raise SystemExit("no fixture pages under fixtures/html/{lang}/case/{id}/index.html")
    return pages


def time_round(fn: Callable[[bytes, str], object], pages: list[Page]) -> float:
    """Seconds for one pass over all pages."""
    start = time.perf_counter()
    for body, url in pages:
        fn(body, url)
    return time.perf_counter() - start


def measure(rounds: int) -> tuple[dict[str, float], int, float]:
    """Median pages/s per contender, the page count and the total KB."""
    settings = load_settings(ROOT / "config.yaml")
    labels = build_labels(settings.parser.extra_labels)
    marker = settings.parser.rule()
    pages = load_pages()

    contenders: dict[str, Callable[[bytes, str], object]] = {
        "lxml": lambda body, url: lxml.html.fromstring(body),
        "bs4": lambda body, url: BeautifulSoup(body, "lxml"),
        "strained": lambda body, url: build_soup(decode_body(body)[0], url),
        "parse_case": lambda body, url: parse_case(body, url, labels=labels, marker=marker),
    }
    for fn in contenders.values():  # warm-up: imports, caches
        time_round(fn, pages)
    timings: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            timings[name].append(time_round(fn, pages))
    rate = {name: len(pages) / statistics.median(values) for name, values in timings.items()}
    return rate, len(pages), sum(len(body) for body, _ in pages) / 1024


def time_site(cases: int) -> str:
    """One line: one ``parse_case`` pass over a freshly generated site of ``cases`` cases."""
    settings = load_settings(ROOT / "config.yaml")
    labels = build_labels(settings.parser.extra_labels)
    marker = settings.parser.rule()
    with tempfile.TemporaryDirectory() as tmp:
        generate_site(Path(tmp), total=cases, seed=0, languages=("en",))
        pages = [
            (path.read_bytes(), f"https://latinno.net/en/case/{path.parts[-2]}/")
            for path in sorted(Path(tmp).glob("en/case/*/index.html"))
        ]
    start = time.perf_counter()
    for body, url in pages:
        parse_case(body, url, labels=labels, marker=marker)
    seconds = time.perf_counter() - start
    return (
        f"Generated site (`latinno.sitemodel.generate`, seed 0): `parse_case` over {len(pages)} "
        f"pages "
        f"in **{seconds:.1f} s** on one core ({len(pages) / seconds:.0f} pages/s), one pass."
    )


def report(rate: dict[str, float], n: int, total_kb: float, rounds: int, load: float) -> str:
    ratio = rate["parse_case"] / rate["bs4"]
    verdict = "meets" if ratio >= TARGET else "MISSES"
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## {now} — parser {PARSER_VERSION}",
        "",
        f"- machine: {describe_machine()} (benchmark pinned to one core); load average "
        f"{load:.1f} at the start (other jobs share the machine: compare ratios, not absolutes)",
        f"- pages: {n} fixture pages, {total_kb:.0f} KB, mean {total_kb / n:.1f} KB; "
        f"median of {rounds} interleaved rounds",
        "",
        "| what | pages/s | ms/page | vs bare bs4 | vs raw lxml |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label in (
        ("bs4", 'bare `BeautifulSoup(body, "lxml")`, tree only (baseline)'),
        ("strained", "bs4 tree as `parse_case` builds it (decoded, strained), tree only"),
        ("parse_case", "`parsers.parse_case` (decode + strained bs4 + extraction)"),
        ("lxml", "raw `lxml.html.fromstring` (reference)"),
    ):
        lines.append(
            f"| {label} | {rate[name]:.0f} | {1000 / rate[name]:.2f} | "
            f"{rate[name] / rate['bs4']:.0%} | {rate[name] / rate['lxml']:.0%} |"
        )
    lines += [
        "",
        f"Ratio parse_case / bare bs4: **{ratio:.0%}** ({verdict} the 50% target); "
        f"parse_case / raw lxml: {rate['parse_case'] / rate['lxml']:.0%}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (median reported)")
    parser.add_argument("--site", type=int, default=0, help="also time a generated site of N")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):  # one core, as the target says
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rate, n, total_kb = measure(args.rounds)
    text = report(rate, n, total_kb, args.rounds, load)
    if args.site:
        text += time_site(args.site) + "\n"
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        new = not RESULTS.exists()
        with RESULTS.open("a", encoding="utf-8") as out:
            if new:
                out.write(HEADER)
            out.write(text + "\n")


if __name__ == "__main__":
    main()
