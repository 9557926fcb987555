"""build_fixtures is deterministic and the committed pages are what the specs render to."""

from __future__ import annotations

import json
from pathlib import Path

from latinno.sitemodel.build_fixtures import FIXTURES_DIR, build, bundled_site, dump_expected
from latinno.sitemodel.cases import fixture_cases
from latinno.sitemodel.expected import EXPECTED_FIELDS, expected_record
from latinno.sitemodel.render import escape, render_page

EDGE = FIXTURES_DIR / "_edge"


def test_rendering_twice_gives_the_same_bytes() -> None:
    first = [render_page(s) for s in fixture_cases()]
    second = [render_page(s) for s in fixture_cases()]
    assert first == second


def test_committed_fixtures_are_current() -> None:
    for spec in fixture_cases():
        folder = FIXTURES_DIR / spec.lang / "case" / str(spec.case_id)
        assert (folder / "index.html").read_bytes() == render_page(spec), folder
        assert (folder / "expected.json").read_bytes() == dump_expected(expected_record(spec))


def test_build_writes_every_page_and_removes_stale_ones(tmp_path: Path) -> None:
    stale = tmp_path / "en" / "case" / "99999" / "index.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    edge = tmp_path / "_edge" / "keep.html"
    edge.parent.mkdir()
    edge.write_text("hand-written")
    count = build(tmp_path)
    assert count == len(fixture_cases())
    assert len(list(tmp_path.glob("*/case/*/index.html"))) == count
    assert not stale.exists()
    assert edge.read_text() == "hand-written"


def test_escape_writes_character_references() -> None:
    assert escape("a & b") == "a &amp; b"
    assert escape("é – ’", entities=True) == "&eacute; &#8211; &#x2019;"
    assert escape("é", entities=False) == "é"


def test_every_edge_page_has_an_expected_outcome() -> None:
    pages = sorted(EDGE.glob("*.html"))
    assert {p.stem for p in pages} >= {"country-page", "empty-body", "truncated", "missing-design"}
    readme = (FIXTURES_DIR.parent / "README.md").read_text(encoding="utf-8")
    for page in pages:
        expected = json.loads(page.with_suffix(".expected.json").read_text(encoding="utf-8"))
        assert page.name in readme
        if "error" in expected:
            assert set(expected) == {"error"} and expected["error"]
        else:
            assert tuple(expected) == EXPECTED_FIELDS
            assert expected["issues"], page


def test_truncated_edge_page_stops_before_the_design_section() -> None:
    data = (EDGE / "truncated.html").read_bytes()
    assert b"<h1" in data and b"Institutional design" not in data and b"</html>" not in data
    assert data.startswith(b"<!DOCTYPE html>")


def test_the_bundled_site_an_installed_package_serves_is_the_committed_one() -> None:
    """What `latinno demo` and `latinno site serve` serve without a checkout (issue 22)."""
    committed = sorted(p.relative_to(FIXTURES_DIR) for p in FIXTURES_DIR.glob("*/case/*/*"))
    with bundled_site() as root:
        rendered = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
        assert rendered == committed
        assert all((root / p).read_bytes() == (FIXTURES_DIR / p).read_bytes() for p in rendered)
    assert not root.exists()
