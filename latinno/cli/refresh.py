"""``latinno refresh``, ``reparse``, ``serve`` and ``demo``: the commands that run the pipeline.

Prefect is imported inside ``refresh``, ``serve`` and ``demo`` only (``reparse`` needs no
orchestration), after the environment that keeps it quiet offline is set.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from latinno.cli.app import (
    ConfigOption,
    DbOption,
    Output,
    app,
    config_line,
    is_verbose,
    overrides_for,
    quiet_prefect,
    reap_children,
    refuse_defaults_for_the_site,
    settings_for,
)
from latinno.cli.leftovers import no_warehouse_left_by_a_failure
from latinno.cli.progress import with_progress
from latinno.config import Settings, resolve_settings
from latinno.errors import LatinnoError

EXAMPLE_QUERY = """
SELECT c.name_en AS country, count(*) AS cases,
       round(100 * avg(w.means_deliberation::INT), 1) AS pct_deliberation,
       round(100 * avg(w.ends_accountability::INT), 1) AS pct_accountability
FROM cases_wide AS w JOIN countries AS c USING (country_code)
GROUP BY ALL ORDER BY cases DESC, country LIMIT 8
""".strip()

err = Console(stderr=True)
out = Output()  # a reader gone early changes no run's exit code


def _languages(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _run_flow(params: dict[str, Any], show_progress: bool) -> dict[str, Any]:
    try:
        return _run_flow_once(params, show_progress)
    except RuntimeError as exc:
        if str(exc).startswith("Failed to reach API at"):
            # PREFECT_API_URL names a server that does not answer: checked before anything ran.
            raise LatinnoError(
                f"cannot reach the Prefect API at {os.environ.get('PREFECT_API_URL')} "
                "(PREFECT_API_URL), so nothing ran: start that server, or unset PREFECT_API_URL "
                "for a temporary one"
            ) from None
        if "ephemeral Prefect API server" not in str(exc):
            raise
        timeout = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")
        raise LatinnoError(
            f"Prefect's temporary API server did not start within {timeout} s, so nothing ran. "
            "Try again, raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or start a "
            "server (`prefect server start`) and set PREFECT_API_URL"
        ) from None


def _run_flow_once(params: dict[str, Any], show_progress: bool) -> dict[str, Any]:
    quiet_prefect("CRITICAL")
    # Without PREFECT_API_URL, Prefect starts a temporary server for this one run, and the
    # first one on a machine registers Prefect's catalog of block types: 2.5 of its 12 s
    # (bench/results/peer.md). A refresh uses no blocks; a server you start registers them.
    os.environ.setdefault("PREFECT_API_BLOCKS_REGISTER_ON_START", "false")
    from flows.refresh import refresh as refresh_flow

    return with_progress(lambda: asyncio.run(refresh_flow(**params)), terminal=show_progress)


def _print_summary(data: dict[str, Any], config: Path | None) -> int:
    from flows.summary import LANGUAGE_COLUMNS, RunSummary, language_rows, probe_rows, summary_rows

    summary = RunSummary.from_dict(data)
    if summary.headline:  # a failed run says so first, in one line
        err.print(summary.headline, style="bold red", highlight=False)
    for note in summary.notes:
        err.print(note, style="yellow", highlight=False)
    table = Table(title=f"Run {summary.run_id} ({summary.duration_s:.1f} s)", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, count in summary_rows(summary):
        table.add_row(label, str(count))
    out.print(table)
    if languages := language_rows(summary):
        by_lang = Table(title="By language", title_justify="left")
        by_lang.add_column("language")
        for _, label in LANGUAGE_COLUMNS:
            by_lang.add_column(label, justify="right")
        for row in languages:
            by_lang.add_row(*row)
        out.print(by_lang)
    if probes := probe_rows(summary):
        probing = Table(title="Probing", title_justify="left")
        for label in ("prefix", "stopped after serial", "known cases past it"):
            probing.add_column(label, justify="right")
        for numbers in probes:
            probing.add_row(*(str(n) for n in numbers))
        out.print(probing)
    out.print(config_line(config), highlight=False, soft_wrap=True)
    out.print(f"warehouse: {summary.db_path}", highlight=False, soft_wrap=True)
    if summary.failed_urls:
        err.print(
            f"[yellow]{len(summary.failed_urls)} pages still failed; they are stored in "
            "fetch_failures (see `latinno status`):[/yellow]"
        )
        for url in summary.failed_urls[:20]:
            err.print(f"  {url}")
    return summary.exit_code


@app.command(
    epilog="Example: latinno refresh --base-url http://127.0.0.1:8765 --languages en,es --limit 20"
)
def refresh(
    config: ConfigOption = None,
    db: DbOption = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="Site to fetch (overrides source.base_url).")
    ] = None,
    languages: Annotated[
        str | None, typer.Option("--languages", help="Comma-separated: en,es,pt.")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", help="Requests/s per host; 0 = no limit (local).")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", help="Requests in flight per host.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Stop discovering after N cases (a trial run).")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Ignore stored validators; re-fetch and re-parse all.")
    ] = False,
    accept_drift: Annotated[
        bool,
        typer.Option(
            "--accept-drift", help="Apply the run even if the site-drift guard would hold it."
        ),
    ] = False,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep",
            help="Probe every serial up to source.max_serial of every prefix, in every "
            "language (no sitemap, no stopping after misses): slow, finds every case.",
        ),
    ] = False,
) -> None:
    """Discover, fetch, archive, parse and load case pages (a Prefect flow).

    Exit codes: 0 every page ended fetched, not modified or gone; 2 some pages still failed
    after retries (listed, and stored in fetch_failures); 3 the site-drift guard held the run
    (nothing applied; --accept-drift applies it); 1 a fatal error.
    """
    overrides = overrides_for(
        db,
        source__base_url=base_url,
        source__languages=_languages(languages),
        politeness__rate=rate,
        politeness__concurrency=concurrency,
    )
    # Validates the overrides before Prefect starts; the flow resolves the same two values.
    settings = resolve_settings(config, overrides, "command line")
    refuse_defaults_for_the_site(config, base_url is not None)
    _check_warehouse(settings)
    _warn_about_contact(settings)
    params = {
        "config_path": str(config) if config else None,
        "overrides": overrides,
        "limit": limit,
        "full": full,
        "accept_drift": accept_drift,
        "sweep": sweep,
    }
    with no_warehouse_left_by_a_failure(settings.warehouse.path):
        data = _run_flow(params, show_progress=sys.stderr.isatty() and not is_verbose())
    raise typer.Exit(_print_summary(data, config))


@app.command(epilog="Example: latinno reparse --db data/latinno.duckdb")
def reparse(
    config: ConfigOption = None,
    db: DbOption = None,
    accept_drift: Annotated[
        bool,
        typer.Option(
            "--accept-drift", help="Apply even if the site-drift guard would hold the result."
        ),
    ] = False,
) -> None:
    """Rebuild every case row from the archived pages, with no network (after a parser change).

    Guarded like a refresh: a parser or settings change that would empty what the warehouse
    holds is held (exit 3) unless --accept-drift.
    """
    from flows.reparse import reparse_archive

    settings = settings_for(config, db, announce=False)
    _check_warehouse(settings)
    reap_children()
    counts, failures = reparse_archive(settings, accept_drift=accept_drift)
    out.print(config_line(config), highlight=False, soft_wrap=True)
    table = Table(title="Reparse", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key in (
        "pages",
        "withdrawn_skipped",
        "parsed",
        "parse_failed",
        "new",
        "changed",
        "unchanged",
        "parse_issues",
    ):
        table.add_row(key, str(getattr(counts, key)))
    out.print(table)
    if failures:
        err.print(
            f"[yellow]{len(failures)} archived pages no longer parse; their cases keep the rows "
            "they had, and the pages are stored in fetch_failures:[/yellow]"
        )
        for failure in failures[:20]:
            err.print(f"  {failure.url}: {failure.reason}", highlight=False)
    raise typer.Exit(1 if failures else 0)


@app.command(epilog="Example: PREFECT_API_URL=http://127.0.0.1:4200/api latinno serve")
def serve(
    config: ConfigOption = None,
    db: DbOption = None,
    name: Annotated[str, typer.Option("--name", help="Deployment name.")] = "scheduled",
) -> None:
    """Run the refresh on the configured cron (schedule.cron, schedule.timezone) until stopped.

    Registers a Prefect deployment and serves it; with PREFECT_API_URL pointing at a Prefect
    server, runs show in its UI.
    """
    settings = settings_for(config, db, announce=False)
    refuse_defaults_for_the_site(config, False)
    _check_warehouse(settings, refresh_running_ok=True)
    _warn_about_contact(settings)
    quiet_prefect()
    from prefect import serve as prefect_serve

    from flows.deployment import build_deployment

    deployment = build_deployment(settings, config, name=name)
    out.print(
        f"Serving deployment latinno-refresh/{name}: cron '{settings.schedule.cron}' "
        f"({settings.schedule.timezone}). Stop with Ctrl+C.",
        highlight=False,
    )
    out.print(
        f"{config_line(config)}\nwarehouse: {settings.warehouse.path}",
        highlight=False,
        soft_wrap=True,
    )
    from latinno.cli.serve_log import end_stopped_runs, watching

    def say(line: str) -> None:
        out.print(line, highlight=False, soft_wrap=True)

    try:
        with watching(name, settings, say):
            prefect_serve(deployment, print_starting_message=False)  # returns on Ctrl-C
    finally:
        for line in end_stopped_runs(name, settings):  # never left Running (issue 21)
            say(line)


@app.command(epilog="Example: latinno demo --db data/demo.duckdb")
def demo(
    config: ConfigOption = None,
    db: DbOption = None,
    root: Annotated[
        Path | None,
        typer.Option(
            "--root",
            help="Site to serve (default: the bundled fixture site, rendered into a temporary "
            "folder).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the bundled site on loopback, refresh it into DuckDB, print the run and a query,
    then write the report (report.path) and a release (release.dir).

    The refresh is `latinno refresh` with only the base URL changed: languages, discovery,
    politeness and loading come from the config (the bundled server offers a sitemap, so no
    ids are probed).
    """
    from latinno.sitemodel.build_fixtures import bundled_site

    settings = settings_for(config, db, announce=False)
    if root is not None and not root.is_dir():
        raise typer.BadParameter(f"{root} is not a directory", param_hint="--root")
    # Rendered from latinno.sitemodel rather than read from a checkout's fixtures/html, so an
    # installed package has its demo too (no copy of the pages ships in the wheel).
    with nullcontext(root) if root is not None else bundled_site() as served:
        code = _demo_run(config, db, served, str(root or "the bundled site"))
    _print_example_query(settings.warehouse.path, settings.warehouse.read_lock_timeout_s)
    _publish(settings)
    raise typer.Exit(code)


def _demo_run(config: Path | None, db: Path | None, root: Path, name: str) -> int:
    """Serve ``root`` and refresh it as configured; returns the refresh's exit code."""
    from latinno.sitemodel.server import run_server_in_thread

    with run_server_in_thread(root, sitemap=True) as server:
        out.print(f"Site server: {server.base_url} (serving {name})")
        overrides = overrides_for(db, source__base_url=server.base_url)
        params = {"config_path": str(config) if config else None, "overrides": overrides}
        data = _run_flow(params, show_progress=sys.stderr.isatty())
    return _print_summary(data, config)


def _warn_about_contact(settings: Settings) -> None:
    """Once, at start: a real site should be able to tell who crawls it (not for loopback)."""
    host = urlsplit(settings.source.base_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if settings.politeness.placeholder_contact and not loopback:
        err.print(
            f"warning: politeness.contact is still the example "
            f"({settings.politeness.contact}); set it to a URL or mailto: you answer, so "
            f"{host} can reach whoever runs this crawl",
            style="yellow",
            highlight=False,
        )


def _check_warehouse(settings: Settings, *, refresh_running_ok: bool = False) -> None:
    """A damaged warehouse, or one another refresh is running on, fails in one line before
    Prefect starts or anything is fetched (the run itself holds the run lock)."""
    from warehouse.db import check_warehouse
    from warehouse.runlock import refuse_if_running

    check_warehouse(settings.warehouse.path)
    if not refresh_running_ok:  # `serve` waits for its cron; its runs take the lock themselves
        refuse_if_running(settings.warehouse.path)


def _publish(settings: Settings) -> None:
    """The demo ends where a researcher starts: the report to look at, a release to cite."""
    from latinno.release import release_for
    from latinno.report import write_report

    timeout = settings.warehouse.read_lock_timeout_s
    report = write_report(settings.warehouse.path, settings.report.path, lock_timeout_s=timeout)
    out.print(f"\nReport (open it in a browser): {report}")
    release = release_for(settings)
    out.print(f"Release (Parquet, CSV, Stata, SPSS, codebook, citation): {release.path}")


def _print_example_query(db: Path, lock_timeout_s: float) -> None:
    from warehouse.db import reading

    with reading(db, lock_timeout_s) as con:
        cursor = con.execute(EXAMPLE_QUERY)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    out.print('\nAn example query (run your own with: latinno query "SELECT ..."):')
    out.print(EXAMPLE_QUERY, highlight=False, style="dim")
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)
