"""The run core without Prefect (issue 20): fetching, batching, parsing, loading and counting
work with no orchestration; a run's counts are one typed value from batch to ``runs`` table;
old runner settings still load; a reader gone from stdout changes no exit code."""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml
from _flow_support import expected_records

from flows.batch import BatchResult, Known, LoadTarget
from flows.counts import RunCounts
from flows.fetch import Fetcher
from flows.fetch_types import FetchKind, FetchPolicy
from flows.parsing import ParseSpec
from flows.pipeline import Pipeline, Steps
from flows.sitemap import read_sitemap_entries, sitemap_pages
from flows.summary import RunSummary, language_rows, summary_rows
from latinno.config import Settings, override
from latinno.pages import case_url
from latinno.sitemodel.generate import generate_site
from latinno.sitemodel.server import run_server_in_thread
from warehouse.db import writing
from warehouse.runs import start_run

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"

# Everything a refresh does but orchestrate: none of it may need Prefect.
CORE = [
    "flows.batch",
    "flows.client",
    "flows.counts",
    "flows.discover",
    "flows.fetch",
    "flows.guard",
    "flows.heap",
    "flows.outcome",
    "flows.parsing",
    "flows.pipeline",
    "flows.politeness",
    "flows.reparse",
    "flows.sitemap",
    "flows.summary",
]


@pytest.mark.process
def test_fetching_and_the_run_core_import_no_prefect() -> None:
    code = f"import sys; import {', '.join(CORE)}; print('prefect' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


async def _run(settings: Settings, run_id: str) -> Pipeline:
    """What the refresh flow does for a first run discovered by sitemap, with the pipeline's
    units called directly instead of as Prefect tasks."""
    source, store = settings.source, settings.warehouse
    target = LoadTarget(run_id, store, source)
    spec = ParseSpec.of(settings.parser)
    async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
        pipeline = Pipeline(fetcher, Known(), spec, target, batch_size=20, full=False)
        try:
            entries = await read_sitemap_entries(fetcher, source.base_url)
            assert entries is not None
            groups = sitemap_pages(entries, source.languages, source.country_prefixes, [], [])
            await pipeline.fetch([[case_url(source.base_url, k) for k in g] for g in groups])
            await pipeline.drain()
            await pipeline.count_languages()
        finally:
            pipeline.close()
    return pipeline


def test_the_pipeline_runs_without_prefect_and_counts_typed(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    run_id = "20260101T000000Z-core00"
    with writing(db, 10) as con:
        start_run(con, run_id, datetime.now(UTC), {})
    expected = {**expected_records(FIXTURES, "es"), **expected_records(FIXTURES, "en")}
    with run_server_in_thread(FIXTURES, sitemap=True) as site:
        changes = {
            "source": {"base_url": site.base_url, "languages": ["en", "es"]},
            "politeness": {"rate": 0, "concurrency": 4},
            "warehouse": {"path": str(db)},
        }
        settings = override(Settings(), changes, "test")
        pipeline = asyncio.run(_run(settings, run_id))
    counts = pipeline.counts
    assert pipeline.failed_urls == [] and counts.failed == 0
    assert counts.new == len(expected) and counts.parsed == counts.fetched
    pages = len(expected_records(FIXTURES, "en")) + len(expected_records(FIXTURES, "es"))
    assert counts.discovered == pages == counts.lang("en").fetched + counts.lang("es").fetched
    assert counts.lang("en").cases + counts.lang("es").cases == len(expected)
    assert counts.parse_s > 0 and counts.load_s > 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM cases").fetchone() == (len(expected),)

    # One value from the batches to the runs table, the summary and back.
    row = counts.as_row()
    assert row["new"] == counts.new and row["lang_es_fetched"] == counts.lang("es").fetched
    assert RunCounts.from_row(row).as_row() == row
    summary = RunSummary(run_id, str(db), site.base_url, counts, duration_s=1.0)
    again = RunSummary.from_dict(summary.as_dict())
    assert again.as_dict() == summary.as_dict()
    assert summary_rows(again) == summary_rows(summary)
    assert [row[0] for row in language_rows(again)] == ["en", "es"]
    assert dict(summary_rows(summary))["new cases"] == len(expected)


def test_a_run_holds_a_few_batches_of_pages_however_long_it_is(tmp_path: Path) -> None:
    """Memory (issue 20): batches stop doubling at ``max_batch_size``; one batch is fetched
    while one is processed, so the pages a run holds are bounded by its largest batch."""
    root = tmp_path / "site"
    generate_site(root, total=150, seed=4)
    db = tmp_path / "w.duckdb"
    run_id = "20260101T000000Z-mem000"
    with writing(db, 10) as con:
        start_run(con, run_id, datetime.now(UTC), {})
    sizes: list[int] = []
    held, most, processing, most_processing = 0, 0, 0, 0

    async def run(settings: Settings) -> Pipeline:
        source, store = settings.source, settings.warehouse
        target = LoadTarget(run_id, store, source)
        async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
            pipeline = Pipeline(
                fetcher,
                Known(),
                ParseSpec.of(settings.parser),
                target,
                batch_size=5,
                max_batch_size=10,
                full=False,
            )
            plain = pipeline.steps

            async def fetch(batch: int, urls: list[str]) -> int:
                nonlocal held, most
                got = await plain.fetch(batch, urls)
                held += got
                most = max(most, held)
                return got

            async def process(batch: int, pages: int) -> BatchResult:
                nonlocal held, processing, most_processing
                sizes.append(pages)
                processing += 1
                most_processing = max(most_processing, processing)
                try:
                    return await plain.process(batch, pages)
                finally:
                    processing -= 1
                    held -= pages

            pipeline.steps = Steps(fetch, plain.probe, process)
            try:
                entries = await read_sitemap_entries(fetcher, source.base_url)
                assert entries is not None
                groups = sitemap_pages(entries, ["en"], source.country_prefixes, [], [])
                await pipeline.fetch([[case_url(source.base_url, k) for k in g] for g in groups])
                await pipeline.drain()
            finally:
                pipeline.close()
        return pipeline

    with run_server_in_thread(root, sitemap=True) as site:
        changes = {
            "source": {"base_url": site.base_url, "languages": ["en"]},
            "politeness": {"rate": 0, "concurrency": 4},
            "warehouse": {"path": str(db)},
        }
        pipeline = asyncio.run(run(override(Settings(), changes, "test")))
    assert pipeline.counts.new == 150 and sum(sizes) == 150
    # 8 batches of 5, then 10 (doubled once) and never 20.
    assert sizes[:8] == [5] * 8 and max(sizes) == 10
    # One batch processed at a time; pages fetched and not yet loaded: at most 3 batches.
    assert most_processing == 1
    assert most <= 3 * 10, most


def test_a_robots_refusal_and_an_unavailable_robots_txt_are_kinds_not_failure_texts() -> None:
    """flows.fetch's two robots.txt answers, as the batch sees them: one is the site's wish,
    the other a failure that names its reason."""

    async def fetch(base_url: str, path: str) -> FetchKind:
        http = {"max_retries": 1, "backoff_base_s": 0.01, "backoff_max_s": 0.02}
        changes = {"source": {"base_url": base_url}, "http": http}
        settings = override(Settings(), changes, "test")
        async with Fetcher(FetchPolicy.from_settings(settings)) as fetcher:
            return (await fetcher.get(base_url + path)).kind

    case = "/en/case/" + str(min(expected_records(FIXTURES, "en"))) + "/"
    with run_server_in_thread(FIXTURES, plan={"/robots.txt": ["500"] * 20}) as site:
        assert asyncio.run(fetch(site.base_url, case)) is FetchKind.ROBOTS_UNAVAILABLE
    with run_server_in_thread(FIXTURES, robots="User-agent: *\nDisallow: /en/\n") as site:
        assert asyncio.run(fetch(site.base_url, case)) is FetchKind.ROBOTS_DISALLOWED
    with run_server_in_thread(FIXTURES) as site:
        assert asyncio.run(fetch(site.base_url, case)) is FetchKind.OK
        assert asyncio.run(fetch(site.base_url, "/en/case/99999/")) is FetchKind.GONE


def _latinno(*args: str, cwd: Path, stdout: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latinno.cli", *args],
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    db = tmp_path / "empty.duckdb"
    with writing(db, 10):
        pass
    return db


@pytest.mark.process
def test_old_runner_settings_load_with_one_warning_line(tmp_path: Path, warehouse: Path) -> None:
    config = tmp_path / "old.yaml"
    old = {"batch_size": 50, "parse_workers": 2, "engine": "dask", "dask_address": None}
    config.write_text(yaml.safe_dump({"runner": old}))
    proc = _latinno("reparse", "--config", str(config), "--db", str(warehouse), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert "runner.parse_workers, runner.engine, runner.dask_address ignored" in line


@pytest.mark.process
def test_a_reader_gone_from_stdout_changes_no_exit_code(tmp_path: Path, warehouse: Path) -> None:
    """`latinno reparse | head -1` where head has gone: the command still ends as it ran."""
    read, write = os.pipe()
    os.close(read)  # every write to the pipe now fails with a broken pipe
    try:
        proc = _latinno("reparse", "--db", str(warehouse), cwd=tmp_path, stdout=write)
    finally:
        os.close(write)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_only_the_flow_its_tasks_and_the_deployment_import_prefect() -> None:
    importing = set()
    for path in sorted((REPO / "flows").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "prefect" for name in names):
                importing.add(path.name)
    assert importing == {"refresh.py", "tasks.py", "deployment.py"}
