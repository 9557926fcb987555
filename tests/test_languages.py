"""Cases in any configured language (issue 15): discovered, loaded, titled and withdrawn right.

Real Prefect flows over loopback HTTP to our site server, a DuckDB file per test. The site holds
fixture cases in English only, in all three languages, in two, and in Spanish or Portuguese
only; the configured languages are en, es, pt unless a test says otherwise.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _flow_support import run_refresh

from latinno.pages import PageKey
from latinno.sitemodel.build_fixtures import write_case
from latinno.sitemodel.cases import fixture_cases
from latinno.sitemodel.server import run_server_in_thread
from latinno.sitemodel.spec import CaseSpec

pytestmark = pytest.mark.slow

LANGS = ["en", "es", "pt"]
# case id -> the languages the site has it in
SITE = {
    1152: ("en",),  # English only
    17045: ("en", "es", "pt"),  # every language
    1003: ("en", "es"),
    3001: ("en", "pt"),
    16075: ("es",),  # Spanish only
    3402: ("pt",),  # Portuguese only
    13402: ("es", "pt"),  # no English page
}


def _specs() -> dict[PageKey, CaseSpec]:
    return {PageKey(s.case_id, s.lang): s for s in fixture_cases() if s.case_id in SITE}


def _build(root: Path, pages: dict[int, tuple[str, ...]] = SITE) -> Path:
    specs = _specs()
    for case_id, langs in pages.items():
        for lang in langs:
            write_case(root, specs[(case_id, lang)])
    return root


def _expected(root: Path, case_id: int, lang: str) -> dict[str, Any]:
    path = root / lang / "case" / str(case_id) / "expected.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _first(langs: tuple[str, ...], order: list[str]) -> str:
    return next(lang for lang in order if lang in langs)


def _rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, list(args)).fetchall()


def _case_requests(stats: dict[str, Any]) -> dict[str, int]:
    return {p: n for p, n in stats["paths"].items() if "/case/" in p}


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The first refresh of the site, found through its sitemap."""
    root = _build(tmp_path_factory.mktemp("site"))
    db = tmp_path_factory.mktemp("db") / "w.duckdb"
    with run_server_in_thread(root, sitemap=True) as server:
        summary = run_refresh(base_url=server.base_url, db=str(db), languages=LANGS)
        stats = server.stats()
    return {"root": root, "db": db, "summary": summary, "stats": stats}


def test_every_case_is_loaded_whatever_its_languages(first: dict[str, Any]) -> None:
    root, db, counts = first["root"], first["db"], first["summary"]["counts"]
    assert counts.get("failed", 0) == 0, first["summary"]["failed_urls"]
    assert counts["new"] == len(SITE)
    statuses = dict(_rows(db, "SELECT case_id, status FROM cases"))
    assert statuses == {case_id: "active" for case_id in SITE}
    # Every listed page was asked for once, and nothing the sitemap does not list.
    listed = {f"/{lang}/case/{cid}/" for cid, langs in SITE.items() for lang in langs}
    assert _case_requests(first["stats"]) == {path: 1 for path in listed}
    # The row: text, url and language from the first configured language that has the case.
    for case_id, langs in SITE.items():
        lang = _first(langs, LANGS)
        want = _expected(root, case_id, lang)
        row = _rows(
            db,
            "SELECT title, description, lang, url, country_code, formalization, decisiveness "
            "FROM cases WHERE case_id = ?",
            case_id,
        )
        fields = ("title", "description", "lang", "url", "country_code", "formalization")
        assert row == [(*(want[f] for f in fields), want["decisiveness"])], case_id


def test_case_texts_hold_every_language_exactly(first: dict[str, Any]) -> None:
    root, db = first["root"], first["db"]
    stored = {
        (cid, lang): (title, description)
        for cid, lang, title, description in _rows(
            first["db"], "SELECT case_id, lang, title, description FROM case_texts"
        )
    }
    want = {}
    for case_id, langs in SITE.items():
        for lang in langs:
            record = _expected(root, case_id, lang)
            want[(case_id, lang)] = (record["title"], record["description"])
    assert stored == want
    pages = _rows(db, "SELECT case_id, lang, status FROM pages ORDER BY ALL")
    assert pages == sorted((cid, lang, 200) for cid, lang in want)


def test_summary_counts_pages_and_cases_by_language(first: dict[str, Any]) -> None:
    counts = first["summary"]["counts"]
    for lang in LANGS:
        pages = sum(lang in langs for langs in SITE.values())
        filled = sum(_first(langs, LANGS) == lang for langs in SITE.values())
        assert counts[f"lang_{lang}_discovered"] == pages, lang
        assert counts[f"lang_{lang}_fetched"] == pages, lang
        assert counts.get(f"lang_{lang}_gone", 0) == 0, lang
        assert counts[f"lang_{lang}_cases"] == filled, lang
    assert (counts["lang_en_cases"], counts["lang_es_cases"], counts["lang_pt_cases"]) == (4, 2, 1)


def test_withdrawn_only_when_every_language_that_had_it_is_gone(
    first: dict[str, Any], tmp_path: Path
) -> None:
    """Runs on a copy of the first warehouse and site, so the other tests keep theirs."""
    root = tmp_path / "site"
    shutil.copytree(first["root"], root)
    db = tmp_path / "w.duckdb"
    shutil.copy(first["db"], db)

    def gone(case_id: int, lang: str) -> None:
        shutil.rmtree(root / lang / "case" / str(case_id))

    gone(17045, "en")  # every language before: Spanish and Portuguese are still there
    gone(16075, "es")  # its only language
    gone(13402, "pt")  # Spanish is still there
    gone(1003, "en")  # and its Spanish page fails: unknown, so not withdrawn
    plan = {"/es/case/1003/": ["500"] * 30}
    # Its retries at loopback speed: the default backoff waited 10 s for the same failure.
    quick = {"http": {"backoff_base_s": 0.01, "backoff_max_s": 0.05}}
    with run_server_in_thread(root, sitemap=True, plan=plan) as server:
        summary = run_refresh(
            base_url=server.base_url, db=str(db), languages=LANGS, overrides=quick
        )
    counts = summary["counts"]
    statuses = dict(_rows(db, "SELECT case_id, status FROM cases"))
    assert statuses == {**{cid: "active" for cid in SITE}, 16075: "withdrawn"}
    assert counts["withdrawn"] == 1
    assert summary["failed_urls"] == [f"{server.base_url}/es/case/1003/"]
    # 17045 lost the page its row came from: the row is now built from Spanish, in this run,
    # with no new version (the Spanish content did not change).
    es = _expected(root, 17045, "es")
    assert _rows(db, "SELECT title, lang FROM cases WHERE case_id = 17045") == [(es["title"], "es")]
    assert _rows(db, "SELECT count(*) FROM case_history WHERE case_id = 17045") == [(1,)]
    # The texts of a language that went stay in case_texts; the archive notes the 404.
    assert _rows(db, "SELECT count(*) FROM case_texts WHERE case_id = 17045") == [(3,)]
    latest = _rows(
        db,
        "SELECT lang, arg_max(status, fetched_at) FROM pages WHERE case_id = 17045 "
        "GROUP BY lang ORDER BY lang",
    )
    assert latest == [("en", 404), ("es", 200), ("pt", 200)]
    assert counts["lang_en_gone"] == 2 and counts["lang_es_gone"] == 1
    assert counts["lang_pt_gone"] == 1
    history = _rows(db, "SELECT change FROM case_history WHERE case_id = 16075 ORDER BY version")
    assert history == [("new",), ("withdrawn",)]

    # Next run: 1003's Spanish page answers again, so its row comes from Spanish now; 17045
    # loses its last two languages and is withdrawn; nothing else changes.
    gone(17045, "es")
    gone(17045, "pt")
    with run_server_in_thread(root, sitemap=True) as server:
        summary = run_refresh(base_url=server.base_url, db=str(db), languages=LANGS)
    statuses = dict(_rows(db, "SELECT case_id, status FROM cases"))
    withdrawn = {16075: "withdrawn", 17045: "withdrawn"}
    assert statuses == {**{cid: "active" for cid in SITE}, **withdrawn}
    assert summary["counts"]["withdrawn"] == 1
    assert summary["counts"].get("failed", 0) == 0
    es = _expected(root, 1003, "es")
    assert _rows(db, "SELECT title, lang FROM cases WHERE case_id = 1003") == [(es["title"], "es")]
    assert _rows(db, "SELECT change FROM case_history WHERE case_id = 1003") == [("new",)]
    assert summary["counts"]["lang_en_cases"] == 2  # 1152 and 3001 (withdrawn ones not counted)


def test_changing_the_first_language_reassigns_without_new_versions(
    first: dict[str, Any], tmp_path: Path
) -> None:
    root, db = first["root"], tmp_path / "w.duckdb"
    shutil.copy(first["db"], db)
    history = _rows(db, "SELECT case_id, version, content_hash FROM case_history ORDER BY ALL")
    order = ["es", "pt", "en"]
    with run_server_in_thread(root, sitemap=True) as server:
        summary = run_refresh(base_url=server.base_url, db=str(db), languages=order)
    counts = summary["counts"]
    assert counts.get("new", 0) == counts.get("changed", 0) == counts.get("failed", 0) == 0
    for case_id, langs in SITE.items():
        lang = _first(langs, order)
        want = _expected(root, case_id, lang)
        assert _rows(db, "SELECT title, lang FROM cases WHERE case_id = ?", case_id) == [
            (want["title"], lang)
        ], case_id
    # Same versions (one per case), each now holding the content as the row shows it.
    after = _rows(db, "SELECT case_id, version FROM case_history ORDER BY ALL")
    assert after == [(cid, version) for cid, version, _ in history]
    assert _rows(db, "SELECT count(*) FROM case_changes") == [(0,)]
    mismatched = _rows(
        db,
        "SELECT c.case_id FROM cases AS c JOIN case_history AS h USING (case_id) "
        "WHERE h.valid_to IS NULL AND (h.content_hash <> c.content_hash "
        "OR h.record->>'title' <> c.title)",
    )
    assert mismatched == []
    assert (counts["lang_es_cases"], counts["lang_pt_cases"], counts["lang_en_cases"]) == (4, 2, 1)

    # Settled: the next run of the same configuration asks conditionally and re-reads nothing
    # (every page here: which are due is tests/test_revisit_flow.py's).
    every_run = {"revisit": {"enabled": False}}
    with run_server_in_thread(root, sitemap=True, sitemap_lastmod=False) as server:
        summary = run_refresh(
            base_url=server.base_url, db=str(db), languages=order, overrides=every_run
        )
    counts = summary["counts"]
    assert counts.get("fetched", 0) == 0
    assert counts["not_modified"] == sum(len(langs) for langs in SITE.values())


def test_probing_finds_cases_missing_in_the_first_language(tmp_path: Path) -> None:
    """No sitemap: ids are probed in English, then in the other languages before a miss."""
    specs = _specs()
    # Prefix 16 (Paraguay): English at serials 7 and 30, Spanish only at 75, and the
    # Portuguese-only case moved to serial 90 (its page shows Brazil: a country issue).
    pages = [
        specs[(16075, "es")],
        replace(specs[(3402, "pt")], case_id=16090),
        *(s for s in fixture_cases() if s.case_id in (16007, 16030, 16052)),
    ]
    root = tmp_path / "site"
    for spec in pages:
        write_case(root, spec)
    expected = {s.case_id: set() for s in pages}
    for spec in pages:
        expected[spec.case_id].add(spec.lang)
    source = {"country_prefixes": [16], "max_consecutive_misses": 25}

    db = tmp_path / "english.duckdb"
    with run_server_in_thread(root) as server:
        run_refresh(
            base_url=server.base_url,
            db=str(db),
            languages=LANGS,
            overrides={"source": {**source, "probe_other_languages": False}},
        )
    # Asked in English only, a serial that is no English page is a miss: the gap after 52
    # holds only a Spanish and a Portuguese case, and probing stops before them.
    assert dict(_rows(db, "SELECT case_id, lang FROM cases")) == {
        16007: "en", 16030: "en", 16052: "en"
    }  # fmt: skip

    db = tmp_path / "all.duckdb"
    with run_server_in_thread(root) as server:
        summary = run_refresh(
            base_url=server.base_url, db=str(db), languages=LANGS, overrides={"source": source}
        )
        stats = server.stats()
    assert dict(_rows(db, "SELECT case_id, lang FROM cases")) == {
        cid: _first(tuple(langs), LANGS) for cid, langs in expected.items()
    }
    texts = {(cid, lang) for cid, lang in _rows(db, "SELECT case_id, lang FROM case_texts")}
    assert texts == {(s.case_id, s.lang) for s in pages}
    # Serials 1..115 (25 misses past 90), each in three languages: the request cost.
    counts = summary["counts"]
    assert counts["probe_stop_16"] == 115
    assert _case_requests(stats) == {
        f"/{lang}/case/{16000 + serial}/": 1 for serial in range(1, 116) for lang in LANGS
    }
    assert counts["gone"] == 115 * 3 - len(pages)
