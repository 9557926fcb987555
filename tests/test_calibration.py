"""Learning the option marker from markup alone (parsers.calibration), offline: the fixture
pages marked in every way the site model knows, and in ways it does not (the mechanism must
be general: checks outside the project use kinds nobody listed), read back exactly."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from bs4.element import Tag

from latinno.config import load_settings
from latinno.marker import Marker
from latinno.sitemodel.marking import MARKINGS, remark
from latinno.vocabulary import build_labels
from parsers.calibration import learn
from parsers.calibration_evidence import read_with
from parsers.case_page import page_options

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted((REPO / "fixtures" / "html").glob("en/case/*/index.html"))[:24]
LABELS = build_labels(load_settings(REPO / "config.yaml", env={}).parser.extra_labels)
LISTS = ("means", "ends", "policy_cycle")
Mark = Callable[[BeautifulSoup, Tag, bool], None]


def url_of(page: Path) -> str:
    lang, _, case_id = page.parts[-4:-1]
    return f"https://latinno.net/{lang}/case/{case_id}/"


def marked(marking: str | Mark | None) -> list[tuple[bytes, str]]:
    return [
        (p.read_bytes() if marking is None else remark(p.read_bytes(), marking), url_of(p))
        for p in PAGES
    ]


def learnt(pages: list[tuple[bytes, str]]) -> Marker | None:
    return learn([page_options(body, url, labels=LABELS) for body, url in pages]).rule


def assert_reads_every_page_exactly(pages: list[tuple[bytes, str]], rule: Marker) -> None:
    records = read_with(pages, rule, LABELS)
    assert len(records) == len(PAGES)
    for record, page in zip(records, PAGES, strict=True):
        want = json.loads((page.parent / "expected.json").read_text("utf-8"))
        assert {n: list(getattr(record, n)) for n in LISTS} == {n: want[n] for n in LISTS}, page


@functools.cache
def learnt_from(marking: str) -> tuple[list[tuple[bytes, str]], Marker | None]:
    """The pages of a site-model marking and the rule learnt from them, once per marking (two
    tests read them)."""
    pages = marked(marking)
    return pages, learnt(pages)


def test_the_demo_site_needs_no_calibration() -> None:
    assert learnt(marked(None)) == Marker("class", ("active",), None, "applying")


@pytest.mark.parametrize("marking", sorted(MARKINGS))
def test_each_marking_of_the_site_model_is_learnt_and_reads_exactly(marking: str) -> None:
    pages, rule = learnt_from(marking)
    assert rule is not None
    assert_reads_every_page_exactly(pages, rule)


@pytest.mark.parametrize("marking", sorted(MARKINGS))
def test_each_learnt_marker_is_written_into_the_config_and_read_back(
    marking: str, tmp_path: Path
) -> None:
    # What `latinno calibrate --write` does with it (end to end: tests/test_calibrate_site.py).
    from latinno.cli.config_edit import write_marker

    _, rule = learnt_from(marking)
    assert rule is not None
    config = tmp_path / "config.yaml"
    config.write_text("# a user's config\nsource:\n  languages: [en]\n", encoding="utf-8")
    write_marker(config, rule, "from 24 pages")
    assert load_settings(config, env={}).parser.rule() == rule
    assert config.read_text(encoding="utf-8").startswith("# a user's config\nsource:\n")


def _sprite(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    svg = soup.new_tag("svg")
    svg.append(soup.new_tag("use", attrs={"href": "#glyph-tick" if on else "#glyph-cross"}))
    item.insert(0, svg)


def _numeric(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    item["data-value"] = "1" if on else "0"


def _bem(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    dot = soup.new_tag("span", attrs={"class": "dot dot--filled" if on else "dot dot--empty"})
    item.append(dot)


def _only_off_dimmed(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    if not on:
        item["style"] = "color: #999; opacity: .4"


def _checkbox(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    box = soup.new_tag("input", attrs={"type": "checkbox", "disabled": ""})
    if on:
        box["checked"] = ""
    item.insert(0, box)


def _wrapped(name: str, when: bool) -> Mark:
    def mark(soup: BeautifulSoup, item: Tag, on: bool) -> None:
        if on == when:
            wrapper = soup.new_tag(name)
            for child in list(item.contents):
                wrapper.append(child.extract())
            item.append(wrapper)

    mark.__name__ = f"{name}_when_{when}"
    return mark


@pytest.mark.parametrize(
    "mark",
    [
        _sprite,
        _numeric,
        _bem,
        _only_off_dimmed,
        _checkbox,
        _wrapped("strong", True),
        _wrapped("del", False),
    ],
    ids=lambda m: m.__name__,
)
def test_markings_nobody_listed_are_learnt_too(mark: Mark) -> None:
    pages = marked(mark)
    rule = learnt(pages)
    assert rule is not None, mark.__name__
    assert_reads_every_page_exactly(pages, rule)


def _opaque(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    item["data-kind"] = "k7" if on else "k3"


def test_a_signal_whose_words_say_nothing_gives_no_rule() -> None:
    result = learn([page_options(b, u, labels=LABELS) for b, u in marked(_opaque)])
    assert result.rule is None and result.candidate is not None
    assert result.candidate.feature[:2] == ("attribute", "data-kind")


@pytest.mark.process
def test_cli_offline_cannot_decide_exits_nonzero_and_writes_nothing(tmp_path: Path) -> None:
    saved = []
    for index, (body, _url) in enumerate(marked(_opaque)[:12]):
        path = tmp_path / "en" / "case" / str(PAGES[index].parts[-2]) / "index.html"
        path.parent.mkdir(parents=True)
        path.write_bytes(body)
        saved.append(str(path))
    config = tmp_path / "c.yaml"
    config.write_text("# mine\nparser:\n  active_classes: [active]   # keep me\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "latinno.cli",
            "calibrate",
            *saved,
            "--write",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "does not say whether" in proc.stderr and "nothing written" in proc.stderr
    assert "if it marks NOT applying options" in proc.stdout  # the two readings side by side
    assert config.read_text() == "# mine\nparser:\n  active_classes: [active]   # keep me\n"


@pytest.mark.process
def test_cli_offline_learns_and_writes_keeping_comments(tmp_path: Path) -> None:
    saved = []
    for index, (body, _url) in enumerate(marked("icon")[:12]):
        path = tmp_path / f"page{index}.html"  # named by its canonical link
        path.write_bytes(body)
        saved.append(str(path))
    config = tmp_path / "c.yaml"
    config.write_text("# mine\nparser:\n  active_classes: [active]   # old\n  extra_labels: {}\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "latinno.cli",
            "calibrate",
            *saved,
            "--write",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Learnt: class 'fa-check' marks applying options" in proc.stdout
    assert "Sample cases" in proc.stdout
    text = config.read_text()
    assert text.startswith("# mine\nparser:\n") and text.endswith("  extra_labels: {}\n")
    assert load_settings(config, env={}).parser.rule() == Marker("class", ("fa-check",))


@pytest.mark.process
def test_cli_online_without_a_sitemap_probes_the_first_ids_politely(tmp_path: Path) -> None:
    from latinno.sitemodel.generate import generate_site
    from latinno.sitemodel.server import run_server_in_thread

    site = tmp_path / "site"
    generate_site(site, total=120, seed=3, languages=("en",))
    config = tmp_path / "c.yaml"
    config.write_text("politeness:\n  rate: 0\n", encoding="utf-8")
    with run_server_in_thread(site, marking="image") as server:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "latinno.cli",
                "calibrate",
                "--base-url",
                server.base_url,
                "--pages",
                "12",
                "--config",
                str(config),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        stats = server.stats()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "probing the first ids of prefixes" in proc.stdout
    assert "Learnt: image file name with 'on' marks applying options" in proc.stdout
    assert stats["paths"].get("/robots.txt") == 1
    case_requests = sum(n for path, n in stats["paths"].items() if "/case/" in path)
    assert 12 <= case_requests <= 12 + 6 * 5  # its share per prefix, and at most 5 misses each


def test_labels_it_cannot_place_come_with_the_entry_that_would_place_them() -> None:
    from parsers.calibration_evidence import unplaced

    page = REPO / "fixtures" / "html" / "en" / "case" / "1003" / "index.html"
    body = page.read_bytes().replace(b">Rule of Law</li>", b">Imperio de la ley</li>")
    body = body.replace(b">Policy cycle</h3>", b">Ciclo de la politica</h3>")
    found = unplaced([page_options(body, url_of(page), labels=LABELS)], LABELS)
    assert found == [
        "option 'Imperio de la ley' in ends: parser.extra_labels.ends.rule_of_law: "
        "['Imperio de la ley']",
        "heading 'Ciclo de la politica' before the policy_cycle options: "
        "parser.extra_labels.sections.policy_cycle: ['Ciclo de la politica']",
    ]
