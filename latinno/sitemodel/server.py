"""Our stand-in for the LATINNO web server: serves case pages from disk the way the site does.

Routes: ``/{lang}/case/{id}/`` (no slash -> 301 to the slash form), ``/robots.txt``, optionally
``/sitemap.xml`` (each ``<url>`` with a ``<lastmod>``: the page file's mtime in UTC, the same
second its ``Last-Modified`` header names, unless ``sitemap_lastmod`` is off), and
``/__stats`` (JSON counters for politeness tests; ``/__stats/reset``).
Nothing else is ever served: only ``index.html`` files are read, so ``expected.json`` beside them
stays private. Pages are read per request (cached by mtime), so tests may edit or delete them
while the server runs.

With ``faults`` > 0 that share of case responses (seeded RNG) become 500/503/429 (the last two
with ``Retry-After``), connection resets, truncated bodies or slow answers. For tests, a
``plan`` maps any path to the faults its first requests get, and ``redirects`` maps a path to
a 301 Location (a page moved, perhaps to another host). ``marking`` serves every page with its
options marked another way than the class ``active`` (``latinno.sitemodel.marking``), for
``latinno calibrate``.

With ``hostile`` on, the server also serves the pages an attacker or a broken site would
(``latinno.sitemodel.hostile``), at fixed case URLs its sitemap lists beside the real ones.
``redesign`` serves every page as a redesigned site would (``latinno.sitemodel.redesign``).

The server is plain asyncio streams with HTTP/1.1 keep-alive; byte-level control is what lets
it reset connections, cut bodies short and drip them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import os
import random
import re
import signal
import time
from collections.abc import Mapping, Sequence
from email.utils import formatdate
from pathlib import Path
from typing import Any

from latinno.sitemodel.hostile import (
    HOSTILE_BY_PATH,
    HOSTILE_PAGES,
    NEST_DEPTH,
    HostilePage,
    hostile_body,
    hostile_spec,
)
from latinno.sitemodel.marking import MARKINGS, remark
from latinno.sitemodel.redesign import REDESIGNS
from latinno.sitemodel.sitefiles import (
    iter_case_page_mtimes,
    iter_case_pages,
    mtime_s,
    w3c_datetime,
)
from latinno.sitemodel.wire import (
    Connections,
    Exchange,
    Page,
    Response,
    ServerHandle,
    not_found,
    not_modified,
    reset_connection,
)

# What other modules import from here (the server's public face, wherever it is defined).
__all__ = [
    "FAULT_KINDS",
    "HOSTILE_PAGES",
    "NEST_DEPTH",
    "ServerHandle",
    "SiteServer",
    "hostile_body",
    "hostile_spec",
    "iter_case_page_mtimes",
    "iter_case_pages",
    "run_server_in_thread",
    "serve_forever",
    "w3c_datetime",
]

CASE_PATH = re.compile(r"^/([a-z]{2})/case/(\d{1,9})(/?)$")
FAULT_KINDS = ("500", "503", "429", "reset", "truncate", "slow")
DEFAULT_ROBOTS = "User-agent: *\nAllow: /\n"


def _parse_plan(plan: Mapping[str, Sequence[str]] | None) -> dict[str, collections.deque[str]]:
    parsed: dict[str, collections.deque[str]] = {}
    for path, kinds in (plan or {}).items():
        for kind in kinds:
            if kind.split(":", 1)[0] not in FAULT_KINDS:
                raise ValueError(f"fault plan for {path}: unknown fault {kind!r}; {FAULT_KINDS}")
        parsed[path] = collections.deque(kinds)
    return parsed


class SiteServer(Connections):
    """The asyncio server; run it with :func:`run_server_in_thread` or ``latinno site serve``."""

    def __init__(
        self,
        root: Path,
        *,
        faults: float = 0.0,
        seed: int = 0,
        sitemap: bool = False,
        sitemap_lastmod: bool = True,
        robots: str | None = None,
        slow_s: float = 0.3,
        plan: Mapping[str, Sequence[str]] | None = None,
        redirects: Mapping[str, str] | None = None,
        hostile: bool = False,
        drip_s: float = 2.0,
        bomb_bytes: int = 1 << 30,
        redesign: str | None = None,
        marking: str | None = None,
    ) -> None:
        if not 0.0 <= faults <= 1.0:
            raise ValueError(f"faults must be a share between 0 and 1, got {faults}")
        if redesign is not None and redesign not in REDESIGNS:
            raise ValueError(f"redesign must be one of {sorted(REDESIGNS)}, got {redesign!r}")
        if marking is not None and marking not in MARKINGS:
            raise ValueError(f"marking must be one of {sorted(MARKINGS)}, got {marking!r}")
        self.redesign = redesign
        self.marking = marking
        self.hostile = hostile
        self.drip_s = drip_s
        self.bomb_bytes = bomb_bytes
        self._started_s = int(time.time())
        self.root = Path(root)
        self.faults = faults
        self.sitemap = sitemap
        self.sitemap_lastmod = sitemap_lastmod
        self.robots = DEFAULT_ROBOTS if robots is None else robots
        self.slow_s = slow_s
        self._rng = random.Random(seed)
        self._plan = _parse_plan(plan)
        self.redirects = dict(redirects or {})
        self._pages: dict[Path, Page] = {}
        super().__init__()

    # -- answers ---------------------------------------------------------------------------

    async def _respond(
        self,
        exchange: Exchange,
        method: str,
        path: str,
        headers: Mapping[str, str],
        writer: asyncio.StreamWriter,
        keep_alive: bool,
    ) -> bool:
        if method not in ("GET", "HEAD"):
            response = Response(405, [("Allow", "GET, HEAD")], b"method not allowed\n")
            return await self._send(exchange, writer, response, method, keep_alive)
        case = CASE_PATH.match(path)
        hostile = HOSTILE_BY_PATH.get(path) if self.hostile else None
        if hostile is not None:
            return await self._hostile(exchange, writer, hostile, method, keep_alive)
        fault = self._pick_fault(path, is_case=case is not None)
        if fault is not None:
            kind, _, arg = fault.partition(":")
            self._stats.faults[kind] += 1
            if kind == "reset":
                reset_connection(writer)
                return False
            if kind in ("500", "503", "429"):
                extra = []
                if kind != "500":
                    extra = [("Retry-After", arg or self._rng.choice(("0", "1")))]
                body = f"injected {kind}\n".encode()
                response = Response(int(kind), [("Content-Type", "text/plain"), *extra], body)
                return await self._send(exchange, writer, response, method, keep_alive)
            if kind == "slow":
                await asyncio.sleep(float(arg) if arg else self.slow_s)

        response = self._resource(path, case, headers)
        if fault is not None and fault.startswith("truncate"):
            return await self._truncate(exchange, writer, response, method)
        return await self._send(exchange, writer, response, method, keep_alive)

    async def _hostile(
        self,
        exchange: Exchange,
        writer: asyncio.StreamWriter,
        page: HostilePage,
        method: str,
        keep_alive: bool,
    ) -> bool:
        # The gzip bomb takes ~2 s to build once: off the event loop, so other requests go on.
        body = await asyncio.to_thread(hostile_body, page.name, self.bomb_bytes)
        content_type = "text/html; charset=utf-8"
        headers = [("Content-Type", content_type)]
        if page.name == "double_gzip":
            headers.append(("Content-Encoding", "gzip, gzip"))
        response = Response(200, headers, body)
        if page.name != "slow_drip":
            return await self._send(exchange, writer, response, method, keep_alive)
        return await self._drip(writer, response, method, self.drip_s)

    def _resource(
        self, path: str, case: re.Match[str] | None, headers: Mapping[str, str]
    ) -> Response:
        if path in self.redirects:
            return Response(301, [("Location", self.redirects[path])])
        if case is None:
            if path == "/robots.txt":
                return self._robots(headers)
            if path == "/sitemap.xml" and self.sitemap:
                return self._sitemap(headers)
            return not_found()
        lang, case_id, slash = case.groups()
        if not slash:
            return Response(301, [("Location", f"/{lang}/case/{case_id}/")])
        return self._page(self.root / lang / "case" / case_id / "index.html", headers)

    def _pick_fault(self, path: str, *, is_case: bool) -> str | None:
        planned = self._plan.get(path)
        if planned:
            return planned.popleft()
        if is_case and self.faults and self._rng.random() < self.faults:
            return self._rng.choice(FAULT_KINDS)
        return None

    # -- resources -------------------------------------------------------------------------

    @property
    def _redesigned_s(self) -> int:
        # A redesigned (or re-marked) site changed every page when the server started (sitemap,
        # Last-Modified).
        return self._started_s if self.redesign or self.marking else 0

    def _changed_s(self, st: os.stat_result) -> int:
        return max(mtime_s(st), self._redesigned_s)

    def _read(self, file: Path) -> bytes:
        body = file.read_bytes()
        if self.marking:
            body = remark(body, self.marking)
        return REDESIGNS[self.redesign](body) if self.redesign else body

    def _page(self, file: Path, headers: Mapping[str, str]) -> Response:
        try:
            st = file.stat()
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
            page = self._pages.get(file)
            body = None
            if page is None or page.key != key:
                body = self._read(file)
                digest = hashlib.blake2b(body, digest_size=12).hexdigest()
                mtime_s = self._changed_s(st)
                page = Page(key, f'"{digest}"', formatdate(mtime_s, usegmt=True), mtime_s)
                self._pages[file] = page
            validators = [("ETag", page.etag), ("Last-Modified", page.last_modified)]
            if not_modified(page, headers):
                return Response(304, validators)
            if body is None:
                body = self._read(file)
        except (FileNotFoundError, NotADirectoryError):
            self._pages.pop(file, None)
            return not_found()
        return Response(200, [("Content-Type", "text/html; charset=utf-8"), *validators], body)

    def _robots(self, headers: Mapping[str, str]) -> Response:
        text = self.robots
        if self.sitemap and "sitemap:" not in text.lower():
            host = headers.get("host", "127.0.0.1")
            text = f"{text.rstrip()}\n\nSitemap: http://{host}/sitemap.xml\n"
        return Response(200, [("Content-Type", "text/plain; charset=utf-8")], text.encode())

    def _sitemap(self, headers: Mapping[str, str]) -> Response:
        base = f"http://{headers.get('host', '127.0.0.1')}"
        pages = [
            (lang, cid, max(m, self._redesigned_s))
            for lang, cid, m in iter_case_page_mtimes(self.root)
        ]
        if self.hostile:
            known = {(lang, case_id) for lang, case_id, _ in pages}
            pages = sorted(
                pages
                + [
                    (page.lang, page.case_id, self._started_s)
                    for page in HOSTILE_PAGES.values()
                    if (page.lang, page.case_id) not in known
                ]
            )
        if self.sitemap_lastmod:
            entries = [
                f"<url><loc>{base}/{lang}/case/{case_id}/</loc>"
                f"<lastmod>{w3c_datetime(mtime_s)}</lastmod></url>"
                for lang, case_id, mtime_s in pages
            ]
        else:
            entries = [
                f"<url><loc>{base}/{lang}/case/{case_id}/</loc></url>" for lang, case_id, _ in pages
            ]
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "\n".join(entries)
            + "\n</urlset>\n"
        ).encode()
        return Response(200, [("Content-Type", "application/xml")], body)


def run_server_in_thread(
    root: Path,
    *,
    port: int = 0,
    faults: float = 0.0,
    seed: int = 0,
    sitemap: bool = False,
    sitemap_lastmod: bool = True,
    robots: str | None = None,
    host: str = "127.0.0.1",
    slow_s: float = 0.3,
    plan: Mapping[str, Sequence[str]] | None = None,
    redirects: Mapping[str, str] | None = None,
    hostile: bool = False,
    drip_s: float = 2.0,
    bomb_bytes: int = 1 << 30,
    redesign: str | None = None,
    marking: str | None = None,
) -> ServerHandle:
    """Start a site server in a background thread; use as a context manager.

    ``robots`` is the robots.txt text (default allow-all). ``sitemap_lastmod`` off serves a
    sitemap without ``<lastmod>``. ``plan`` maps a path to the faults
    its first requests get, in order: ``"500"``, ``"503:1"`` (Retry-After 1), ``"429:0"``,
    ``"reset"``, ``"truncate"``, ``"slow:0.5"``; any path may have a plan, while random faults
    hit case pages only. ``redirects`` maps a path to a Location answered with 301.
    ``hostile`` adds the pages of ``HOSTILE_PAGES`` (see the module docstring); ``drip_s`` is
    the slow drip's pause per byte, ``bomb_bytes`` what the double gzip expands to.
    ``redesign`` ("marker" or "headings") serves every page as a redesigned site would.
    ``marking`` (a key of ``latinno.sitemodel.marking.MARKINGS``: aria, data-attr, image,
    icon, style, inactive-class) serves every page with its options marked that way.
    """
    server = SiteServer(
        root,
        faults=faults,
        seed=seed,
        sitemap=sitemap,
        sitemap_lastmod=sitemap_lastmod,
        robots=robots,
        slow_s=slow_s,
        plan=plan,
        redirects=redirects,
        hostile=hostile,
        drip_s=drip_s,
        bomb_bytes=bomb_bytes,
        redesign=redesign,
        marking=marking,
    )
    return ServerHandle(server, host, port)


async def serve_forever(
    root: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    faults: float = 0.0,
    seed: int = 0,
    sitemap: bool = False,
    sitemap_lastmod: bool = True,
    robots: str | None = None,
    hostile: bool = False,
    redesign: str | None = None,
    on_ready: Any = None,
    marking: str | None = None,
) -> None:
    """Run until cancelled or sent SIGTERM (the CLI's ``latinno site serve``)."""
    server = SiteServer(
        root,
        faults=faults,
        seed=seed,
        sitemap=sitemap,
        sitemap_lastmod=sitemap_lastmod,
        robots=robots,
        redesign=redesign,
        hostile=hostile,
        marking=marking,
    )
    url = await server.start(host, port)
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if on_ready is not None:
        on_ready(url)
    try:
        await stop.wait()
    finally:
        await server.close()
