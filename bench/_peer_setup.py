"""What the peer benchmark (bench_peer.py) runs against and with: nginx serving the generated
sites, a warm Prefect server, the Scrapy virtualenv, the scripts of the floor and of Scrapy,
and the measurement of one whole process tree."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_refresh import FLOOR_SCRIPT, WORK, free_port, run_measured

REPO = Path(__file__).resolve().parent.parent
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


def nginx_version() -> str:
    done = subprocess.run([nginx_binary(), "-v"], capture_output=True, text=True)
    return (done.stderr or done.stdout).strip().split("/")[-1]


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
