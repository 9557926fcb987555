"""Peer benchmark (issue 12): `latinno refresh` against a bare floor and a Scrapy spider.

    python bench/bench_peer.py [--sizes 300,3744] [--rounds 3] [--concurrency 8] [--at REV]
                               [--no-write] [--keep]

The generated site (English pages only: ``latinno.sitemodel.generate``) is served by nginx on
loopback,
so the server is never the bottleneck; nginx answers conditional GETs with 304 (ETag and
Last-Modified of the files) and sends ``Cache-Control: max-age=0`` so that Scrapy's RFC 2616
cache revalidates every page, as our no-change run does. robots.txt names the sitemap, whose
``<lastmod>`` are the files' mtimes. Per round and size, each a whole process, in an order that
rotates between rounds:

- floor: a bare httpx loop over the case URLs with the project's parser (bench_refresh's floor),
  records into DuckDB at the end;
- Scrapy: a ``SitemapSpider`` (robots.txt obeyed, the sitemap read, the same parser in the
  callback), a JSONL feed loaded into DuckDB at the end; and, as the no-change peer, a first run
  with ``HTTPCACHE_ENABLED`` and ``RFC2616Policy`` followed by a rerun (every page a
  conditional GET answered 304, parsed again from the cache);
- ``latinno refresh`` (``source.discovery: sitemap``): full with a warm Prefect server (started
  once by this script); full cold (no PREFECT_API_URL: Prefect's temporary server), first
  with a fresh PREFECT_HOME (the first run on a machine: the temporary server creates its
  database) and then again with that home kept (every later run); no-change
  with every page revalidated (``trust_sitemap_lastmod: false``) and trusting the sitemap;
- the no-change floor: a bare httpx loop of conditional GETs with the validators of a first pass.

Scrapy lives in its own virtualenv under bench/.work/ (created on first use; the parser's
dependencies at the versions of requirements.lock), never in the project's .venv. ``--at REV``
measures a commit's files (``git archive``) instead of the working tree. Medians over rounds of
wall-clock and CPU seconds (user + system of the whole process tree), peak RSS of each whole
process tree (sampled from /proc: Prefect's temporary server included), ratios
against the floor and against Scrapy, written to bench/results/peer.md with the machine, the
date and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _machine import describe_machine
from bench_refresh import FLOOR_SCRIPT, WORK, free_port, run_measured

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "peer.md"
LATINNO = str(REPO / ".venv" / "bin" / "latinno")
SCRAPY_VENV = WORK / "scrapy-venv"
SCRAPY_VERSION = "2.19.0"
# The parser's own dependencies, pinned to requirements.lock so it parses at the same speed.
LOCKED_FOR_SCRAPY = (
    "beautifulsoup4",
    "lxml",
    "soupsieve",
    "typing-extensions",
    "pydantic",
    "pyyaml",
    "duckdb",
)
FIXED_COST_HEADING = "## Fixed cost"

# bench_refresh's floor, then its records into DuckDB as a plain table (argv[2]: the file).
FLOOR_TO_DUCKDB = (
    FLOOR_SCRIPT
    + """
import duckdb, pyarrow
rows = pyarrow.Table.from_pylist([r.to_dict() for r in records])
with duckdb.connect(sys.argv[2]) as con:
    con.execute("CREATE OR REPLACE TABLE cases AS SELECT * FROM rows")
"""
)

# The no-change floor: every page asked with the validators of a first pass; all must be 304.
CONDITIONAL_SCRIPT = """
import asyncio, collections, json, sys, time, httpx
pages = json.load(open(sys.argv[2]))
conc = int(sys.argv[1])
async def main():
    sem = asyncio.Semaphore(conc)
    limits = httpx.Limits(max_connections=conc)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        async def one(page):
            url, etag, modified = page
            headers = {"If-None-Match": etag, "If-Modified-Since": modified}
            async with sem:
                r = await client.get(url, headers=headers)
            return r.status_code
        return await asyncio.gather(*(one(p) for p in pages))
t = time.perf_counter()
statuses = collections.Counter(asyncio.run(main()))
print(statuses[304], time.perf_counter() - t, json.dumps(statuses))
"""

# The Scrapy peer. argv: base URL, feed file, DuckDB file, concurrency, cache dir or "-".
SCRAPY_SCRIPT = """
import json, sys
from scrapy.crawler import CrawlerProcess
from scrapy.spiders import SitemapSpider
from parsers import parse_case

base, feed, db, concurrency, cache_dir = sys.argv[1:6]

class CaseSpider(SitemapSpider):
    name = "latinno-peer"
    sitemap_urls = [base + "/robots.txt"]
    sitemap_rules = [(r"/[a-z]{2}/case/[0-9]+/$", "parse_page")]

    def parse_page(self, response):
        yield parse_case(response.body, response.url).to_dict()

settings = {
    "CONCURRENT_REQUESTS": int(concurrency),
    "CONCURRENT_REQUESTS_PER_DOMAIN": int(concurrency),
    "ROBOTSTXT_OBEY": True,
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    "LOG_LEVEL": "INFO",
    "FEEDS": {feed: {"format": "jsonlines", "overwrite": True}},
}
if cache_dir != "-":
    settings.update(
        HTTPCACHE_ENABLED=True,
        HTTPCACHE_POLICY="scrapy.extensions.httpcache.RFC2616Policy",
        HTTPCACHE_DIR=cache_dir,
    )
process = CrawlerProcess(settings)
crawler = process.create_crawler(CaseSpider)
process.crawl(crawler)
process.start()
import duckdb
with duckdb.connect(db) as con:
    con.execute(
        "CREATE OR REPLACE TABLE cases AS SELECT * FROM read_json(?, format='newline_delimited')",
        [feed],
    )
    items = con.execute("SELECT count(*) FROM cases").fetchone()[0]
stats = crawler.stats.get_stats()
wanted = ("httpcache/", "downloader/response_status")
keep = {k: v for k, v in stats.items() if k.startswith(wanted)}
print(json.dumps({"items": items, **keep}))
"""

NGINX_CONF = """
daemon off;
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; application/xml xml; text/plain txt; }}
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    open_file_cache max=20000 inactive=300s;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
{servers}
}}
"""

NGINX_SERVER = """
    server {{
        listen 127.0.0.1:{port};
        root {site};
        index index.html;
        # Stale at once: Scrapy's RFC 2616 cache revalidates every page, as our no-change run
        # does ("no-cache" would make it re-fetch without validators).
        add_header Cache-Control "max-age=0";
        location = /robots.txt {{ root {meta}; }}
        location = /sitemap.xml {{ root {meta}; }}
    }}
"""

REFRESH_KINDS = ("refresh_warm", "refresh_revalidate", "refresh_lastmod")


def measure(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> dict[str, Any]:
    """bench_refresh's run_measured, plus the CPU seconds (user + system) of the process tree.

    RUSAGE_CHILDREN grows by what each descendant used once it is waited for: the measured
    process and Prefect's temporary server. CPU seconds move far less than
    wall-clock seconds when other work shares the machine.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    measured = run_measured(cmd, env, stdin)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    measured["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return measured


# -- processes ------------------------------------------------------------------------------


def stop_group(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a process started in its own session, and everything it started."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Children that outlived their parent are still in the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited {proc.returncode} before answering {url}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"{what} did not answer {url} within {timeout:.0f} s")


def start_prefect_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """A Prefect server on a free loopback port, in its own session (stopped as a group)."""
    port = free_port()
    cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_http(f"{url}/health", proc, "prefect server")
    except BaseException:
        stop_group(proc)
        raise
    return proc, url


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if found is None:
        print(
            "bench_peer: nginx is not installed. On Debian/Ubuntu: "
            "sudo apt-get update && sudo apt-get install -y nginx "
            "(only the binary is used; this script writes its own config and stops it).",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return found


def start_nginx(tmp: Path, sites: dict[int, Path]) -> tuple[subprocess.Popen, dict[int, str]]:
    """One nginx serving each generated site on its own port; returns the base URL per size."""
    binary = nginx_binary()
    servers, urls = [], {}
    for size, site in sites.items():
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        meta = tmp / f"meta-{size}"
        meta.mkdir()
        write_sitemap(site, meta, base)
        servers.append(NGINX_SERVER.format(port=port, site=site, meta=meta))
        urls[size] = base
    conf = tmp / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(workers=os.cpu_count() or 1, tmp=tmp, servers="".join(servers))
    )
    # mkdtemp makes a 0700 folder; nginx workers run unprivileged and must read robots/sitemap.
    tmp.chmod(0o755)
    proc = subprocess.Popen(
        [binary, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "nginx-error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        for base in urls.values():
            wait_http(f"{base}/robots.txt", proc, "nginx", timeout=20)
    except BaseException:
        stop_group(proc)
        raise
    return proc, urls


def write_sitemap(site: Path, meta: Path, base: str) -> None:
    """robots.txt naming the sitemap; the sitemap with each page file's mtime as lastmod."""
    from latinno.sitemodel.server import iter_case_page_mtimes, w3c_datetime

    entries = [
        f"<url><loc>{base}/{lang}/case/{case_id}/</loc>"
        f"<lastmod>{w3c_datetime(mtime_s)}</lastmod></url>"
        for lang, case_id, mtime_s in iter_case_page_mtimes(site)
    ]
    (meta / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "\n".join(entries)
        + "\n</urlset>\n",
        encoding="utf-8",
    )
    (meta / "robots.txt").write_text(
        f"User-agent: *\nAllow: /\n\nSitemap: {base}/sitemap.xml\n", encoding="ascii"
    )


# -- the Scrapy virtualenv --------------------------------------------------------------------


def locked_versions(names: tuple[str, ...]) -> list[str]:
    lock = (REPO / "requirements.lock").read_text(encoding="utf-8")
    pins = []
    for name in names:
        match = re.search(rf"^{re.escape(name)}==([^\s;\\]+)", lock, re.M | re.I)
        pins.append(f"{name}=={match.group(1)}" if match else name)
    return pins


def scrapy_python() -> Path:
    """The Scrapy virtualenv's interpreter, created and filled on first use."""
    python = SCRAPY_VENV / "bin" / "python"
    probe = "import scrapy, duckdb, bs4, lxml, yaml, pydantic; print(scrapy.__version__)"
    if python.exists():
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == SCRAPY_VERSION:
            return python
    print(f"bench_peer: installing Scrapy {SCRAPY_VERSION} into {SCRAPY_VENV}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(SCRAPY_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, f"scrapy=={SCRAPY_VERSION}", *locked_versions(LOCKED_FOR_SCRAPY)], check=True
    )
    return python


# -- one measurement each -----------------------------------------------------------------------


class SizeRun:
    """Everything one site size needs across rounds: URLs, validators, configs, results."""

    def __init__(self, size: int, site: Path, base: str, tmp: Path) -> None:
        self.size = size
        self.site = site
        self.base = base
        self.dir = tmp / f"size-{size}"
        self.dir.mkdir()
        ids = sorted(int(p.name) for p in (site / "en" / "case").iterdir())
        self.pages = len(ids)
        self.urls = [f"{base}/en/case/{i}/" for i in ids]
        self.validators = self.dir / "validators.json"
        self.config = self.dir / "peer.yaml"
        self.config.write_text("source:\n  discovery: sitemap\n")
        self.revalidate = self.dir / "revalidate.yaml"
        self.revalidate.write_text(
            "source:\n  discovery: sitemap\n  trust_sitemap_lastmod: false\n"
        )
        self.rows: dict[str, list[dict[str, Any]]] = {}

    def add(self, kind: str, measured: dict[str, Any]) -> None:
        measured.pop("stdout", None)
        self.rows.setdefault(kind, []).append(measured)


async def _collect_validators(urls: list[str], concurrency: int) -> list[list[str]]:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

        async def one(url: str) -> list[str]:
            async with sem:
                r = await client.get(url)
            r.raise_for_status()
            return [url, r.headers["etag"], r.headers["last-modified"]]

        return await asyncio.gather(*(one(u) for u in urls))


def measure_floor(s: SizeRun, env: dict[str, str], conc: int, round_no: int) -> None:
    db = s.dir / f"floor-{round_no}.duckdb"
    cmd = [sys.executable, str(s.dir.parent / "floor.py"), str(conc), str(db)]
    measured = measure(cmd, env, "\n".join(s.urls))
    count = int(measured["stdout"].split()[0])
    assert count == s.pages, f"floor parsed {count} of {s.pages} pages"
    assert duck_count(db, "SELECT count(*) FROM cases") == s.pages
    s.add("floor", measured)


def measure_conditional(s: SizeRun, env: dict[str, str], conc: int, round_no: int) -> None:
    cmd = [sys.executable, str(s.dir.parent / "conditional.py"), str(conc), str(s.validators)]
    measured = measure(cmd, env)
    count = int(measured["stdout"].split()[0])
    assert count == s.pages, f"conditional floor: {count} of {s.pages} answered 304"
    s.add("floor_conditional", measured)


def measure_scrapy(s: SizeRun, env: dict[str, str], conc: int, round_no: int, python: Path) -> None:
    def crawl(kind: str, cache: Path | None, db: Path) -> dict[str, Any]:
        feed = s.dir / f"{kind}-{round_no}.jsonl"
        spider = s.dir.parent / "peer_spider.py"
        cmd = [str(python), str(spider), s.base, str(feed), str(db), str(conc)]
        measured = measure([*cmd, str(cache) if cache else "-"], env)
        stats = json.loads(measured["stdout"].strip().splitlines()[-1])
        assert stats["items"] == s.pages, f"{kind}: {stats['items']} of {s.pages} items"
        measured["stats"] = stats
        return measured

    s.add("scrapy", crawl("scrapy", None, s.dir / f"scrapy-{round_no}.duckdb"))
    cache = s.dir / f"httpcache-{round_no}"
    db = s.dir / f"scrapy-cached-{round_no}.duckdb"
    s.add("scrapy_cache_first", crawl("scrapy_cache_first", cache, db))
    rerun = crawl("scrapy_cached", cache, db)
    revalidated = rerun["stats"].get("httpcache/revalidate", 0)
    # Every case page (plus robots.txt and the sitemap) must have been asked and answered 304.
    assert revalidated >= s.pages, f"Scrapy rerun: {revalidated} of {s.pages} revalidated, {rerun}"
    s.add("scrapy_cached", rerun)


def refresh_cmd(s: SizeRun, db: Path, conc: int, config: Path) -> list[str]:
    return [
        LATINNO,
        "refresh",
        "--config",
        str(config),
        "--base-url",
        s.base,
        "--db",
        str(db),
        "--rate",
        "0",
        "--concurrency",
        str(conc),
    ]


def last_run(db: Path) -> dict[str, Any]:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        cur = con.execute(
            "SELECT duration_s, fetched, not_modified, discovered FROM runs "
            "ORDER BY started_at DESC LIMIT 1"
        )
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
    if row is None:
        raise SystemExit(f"{db}: the refresh recorded no run")
    return dict(zip(names, row, strict=True))


def duck_count(db: Path, sql: str) -> int:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def measure_refresh(s: SizeRun, env: dict[str, str], conc: int, round_no: int) -> None:
    db = s.dir / f"refresh-{round_no}.duckdb"
    for kind, config in zip(REFRESH_KINDS, (s.config, s.revalidate, s.config), strict=True):
        measured = measure(refresh_cmd(s, db, conc, config), env)
        run = last_run(db)
        measured["flow"] = run["duration_s"]
        if kind == "refresh_warm":
            assert duck_count(db, "SELECT count(*) FROM cases") == s.pages
        elif kind == "refresh_revalidate":
            assert run["not_modified"] == s.pages, f"revalidate: {run} for {s.pages} pages"
        else:
            assert not run["fetched"], f"lastmod no-change fetched pages: {run}"
        s.add(kind, measured)


def measure_cold(s: SizeRun, env: dict[str, str], conc: int, round_no: int) -> None:
    """Without a Prefect server: the first run on a machine (a fresh Prefect home, whose
    database the temporary server creates), then a later one (the same home)."""
    home = s.dir / f"prefect-cold-{round_no}"
    cold_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    cold_env["PREFECT_HOME"] = str(home)
    for kind in ("refresh_cold", "refresh_cold_kept"):
        db = s.dir / f"{kind}-{round_no}.duckdb"
        measured = measure(refresh_cmd(s, db, conc, s.config), cold_env)
        measured["flow"] = last_run(db)["duration_s"]
        assert duck_count(db, "SELECT count(*) FROM cases") == s.pages
        s.add(kind, measured)
    shutil.rmtree(home, ignore_errors=True)


# -- the run ------------------------------------------------------------------------------------


def ensure_site(size: int) -> Path:
    from latinno.sitemodel.generate import generate_site

    site = WORK / f"site-{size}"
    if not (site / "en" / "case").is_dir() or len(list((site / "en" / "case").iterdir())) != size:
        shutil.rmtree(site, ignore_errors=True)
        print(f"bench_peer: generating {size} pages under {site}", flush=True)
        generate_site(site, total=size)
    return site


def code_tree(rev: str | None) -> tuple[Path, str]:
    """The source tree to measure, and how to name it: the working tree, or a commit's files."""
    git = ["git", "-C", str(REPO)]
    if rev is None:
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            [
                *git,
                "status",
                "--porcelain",
                "--",
                "flows",
                "latinno",
                "parsers",
                "warehouse",
            ],
            capture_output=True,
            text=True,
        )
        name = head.stdout.strip() or "unknown"
        return REPO, name + (" + uncommitted changes" if dirty.stdout.strip() else "")
    sha = subprocess.run(
        [*git, "rev-parse", "--short=12", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = WORK / f"tree-{sha}"
    if not (tree / "flows").is_dir():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        archive = subprocess.Popen([*git, "archive", sha], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(tree)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise SystemExit(f"git archive {sha} failed")
    return tree, sha


def run(args: argparse.Namespace) -> dict[str, Any]:
    nginx_binary()  # fails first, with how to install it
    python = scrapy_python()
    code, code_name = code_tree(args.at)
    sites = {size: ensure_site(size) for size in args.sizes}
    tmp = Path(tempfile.mkdtemp(prefix="latinno-peer-", dir=WORK))
    # Every process imports the measured tree first: scripts run from files in tmp (so their own
    # folder, not the working directory, leads sys.path; Scrapy also reads its callbacks'
    # source), and `latinno` puts PYTHONPATH before the editable install.
    for name, text in (
        ("floor.py", FLOOR_TO_DUCKDB),
        ("conditional.py", CONDITIONAL_SCRIPT),
        ("peer_spider.py", SCRAPY_SCRIPT),
    ):
        (tmp / name).write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp / "prefect-warm"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONPATH=str(code),
    )
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    started_procs: list[subprocess.Popen] = []
    try:
        nginx, bases = start_nginx(tmp, sites)
        started_procs.append(nginx)
        prefect, api_url = start_prefect_server(env)
        started_procs.append(prefect)
        warm_env = dict(env, PREFECT_API_URL=api_url)
        sizes = [SizeRun(size, sites[size], bases[size], tmp) for size in args.sizes]
        for s in sizes:
            pages = asyncio.run(_collect_validators(s.urls, args.concurrency))
            s.validators.write_text(json.dumps(pages))
        conc = args.concurrency
        groups: list[tuple[str, Callable[[SizeRun, int], None]]] = [
            ("floor", lambda s, r: measure_floor(s, env, conc, r)),
            ("scrapy", lambda s, r: measure_scrapy(s, env, conc, r, python)),
            ("refresh", lambda s, r: measure_refresh(s, warm_env, conc, r)),
            ("conditional", lambda s, r: measure_conditional(s, env, conc, r)),
            ("cold", lambda s, r: measure_cold(s, env, conc, r)),
        ]
        for round_no in range(args.rounds):
            order = groups[round_no % len(groups) :] + groups[: round_no % len(groups)]
            for s in sizes:
                for _name, step in order:
                    step(s, round_no)
                print(f"round {round_no + 1}, {s.size} pages: {brief(s)}", flush=True)
            for s in sizes:  # the feeds, caches and databases of a round are no longer needed
                for path in s.dir.glob(f"*-{round_no}*"):
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
    finally:
        for proc in reversed(started_procs):
            stop_group(proc)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": describe_machine(),
        "code": code_name,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "scrapy": SCRAPY_VERSION,
        "nginx": nginx_version(),
        "sizes": [summarize(s) for s in sizes],
    }


def brief(s: SizeRun) -> str:
    return ", ".join(f"{kind} {rows[-1]['wall']:.2f}s" for kind, rows in s.rows.items())


def nginx_version() -> str:
    done = subprocess.run([nginx_binary(), "-v"], capture_output=True, text=True)
    return (done.stderr or done.stdout).strip().split("/")[-1]


def summarize(s: SizeRun) -> dict[str, Any]:
    out: dict[str, Any] = {"pages": s.pages, "runs": {}}
    for kind, rows in s.rows.items():
        entry = {
            "wall": statistics.median(r["wall"] for r in rows),
            "walls": [round(r["wall"], 2) for r in rows],
            "rss_tree": statistics.median(r["rss_tree"] for r in rows),
            "rss_tree_max": max(r["rss_tree"] for r in rows),
            "rss": statistics.median(r["rss"] for r in rows),
            "cpu": statistics.median(r.get("cpu", 0.0) for r in rows),
        }
        if "flow" in rows[0]:
            entry["flow"] = statistics.median(r["flow"] for r in rows)
        out["runs"][kind] = entry
    return out


# -- the report ---------------------------------------------------------------------------------

FULL_ROWS = (
    ("floor", "floor: bare httpx loop + parser, records → DuckDB"),
    ("scrapy", "Scrapy `SitemapSpider`, same parser, JSONL → DuckDB"),
    ("refresh_warm", "`latinno refresh`, warm Prefect server"),
    (
        "refresh_cold",
        "`latinno refresh`, cold: temporary Prefect server, first run on the machine",
    ),
    (
        "refresh_cold_kept",
        "`latinno refresh`, cold: temporary Prefect server, Prefect home kept (later runs)",
    ),
    ("scrapy_cache_first", "Scrapy with HTTP cache on, first run (fills the cache)"),
)
NOCHANGE_ROWS = (
    ("floor_conditional", "floor: bare httpx loop of conditional GETs (all 304)"),
    ("scrapy_cached", "Scrapy rerun, `HTTPCACHE` + `RFC2616Policy` (all revalidated, reparsed)"),
    ("refresh_revalidate", "`latinno refresh` no-change, every page revalidated (all 304)"),
    ("refresh_lastmod", "`latinno refresh` no-change, sitemap lastmod trusted (none asked)"),
)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}"


def size_table(size: dict[str, Any]) -> list[str]:
    runs = size["runs"]
    lines = [
        f"### {size['pages']:,} pages",
        "",
        "| run | wall s | rounds | × floor | × Scrapy | CPU s | CPU × floor | CPU × Scrapy | "
        "peak RSS MB, tree (median / max) | inside the flow s |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows, floor_kind, scrapy_kind in (
        (FULL_ROWS, "floor", "scrapy"),
        (NOCHANGE_ROWS, "floor_conditional", "scrapy_cached"),
    ):
        floor, scrapy = runs[floor_kind], runs[scrapy_kind]
        for kind, label in rows:
            if kind not in runs:
                continue
            r = runs[kind]
            flow = f"{r['flow']:.2f}" if "flow" in r else ""
            lines.append(
                f"| {label} | {r['wall']:.2f} | {' / '.join(map(str, r['walls']))} | "
                f"{_ratio(r['wall'], floor['wall'])} | {_ratio(r['wall'], scrapy['wall'])} | "
                f"{r['cpu']:.2f} | {_ratio(r['cpu'], floor['cpu'])} | "
                f"{_ratio(r['cpu'], scrapy['cpu'])} | "
                f"{r['rss_tree']:.0f} / {r['rss_tree_max']:.0f} | {flow} |"
            )
    return [*lines, ""]


# (label, size: "small" or "big", run, against, limit) for each target of issue 12.
TARGETS = (
    ("warm: refresh ≤ Scrapy", "small", "refresh_warm", "scrapy", 1.0),
    ("warm: refresh ≤ 0.8× Scrapy", "big", "refresh_warm", "scrapy", 0.8),
    ("warm: refresh ≤ 1.3× floor", "big", "refresh_warm", "floor", 1.3),
    (
        "no-change, all revalidated: refresh ≤ Scrapy's cached rerun",
        "big",
        "refresh_revalidate",
        "scrapy_cached",
        1.0,
    ),
    (
        "no-change, all revalidated: refresh ≤ 1.2× the conditional-GET floor",
        "big",
        "refresh_revalidate",
        "floor_conditional",
        1.2,
    ),
    ("cold, first run on the machine ≤ 1.5× warm", "big", "refresh_cold", "refresh_warm", 1.5),
    ("cold, later runs ≤ 1.5× warm", "big", "refresh_cold_kept", "refresh_warm", 1.5),
)


def targets(report: dict[str, Any]) -> list[str]:
    by = {s["pages"]: s["runs"] for s in report["sizes"]}
    # The targets are for a small run (300 pages) and the whole site (3,744).
    sizes = {"small": min(by, default=0), "big": max(by, default=0)}
    sizes = {k: v for k, v in sizes.items() if v and (v < 1000) == (k == "small")}
    lines = [
        "| target | wall ratio | limit | met | CPU ratio (for reference) |",
        "|---|---:|---:|---|---:|",
    ]
    for label, which, kind, against, limit in TARGETS:
        if which not in sizes:
            continue
        runs = by[sizes[which]]
        wall = runs[kind]["wall"] / runs[against]["wall"]
        cpu = runs[kind]["cpu"] / runs[against]["cpu"]
        lines.append(
            f"| {sizes[which]:,} pages, {label} | {wall:.2f}× | {limit:.2f}× | "
            f"{'yes' if wall <= limit else 'no'} | {cpu:.2f}× |"
        )
    if "big" not in sizes:
        return [*lines, ""]
    warm = by[sizes["big"]]["refresh_warm"]
    rss = warm["rss_tree_max"]
    lines.append(
        f"| {sizes['big']:,} pages, peak RSS of the warm refresh ≤ 400 MB "
        f"(max over rounds; the main process alone: {warm['rss']:.0f} MB) | {rss:.0f} MB | "
        f"400 MB | {'yes' if rss <= 400 else 'no'} | |"
    )
    return [*lines, ""]


def render(report: dict[str, Any]) -> str:
    lb = ", ".join(f"{x:.2f}" for x in report["load_before"])
    la = ", ".join(f"{x:.2f}" for x in report["load_after"])
    head = [
        f"## {report['date']}",
        "",
        f"Code: {report['code']}. Machine: {report['machine']}.",
        "",
        f"Load average (1, 5, 15 min) before: {lb}; after: {la} (the machine is shared with "
        "other work: read the ratios, not the seconds).",
        "",
        f"nginx {report['nginx']} on loopback serving the generated site (English pages only), "
        f"Scrapy {report['scrapy']}; concurrency {report['concurrency']} everywhere, no rate "
        f"limit, medians of {report['rounds']} interleaved rounds, wall-clock seconds of whole "
        "processes (interpreter start to exit); CPU s: user + system seconds of the whole "
        "process tree (they move less than wall-clock seconds when the machine is shared). Full "
        "runs are compared with the floor and Scrapy's plain run; no-change runs with the "
        "conditional-GET floor and Scrapy's cached rerun. Peak RSS: the process and all its "
        "descendants (for the cold run, Prefect's temporary server too). "
        '"Inside the flow": `runs.duration_s`.',
        "",
    ]
    body = [line for size in report["sizes"] for line in size_table(size)]
    return "\n".join([*head, *body, "Targets (issue 12):", "", *targets(report)])


def write_results(report: dict[str, Any]) -> None:
    """Add the run before the hand-written "Fixed cost" section, if there is one."""
    section = render(report)
    if not RESULTS.exists():
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            "# Peer benchmark\n\n`python bench/bench_peer.py` adds a section per run "
            "(issue 12).\n\n" + section + "\n",
            encoding="utf-8",
        )
        return
    text = RESULTS.read_text(encoding="utf-8")
    at = text.find(f"\n{FIXED_COST_HEADING}")
    if at < 0:
        RESULTS.write_text(text.rstrip("\n") + "\n\n" + section + "\n", encoding="utf-8")
    else:
        RESULTS.write_text(
            text[:at].rstrip("\n") + "\n\n" + section + "\n" + text[at:], encoding="utf-8"
        )


def _sizes(text: str) -> list[int]:
    return sorted(int(part) for part in text.split(",") if part.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=_sizes, default=[300, 3744], help="comma-separated pages")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--no-write", action="store_true", help="print, do not write peer.md")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (debugging)")
    ap.add_argument(
        "--at", metavar="REV", help="measure a commit's files (git archive) instead of the tree"
    )
    args = ap.parse_args()
    report = run(args)
    print(json.dumps(report, indent=2))
    (WORK / "peer-last.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    if not args.no_write:
        write_results(report)
        print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
