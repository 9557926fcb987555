"""``latinno report``: every number drawn or tabled in the report, checked against SQL.

The warehouse is built with the warehouse's own functions (two runs: new cases, a change, a
withdrawal, parse issues, fetch failures), the report is rendered, and its HTML is parsed back:
each chart mark (``rect.mark`` with ``data-row``/``data-col``/``data-value``) and each table row
must equal what an independent SQL query on the same file says, and each bar's length must be
proportional to its value. A chart that shows a wrong count fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest
from _warehouse_support import day, issue, make_record

from latinno import report
from latinno.errors import LatinnoError
from latinno.record import PAGE_PARTS, Source
from latinno.vocabulary import COUNTRIES, DESIGN_FIELDS
from warehouse.db import connect, writing
from warehouse.load import load_records, mark_withdrawn, touch_seen
from warehouse.runs import (
    FetchFailure,
    finish_run,
    record_fetch_failures,
    resolve_failures,
    start_run,
)

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent


# --- reading the report back --------------------------------------------------------------------


@dataclass
class Figure:
    chart: str
    marks: list[dict[str, str]] = field(default_factory=list)
    tables: list[list[tuple[str | None, list[str]]]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def values(self, col: str | None = None) -> dict[str, float]:
        """{row: value} of the marks (of one series)."""
        return {
            m["data-row"]: float(m["data-value"])
            for m in self.marks
            if col is None or m["data-col"] == col
        }

    def cells(self) -> dict[tuple[str, str], float]:
        return {(m["data-row"], m["data-col"]): float(m["data-value"]) for m in self.marks}

    def table_rows(self, index: int = 0) -> dict[str, list[str]]:
        return {key: cells for key, cells in self.tables[index] if key is not None}


class ReportReader(HTMLParser):
    """Figures (marks, tables, text), glance cards, every tag and attribute of the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: dict[str, Figure] = {}
        self.glance: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.styles: list[str] = []
        self._figure: Figure | None = None
        self._depth = 0
        self._row: tuple[str | None, list[str]] | None = None
        self._cell: list[str] | None = None
        self._card: str | None = None
        self._card_text: list[str] = []
        self._in_dd = False
        self._in_style = False
        self._in_svg_title = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "style":
            self._in_style = True
        if tag == "figure":
            self._figure = Figure(a["data-chart"])
            self.figures[a["data-chart"]] = self._figure
            self._depth = 0
        if self._figure is None:
            if tag == "div" and "data-key" in a:
                self._card, self._card_text = a["data-key"], []
            if tag == "dd":
                self._in_dd = True
            return
        if tag == "figure":
            self._depth += 1
        if tag == "rect" and a.get("class") == "mark":
            self._figure.marks.append(a)
        if tag == "title":
            self._in_svg_title += 1
        if tag == "table":
            self._figure.tables.append([])
        if tag == "tr":
            self._row = (a.get("data-row"), [])
        if tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False
        if self._figure is None:
            if tag == "dd":
                self._in_dd = False
                if self._card is not None:
                    self.glance[self._card] = "".join(self._card_text).strip()
                    self._card = None
            return
        if tag == "title":
            self._in_svg_title -= 1
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self._row is not None:
            if self._figure.tables:
                self._figure.tables[-1].append(self._row)
            self._row = None
        if tag == "figure":
            self._depth -= 1
            if self._depth <= 0:
                self._figure = None

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._figure is not None and not self._in_svg_title:
            self._figure.text.append(data)
        if self._card is not None and self._in_dd:
            self._card_text.append(data)


def read(html: str) -> ReportReader:
    reader = ReportReader()
    reader.feed(html)
    reader.close()
    return reader


def sql(con: duckdb.DuckDBPyConnection, query: str) -> list[tuple[Any, ...]]:
    return con.execute(query).fetchall()


def num(text: str) -> int:
    """The leading count of a table cell such as '1,234 (56.7%)'."""
    return int(text.split(" ")[0].replace(",", ""))


def assert_bars_proportional(figure: Figure) -> None:
    """Every bar's drawn length is value x the same scale (0 for 0)."""
    scales = set()
    for mark in figure.marks:
        value, width = float(mark["data-value"]), float(mark["width"])
        if value == 0:
            assert width == 0, mark
        else:
            scales.add(round(width / value, 1))
    assert len(scales) <= 1, (figure.chart, scales)


# --- the warehouse ------------------------------------------------------------------------------

EXTRA = {"gone": 3, "parse_failed": 1}


def _without(*parts: str) -> tuple[str, ...]:
    return tuple(p for p in PAGE_PARTS if p not in parts)


def build_warehouse(path: Path) -> None:
    """Two runs over a dozen cases in four countries, with the quality problems the report shows."""
    first = [
        make_record(17001),
        make_record(17002, means=("deliberation", "e_participation"), ends=("social_equality",)),
        # The stored parts, not the issues, say what a page lacked (this one has no issue).
        make_record(
            17003,
            co_governance=None,
            decisiveness=None,
            means=(),
            ends=(),
            sections_present=_without("ends"),
        ),
        make_record(
            17004,
            decisiveness="binding",
            policy_cycle=(),
            sections_present=_without("policy_cycle"),
            issues=(issue("policy_cycle", None, "section 'policy_cycle' not found on the page"),),
        ),
        make_record(5001, country_code="CO", co_governance=False, decisiveness="no_decision"),
        make_record(5002, country_code="CO", means=("direct_voting",), sources=()),
        make_record(
            5003,
            country_code="CO",
            decisiveness="sometimes",  # kept raw: not a code
            issues=(issue("decisiveness", "sometimes", "value 'sometimes' is not a code"),),
        ),
        make_record(3001, country_code="BR", means=("citizen_representation",), ends=()),
        make_record(
            3002,
            country_code="BR",
            co_governance=None,
            sections_present=_without("co_governance"),
            issues=(
                issue("co_governance", None, "label of 'co_governance' not found on the page"),
                issue("ends", "Other", "unknown option"),
            ),
        ),
        make_record(1001, country_code="AR", title=None, description=None),
        make_record(
            1002,
            country_code=None,
            **dict.fromkeys(("formalization", "frequency", "participant_selection")),
            participant_types=(),
            decisiveness=None,
            co_governance=None,
            # No Institutional design: counted once, not again for each of its six fields.
            sections_present=("means", "ends", "policy_cycle"),
            issues=(issue("country", None, "no country shown on the page"),),
        ),
    ]
    with writing(path) as con:
        start_run(con, "r1", day(0), {"base_url": "http://127.0.0.1"})
        load_records(con, first, run_id="r1", seen_at=day(0), primary_lang="en")
        load_records(
            con,
            [make_record(17001, lang="es"), make_record(5001, lang="es")],
            run_id="r1",
            seen_at=day(0),
            primary_lang="en",
        )
        record_fetch_failures(
            con,
            "r1",
            [
                FetchFailure("https://latinno.net/en/case/17009/", 17009, "en", 503, "HTTP 503", 6),
                FetchFailure("https://latinno.net/en/case/5009/", 5009, "en", None, "timeout", 6),
            ],
        )
        finish_run(
            con,
            "r1",
            day(0),
            {"discovered": 13, "fetched": 13, "not_modified": 0, "new": 11, "failed": 3,
             "parse_issues": 6, "duration_s": 12.5, **EXTRA},
        )  # fmt: skip
        start_run(con, "r2", day(7), {"base_url": "http://127.0.0.1"})
        changed = [
            make_record(17002, title="Renamed forum", means=("deliberation",), ends=()),
            make_record(
                5002,
                country_code="CO",
                means=("direct_voting", "deliberation"),
                sources=(Source("New source", "https://example.org/s"),),
            ),
        ]
        load_records(con, changed, run_id="r2", seen_at=day(7), primary_lang="en")
        touch_seen(con, [(17001, "en"), (5001, "en"), (3001, "en")], day(7), run_id="r2")
        mark_withdrawn(con, [3001, 1001], day(7), run_id="r2")
        resolve_failures(con, [(17009, "en")], "r2")
        finish_run(
            con,
            "r2",
            day(7) + (day(1) - day(0)) / 24,
            {"discovered": 13, "fetched": 4, "not_modified": 6, "changed": 2, "withdrawn": 2,
             "failed": 1, "duration_s": 4.25, "gone": 2, "sitemap_unchanged": 5},
        )  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "wh.duckdb"
    build_warehouse(path)
    return path


@pytest.fixture(scope="module")
def html(db: Path) -> str:
    return report.build_report(db, lock_timeout_s=5)


@pytest.fixture(scope="module")
def page(html: str) -> ReportReader:
    return read(html)


@pytest.fixture()
def con(db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    # Opened as the report opens it: DuckDB refuses two configurations of one file in a process.
    connection = connect(db, read_only=True)
    yield connection
    connection.close()


# --- numbers against SQL ------------------------------------------------------------------------


def test_every_chart_is_drawn_with_a_title_an_n_and_a_table(page: ReportReader) -> None:
    expected = {
        "cases-by-country", "means-by-country", "ends-by-country", "policy-cycle-by-country",
        "co-governance-by-country", "decisiveness-by-country", "means-ends", "changes-per-run",
        "changed-fields", "fill-rate", "issues-by-field", "failures-by-reason",
        "missing-sections", "run-duration", "run-requests",
    }  # fmt: skip
    assert set(page.figures) == expected
    for chart in page.figures.values():
        text = " ".join(chart.text)
        assert re.search(r"n = [\d,]+ \w", text), (chart.chart, text[:200])
        assert chart.marks, chart.chart
        if chart.chart != "run-duration":  # its numbers are in the run-requests table
            assert chart.tables and chart.tables[0], chart.chart
    svgs = [a for tag, a in page.tags if tag == "svg"]
    assert len(svgs) == len(expected)
    for svg in svgs:
        assert float(svg["width"]) > 0 and float(svg["height"]) > 0
        assert svg["viewbox"] == f"0 0 {svg['width']} {svg['height']}"
        assert svg["role"] == "img" and svg["aria-label"]


def test_glance(page: ReportReader, con: duckdb.DuckDBPyConnection, html: str) -> None:
    active, withdrawn = sql(
        con,
        "SELECT count(*) FILTER (WHERE status = 'active'), "
        "count(*) FILTER (WHERE status = 'withdrawn') FROM cases",
    )[0]
    assert (active, withdrawn) == (9, 2)
    g = page.glance
    assert g["Active cases"].startswith("9") and g["Withdrawn cases"].startswith("2")
    countries = sql(con, "SELECT count(DISTINCT country_code) FROM cases WHERE status = 'active'")[
        0
    ][0]
    assert g["Countries"].startswith(str(countries))
    languages = sql(
        con,
        "SELECT t.lang, count(*) FROM case_texts AS t JOIN cases USING (case_id) "
        "WHERE status = 'active' GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    assert languages == [("en", 9), ("es", 2)]
    assert g["Languages"].startswith("en (9), es (2)")
    assert g["Runs"].startswith("2")
    assert g["Last refresh"].startswith("2026-03-09 04:00 UTC")
    assert g["Open fetch failures"].startswith("1")
    issues = sql(con, "SELECT count(*) FROM parse_issues")[0][0]
    assert g["Parse issues"].startswith(str(issues))
    assert "Pogrebinschi, Thamy. (2017). LATINNO Dataset. Berlin: WZB." in html


def test_cases_by_country(page: ReportReader, con: duckdb.DuckDBPyConnection) -> None:
    chart = page.figures["cases-by-country"]
    expected = dict(
        sql(
            con,
            "SELECT coalesce(country_code, '?'), count(*) FROM cases "
            "WHERE status = 'active' GROUP BY 1",
        )
    )
    drawn = {k: v for k, v in chart.values().items() if v}
    assert drawn == expected
    withdrawn = dict(
        sql(
            con,
            "SELECT coalesce(country_code, '?'), count(*) FROM cases "
            "WHERE status = 'withdrawn' GROUP BY 1",
        )
    )
    table = chart.table_rows()
    for code, cells in table.items():
        assert (int(cells[2]), int(cells[3])) == (expected.get(code, 0), withdrawn.get(code, 0))
    assert set(table) == set(expected) | set(withdrawn)
    # Most cases first; countries without any case are named under the chart.
    assert list(chart.values())[:2] == ["PE", "CO"]
    assert "No cases from: Bolivia" in " ".join(chart.text)
    assert_bars_proportional(chart)


@pytest.mark.parametrize(
    ("field", "table", "column"),
    [
        ("means", "case_means", "means"),
        ("ends", "case_ends", "ends"),
        ("policy_cycle", "case_policy_cycle", "stage"),
    ],
)
def test_option_heatmaps(
    page: ReportReader, con: duckdb.DuckDBPyConnection, field: str, table: str, column: str
) -> None:
    chart = page.figures[f"{field.replace('_', '-')}-by-country"]
    n = dict(
        sql(
            con,
            "SELECT coalesce(country_code, '?'), count(*) FROM cases WHERE status = 'active' "
            "GROUP BY 1",
        )
    )
    n["*"] = sum(n.values())
    hits = {
        (cc, code): k
        for cc, code, k in sql(
            con,
            f"SELECT coalesce(c.country_code, '?'), b.{column}, count(*) FROM cases AS c "
            f"JOIN {table} AS b USING (case_id) WHERE c.status = 'active' GROUP BY ALL",
        )
    }
    for (_, code), k in list(hits.items()):
        hits[("*", code)] = hits.get(("*", code), 0) + k
    codes = [r[0] for r in sql(con, f"SELECT code FROM vocabulary WHERE field = '{field}'")]
    expected = {(cc, code): hits.get((cc, code), 0) / n[cc] for cc in n for code in codes}
    assert chart.cells() == pytest.approx(expected, abs=1e-6)
    rows = chart.table_rows()
    assert set(rows) == set(n)
    for cc, cells in rows.items():
        assert int(cells[1]) == n[cc]
        assert [num(c) for c in cells[2:]] == [hits.get((cc, code), 0) for code in codes]
    assert next(iter(rows)) == "*"  # all countries first


@pytest.mark.parametrize("field", ["co_governance", "decisiveness"])
def test_design_by_country(page: ReportReader, con: duckdb.DuckDBPyConnection, field: str) -> None:
    chart = page.figures[f"{field.replace('_', '-')}-by-country"]
    if field == "co_governance":
        value = "CASE WHEN co_governance THEN 'yes' WHEN NOT co_governance THEN 'no' END"
    else:
        value = (
            "CASE WHEN decisiveness IN (SELECT code FROM vocabulary "
            "WHERE field = 'decisiveness') THEN decisiveness "
            "WHEN decisiveness IS NOT NULL THEN '(other)' END"
        )
    counts = sql(
        con,
        f"SELECT coalesce(country_code, '?'), coalesce({value}, '(not shown)'), count(*) "
        "FROM cases WHERE status = 'active' GROUP BY ALL",
    )
    n: dict[str, int] = defaultdict(int)
    k: dict[tuple[str, str], int] = defaultdict(int)
    for cc, v, c in counts:
        n[cc] += c
        n["*"] += c
        k[(cc, v)] += c
        k[("*", v)] += c
    drawn = chart.cells()
    assert {key for key, share in drawn.items() if share} == set(k)
    for (cc, v), share in drawn.items():
        assert share == pytest.approx(k.get((cc, v), 0) / n[cc], abs=1e-6), (cc, v)
    for cc, cells in chart.table_rows().items():
        assert int(cells[1]) == n[cc]
        assert sum(num(c) for c in cells[2:]) == n[cc]
    # Each stacked bar ends at 100%: the same scale for every row.
    widths: dict[str, float] = defaultdict(float)
    for mark in chart.marks:
        widths[mark["data-row"]] += float(mark["width"])
    assert max(widths.values()) - min(widths.values()) < 0.05
    if field == "decisiveness":
        assert ("CO", "(other)") in drawn and ("PE", "(not shown)") in drawn


def test_means_ends_cooccurrence(page: ReportReader, con: duckdb.DuckDBPyConnection) -> None:
    chart = page.figures["means-ends"]
    expected = {
        (m, e): k
        for m, e, k in sql(
            con,
            "SELECT m.means, e.ends, count(*) FROM cases AS c JOIN case_means AS m "
            "USING (case_id) JOIN case_ends AS e USING (case_id) "
            "WHERE c.status = 'active' GROUP BY ALL",
        )
    }
    drawn = chart.cells()
    assert {key: v for key, v in drawn.items() if v} == expected
    both = sql(
        con,
        "SELECT count(*) FROM cases AS c WHERE status = 'active' "
        "AND case_id IN (SELECT case_id FROM case_means) "
        "AND case_id IN (SELECT case_id FROM case_ends)",
    )[0][0]
    assert f"n = {both} active cases with at least one means and one end" in " ".join(chart.text)
    per_means = dict(
        sql(
            con,
            "SELECT means, count(*) FROM case_means JOIN cases USING (case_id) "
            "WHERE status = 'active' GROUP BY 1",
        )
    )
    for means, cells in chart.table_rows().items():
        assert int(cells[1]) == per_means.get(means, 0)


def test_change_over_time(page: ReportReader, con: duckdb.DuckDBPyConnection) -> None:
    chart = page.figures["changes-per-run"]
    expected = {
        (run, change): k
        for run, change, k in sql(
            con, "SELECT run_id, change, count(*) FROM case_history GROUP BY ALL"
        )
    }
    assert {key: v for key, v in chart.cells().items() if v} == expected
    assert expected[("r2", "changed")] == 2 and expected[("r2", "withdrawn")] == 2
    assert list(chart.table_rows()) == ["r1", "r2"]  # oldest first
    assert_bars_proportional(chart)

    fields = page.figures["changed-fields"]
    changes = dict(sql(con, "SELECT field, count(*) FROM case_changes GROUP BY 1"))
    assert fields.values() == changes
    assert {"title", "means", "status"} <= set(changes)
    cases = sql(con, "SELECT count(DISTINCT case_id) FROM case_changes")[0][0]
    assert f"in {cases} cases" in " ".join(fields.text)
    assert_bars_proportional(fields)


def test_fill_rates(page: ReportReader, con: duckdb.DuckDBPyConnection) -> None:
    chart = page.figures["fill-rate"]
    n = sql(con, "SELECT count(*) FROM cases WHERE status = 'active'")[0][0]
    filled = dict(
        sql(
            con,
            """
SELECT 'title', count(title) FROM cases WHERE status = 'active'
UNION ALL SELECT 'co_governance', count(co_governance) FROM cases WHERE status = 'active'
UNION ALL SELECT 'country_code', count(country_code) FROM cases WHERE status = 'active'
UNION ALL SELECT 'decisiveness', count(decisiveness) FROM cases WHERE status = 'active'
UNION ALL SELECT 'means', count(DISTINCT case_id) FROM case_means JOIN cases USING (case_id)
    WHERE status = 'active'
UNION ALL SELECT 'ends', count(DISTINCT case_id) FROM case_ends JOIN cases USING (case_id)
    WHERE status = 'active'
UNION ALL SELECT 'policy_cycle', count(DISTINCT case_id) FROM case_policy_cycle
    JOIN cases USING (case_id) WHERE status = 'active'
UNION ALL SELECT 'sources', count(DISTINCT case_id) FROM case_sources JOIN cases USING (case_id)
    WHERE status = 'active'
""",
        )
    )
    drawn = chart.values()
    for name, k in filled.items():
        assert drawn[name] == pytest.approx(k / n, abs=1e-6), name
        assert int(chart.table_rows()[name][1]) == k
    assert drawn["ends"] < 1 and drawn["title"] == 1.0
    assert_bars_proportional(chart)


def test_quality_tables(page: ReportReader, con: duckdb.DuckDBPyConnection) -> None:
    issues = page.figures["issues-by-field"]
    assert issues.values() == dict(sql(con, "SELECT field, count(*) FROM parse_issues GROUP BY 1"))
    assert_bars_proportional(issues)
    by_value = issues.tables[1]
    raw_rows = sql(
        con, "SELECT field, coalesce(raw, '(none)'), count(*) FROM parse_issues GROUP BY ALL"
    )
    assert sorted((c[0], c[1], int(c[3])) for _, c in by_value[1:]) == sorted(raw_rows)

    failures = page.figures["failures-by-reason"]
    assert failures.values() == dict(
        sql(
            con,
            "SELECT reason, count(*) FROM fetch_failures WHERE resolved_run_id IS NULL GROUP BY 1",
        )
    )
    listed = [cells[1] for _, cells in failures.tables[1][1:]]
    assert listed == ["https://latinno.net/en/case/5009/"]

    missing = page.figures["missing-sections"]
    stored = con.execute(
        "SELECT p.part, count(*) FROM cases AS c, unnest(?::VARCHAR[]) AS p(part) "
        "WHERE c.status = 'active' AND NOT list_contains(c.sections_present, p.part) "
        "AND (NOT list_contains(?::VARCHAR[], p.part) "
        "     OR list_contains(c.sections_present, 'institutional_design')) GROUP BY 1",
        [list(PAGE_PARTS), list(DESIGN_FIELDS)],
    ).fetchall()
    assert missing.values() == dict(stored)
    assert missing.values() == {
        "policy_cycle": 1, "co_governance": 1, "ends": 1, "institutional_design": 1
    }  # fmt: skip
    listed = {cells[0]: cells[2] for _, cells in missing.tables[1][1:]}
    assert listed == {
        "1002": "institutional_design", "3002": "co_governance", "17003": "ends",
        "17004": "policy_cycle",
    }  # fmt: skip


def test_runs(page: ReportReader, con: duckdb.DuckDBPyConnection) -> None:
    requests = page.figures["run-requests"]
    stored = {
        run: row
        for run, *row in sql(
            con,
            "SELECT run_id, fetched, not_modified, coalesce((extra ->> 'gone')::INT, 0), "
            "failed - coalesce((extra ->> 'parse_failed')::INT, 0), duration_s FROM runs",
        )
    }
    for (run, col), value in requests.cells().items():
        index = ["fetched", "not_modified", "gone", "fetch_failed"].index(col)
        assert value == stored[run][index], (run, col)
    table = requests.table_rows()
    assert list(table) == ["r2", "r1"]  # newest first
    r2 = table["r2"]
    assert r2[4] == str(4 + 6 + 2 + 1)  # page requests
    assert r2[5] == "—"  # the run recorded no count of all its HTTP requests
    assert r2[8] == "60.0%"  # 6 of 4 + 6 answered 304
    assert r2[11] == "5" and table["r1"][11] == "0"  # not requested: sitemap said unchanged
    assert table["r1"][8] == "0.0%"
    assert_bars_proportional(requests)
    duration = page.figures["run-duration"]
    assert duration.values() == {run: row[4] for run, row in stored.items()}
    assert_bars_proportional(duration)


# --- the checks can fail ------------------------------------------------------------------------


def test_a_wrong_count_fails_the_checks(
    db: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    from latinno.report import queries

    real = queries.cases_by_country

    def off_by_one(c: duckdb.DuckDBPyConnection) -> list[queries.CountryCount]:
        first, *rest = real(c)
        return [queries.CountryCount(first.code, first.name, first.active + 1, 0), *rest]

    monkeypatch.setattr(queries, "cases_by_country", off_by_one)
    wrong = read(report.build_report(db, lock_timeout_s=5))
    with pytest.raises(AssertionError):
        test_cases_by_country(wrong, con)


def test_a_bar_of_the_wrong_length_fails_the_checks(html: str) -> None:
    # Same numbers, one bar drawn longer: only the geometry check can see it.
    marks = list(re.finditer(r'data-row="CO" data-col="active" data-value="3" ([^>]*)', html))
    assert len(marks) == 1
    tampered = html.replace(marks[0].group(0), marks[0].group(0).replace('width="', 'width="1'))
    with pytest.raises(AssertionError):
        assert_bars_proportional(read(tampered).figures["cases-by-country"])


# --- what the file is -------------------------------------------------------------------------


def test_self_contained(page: ReportReader, html: str) -> None:
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "video", "audio"}
    for tag, attrs in page.tags:
        assert "src" not in attrs and "srcset" not in attrs, tag
        if "href" in attrs:
            assert tag == "a", tag  # links to follow, never loaded
        assert "style" not in attrs or "url(" not in attrs["style"]
    css = "".join(page.styles)
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'' in html
    assert html.count("<svg") == len(page.figures)


def test_only_a_report_of_ours_is_replaced(db: Path, html: str, tmp_path: Path) -> None:
    # Issue 24, 14: `report --out` replaced any file, and wrote where a link pointed.
    ours = report.write_report(db, tmp_path / "r.html", lock_timeout_s=5)
    assert report.write_report(db, ours, lock_timeout_s=5).read_text(encoding="utf-8") == html
    theirs = tmp_path / "thesis.html"
    theirs.write_text("<p>three years of work</p>", encoding="utf-8")
    target = tmp_path / "precious.txt"
    target.write_text("keep me", encoding="utf-8")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    for out, says in ((theirs, "is not a LATINNO report"), (link, "is a link")):
        with pytest.raises(LatinnoError, match=f"^{out}: .*{says}"):
            report.write_report(db, out, lock_timeout_s=5)
    assert theirs.read_text(encoding="utf-8") == "<p>three years of work</p>"
    assert target.read_text(encoding="utf-8") == "keep me" and link.is_symlink()


def test_deterministic_and_without_a_clock(db: Path, html: str, tmp_path: Path) -> None:
    out = report.write_report(db, tmp_path / "a.html", lock_timeout_s=5)
    time.sleep(1.1)
    again = report.write_report(db, tmp_path / "b.html", lock_timeout_s=5)
    assert out.read_bytes() == again.read_bytes() == html.encode("utf-8")
    # The data is from March 2026; a date of today in the page would be a clock.
    today = datetime.now().strftime("%Y-%m-%d")
    assert today.startswith("2026-03") or today not in html


def test_empty_warehouse_still_renders(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    connect(path).close()
    page_html = report.build_report(path, lock_timeout_s=5)
    page = read(page_html)
    assert page.figures == {}
    for heading in ("The dataset at a glance", "Cases by country", "Change over time",
                    "Data quality", "Runs"):  # fmt: skip
        assert f">{heading}</h2>" in page_html
    assert "The warehouse holds no cases yet" in page_html
    assert "No refresh run recorded yet" in page_html
    assert page.glance["Active cases"].startswith("0")
    assert page.glance["Last refresh"].startswith("never")


def test_one_run_says_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "one.duckdb"
    with writing(path) as con:
        start_run(con, "only", day(0), {})
        load_records(
            con, [make_record(17001), make_record(5001, country_code="CO")],
            run_id="only", seen_at=day(0), primary_lang="en",
        )  # fmt: skip
        finish_run(con, "only", day(0), {"fetched": 2, "new": 2, "duration_s": 1.0})
    page_html = report.build_report(path, lock_timeout_s=5)
    page = read(page_html)
    assert "Only one run so far: its cases are all new" in page_html
    assert "No case has changed since it was first loaded" in page_html
    assert "No open fetch failures" in page_html
    assert page.figures["changes-per-run"].cells()[("only", "new")] == 2
    assert "changed-fields" not in page.figures


def test_a_run_that_never_finished(tmp_path: Path) -> None:
    # A run that crashed after start_run: no end, no counts, no case.
    path = tmp_path / "crashed.duckdb"
    with writing(path) as con:
        start_run(con, "crashed", day(0), {})
    page_html = report.build_report(path, lock_timeout_s=5)
    page = read(page_html)
    assert "(not finished)" in page.glance["Last refresh"]
    assert "The runs recorded so far created no case version" in page_html
    duration = page.figures["run-duration"]
    assert duration.values() == {"crashed": 0.0}
    assert "—" in " ".join(duration.text)
    requests = page.figures["run-requests"].table_rows()["crashed"]
    assert requests[2] == "—" and requests[4] == "0" and requests[8] == "—"


def _svg(page_html: str, chart: str) -> str:
    return page_html.split(f'<svg id="{chart}"', 1)[1].split("</svg>", 1)[0]


def test_page_requests_are_what_the_bars_count_and_a_no_change_run_is_drawn(
    tmp_path: Path,
) -> None:
    path = tmp_path / "quiet.duckdb"
    with writing(path) as con:
        start_run(con, "r1", day(0), {})
        load_records(con, [make_record(17001), make_record(17002)], run_id="r1",
                     seen_at=day(0), primary_lang="en")  # fmt: skip
        # 2 pages, 3 retries, robots.txt and the sitemap: 7 HTTP requests, 2 page requests.
        finish_run(con, "r1", day(0), {"fetched": 2, "new": 2, "requests": 7, "duration_s": 2.0})
        start_run(con, "r2", day(1), {})
        touch_seen(con, [(17001, "en"), (17002, "en")], day(1), run_id="r2")
        # Nothing changed, and the sitemap said so: no page was asked for at all.
        finish_run(con, "r2", day(1), {"sitemap_unchanged": 2, "requests": 2, "duration_s": 1.0})
    page_html = report.build_report(path, lock_timeout_s=5)
    page = read(page_html)
    requests = page.figures["run-requests"]
    bars = defaultdict(float)
    for (run, _), value in requests.cells().items():
        bars[run] += value
    assert dict(bars) == {"r1": 2.0, "r2": 0.0}
    table = requests.table_rows()
    assert [table[run][4] for run in ("r1", "r2")] == ["2", "0"]  # page requests, as drawn
    assert [table[run][5] for run in ("r1", "r2")] == ["7", "2"]  # every HTTP request
    assert "n = 2 page requests in 2 runs" in page_html  # the caption counts what is drawn
    svg = _svg(page_html, "run-requests")
    assert svg.count('<rect class="zero"') == 1  # r2: drawn at zero, not an empty row
    assert ">0 · 2 not requested</text>" in svg
    changes = _svg(page_html, "changes-per-run")
    assert changes.count('<rect class="zero"') == 1 and ">0: no change</text>" in changes


def test_a_report_of_3744_cases_counts_every_one(tmp_path: Path) -> None:
    # Its time is bench/bench_report.py's to measure, not a test's.
    path = tmp_path / "big.duckdb"
    codes = [c.code for c in COUNTRIES]
    means = ("deliberation", "direct_voting", "e_participation", "citizen_representation")
    records = [
        make_record(
            (i % 18 + 1) * 1000 + i // 18 + 1,
            country_code=codes[i % 18],
            means=means[: i % 4 + 1],
            co_governance=(None, True, False)[i % 3],
            issues=(issue("ends", f"Other {i % 7}", "unknown option"),) if i % 5 == 0 else (),
        )
        for i in range(3744)
    ]
    with writing(path) as con:
        start_run(con, "big", day(0), {})
        load_records(con, records, run_id="big", seen_at=day(0), primary_lang="en")
        finish_run(con, "big", day(0), {"fetched": 3744, "new": 3744})
    out = report.write_report(path, tmp_path / "big.html", lock_timeout_s=5)
    chart = read(out.read_text(encoding="utf-8")).figures["cases-by-country"]
    assert sum(chart.values().values()) == 3744


def test_write_report_errors_and_keeps_the_old_file(db: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(
        LatinnoError, match=r"cannot write the report: .*/file is a file, not a directory"
    ):
        report.write_report(db, blocker / "sub" / "r.html", lock_timeout_s=5)
    old = tmp_path / "old.html"
    earlier = '<meta name="generator" content="latinno-pipeline report">old report'
    old.write_text(earlier, encoding="utf-8")
    with pytest.raises(LatinnoError, match="no warehouse at this path"):
        report.write_report(tmp_path / "none.duckdb", old, lock_timeout_s=5)
    assert old.read_text(encoding="utf-8") == earlier
    assert not (tmp_path / "none.duckdb").exists()
    # A directory gets the report under its default name; no temporary file is left behind.
    written = report.write_report(db, tmp_path, lock_timeout_s=5)
    assert written == tmp_path / "latinno-report.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "file",
        "latinno-report.html",
        "old.html",
    ]


# --- the command ----------------------------------------------------------------------------------

RUNNER = (
    "import sys\n"
    "from latinno.cli import main\n"
    "sys.argv[0] = 'latinno'\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    loaded = any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules)\n"
    "    print('PREFECT_LOADED' if loaded else 'NO_PREFECT', file=sys.stderr)\n"
)
HOLDER = (
    "import sys\n"
    "from pathlib import Path\n"
    f"sys.path.insert(0, {str(TESTS)!r})\n"
    "from _warehouse_support import day, make_record\n"
    "from warehouse.db import connect\n"
    "from warehouse.load import load_records\n"
    "con = connect(Path(sys.argv[1]))\n"
    "load_records(con, [make_record(1001)], run_id='holder', seen_at=day(0), primary_lang='en')\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "con.close()\n"
)


def latinno(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


@pytest.mark.process
def test_cli_writes_the_report_and_prints_its_path(db: Path, html: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    default = tmp_path / "out" / "default.html"
    config.write_text(f"report:\n  path: {default}\n", encoding="utf-8")
    # Another zone and locale for the process: nothing in the page may depend on them.
    result = latinno("report", "--db", str(db), "--config", str(config), env={"TZ": "Asia/Tokyo"})
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{default}\n"
    assert result.stderr.strip() == "NO_PREFECT"
    assert default.read_text(encoding="utf-8") == html

    chosen = tmp_path / "chosen.html"
    result = latinno("report", "--db", str(db), "--out", str(chosen), "--config", str(config))
    assert result.returncode == 0 and result.stdout == f"{chosen}\n"


@pytest.mark.parametrize("case", ["missing-db", "unwritable-out", "bad-config"])
@pytest.mark.process
def test_cli_bad_input_is_one_line(db: Path, tmp_path: Path, case: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    args = {
        "missing-db": ["--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "r.html")],
        "unwritable-out": ["--db", str(db), "--out", str(blocker / "r.html")],
        "bad-config": ["--db", str(db), "--config", str(tmp_path / "nope.yaml")],
    }[case]
    result = latinno("report", *args)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line != "NO_PREFECT"]
    assert len(lines) == 1 and lines[0].startswith("latinno: error: "), result.stderr
    assert "Traceback" not in result.stderr
    expected = {
        "missing-db": "none.duckdb: no warehouse at this path",
        "unwritable-out": "r.html: cannot write the report: ",
        "bad-config": "nope.yaml",
    }[case]
    assert expected in lines[0]


@pytest.mark.process
def test_cli_waits_for_a_locked_warehouse_then_says_who_holds_it(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    config = tmp_path / "config.yaml"
    config.write_text("warehouse:\n  read_lock_timeout_s: 0.5\n", encoding="utf-8")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = latinno(
            "report", "--db", str(path), "--config", str(config),
            "--out", str(tmp_path / "r.html"),
        )  # fmt: skip
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert result.returncode == 1
    assert "busy.duckdb: database is locked by" in result.stderr
    assert f"PID {holder.pid}" in result.stderr
    assert not (tmp_path / "r.html").exists()
