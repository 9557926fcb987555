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
a 301 Location (a page moved, perhaps to another host).

``/__stats`` reports: total_requests, paths (requests per path), statuses, faults (by kind),
max_in_flight, max_per_second (most request starts in any one-second window), user_agents,
conditional_requests, connections (TCP connections accepted). ``/__stats`` itself is not counted.

With ``hostile`` on, the server also serves the pages an attacker or a broken site would, at
fixed case URLs that its sitemap lists beside the real ones (``HOSTILE_PAGES``; all English,
prefix 19 = Venezuela, serials 991-997, above every fixture and generated serial):

======================  =====  ==============================================================
name                    id     what the server sends for ``/en/case/{id}/``
======================  =====  ==============================================================
``maintenance``         19991  200 text/html, body ``<h1>Maintenance</h1>``: not a case page
``double_gzip``         19992  ``Content-Encoding: gzip, gzip``: ~2 KB on the wire over 1 GiB of
                               zeros (``bomb_bytes``)
``deep_nesting``        19993  a real case page inside 1,000 nested ``<div>`` (libxml2's default
                               limit is 256 levels)
``empty``               19994  200 text/html with an empty body
``binary``              19995  200 ``text/html; charset=utf-8`` with 4 KiB of binary bytes
``invalid_utf8``        19996  a real case page declared UTF-8 (header and ``<meta>``) with one
                               invalid byte: the ``é`` of its ``<h1>`` title as latin-1 ``0xE9``
``slow_drip``           19997  a real case page, one byte every ``drip_s`` seconds (default 2)
======================  =====  ==============================================================

``hostile_spec(name)`` gives the spec the three real pages are rendered from (for expected
records). Hostile pages never get random faults and carry no validators (always 200).

The server is plain asyncio streams with HTTP/1.1 keep-alive; byte-level control is what lets
it reset connections, cut bodies short and drip them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import hashlib
import json
import os
import random
import re
import signal
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latinno.sitemodel.spec import CaseSpec

CASE_PATH = re.compile(r"^/([a-z]{2})/case/(\d{1,9})(/?)$")
FAULT_KINDS = ("500", "503", "429", "reset", "truncate", "slow")
DEFAULT_ROBOTS = "User-agent: *\nAllow: /\n"
MAX_HEADER_BYTES = 16_384

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class HostilePage:
    """A hostile page of ``--hostile`` mode: its name, case id and what it does to a client."""

    name: str
    case_id: int
    what: str
    lang: str = "en"

    @property
    def path(self) -> str:
        return f"/{self.lang}/case/{self.case_id}/"


HOSTILE_PAGES: dict[str, HostilePage] = {
    page.name: page
    for page in (
        HostilePage("maintenance", 19991, "a page that is only <h1>Maintenance</h1>"),
        HostilePage("double_gzip", 19992, "Content-Encoding gzip, gzip over 1 GiB of zeros"),
        HostilePage("deep_nesting", 19993, "a case page inside 1,000 nested <div> elements"),
        HostilePage("empty", 19994, "a 200 answer with an empty body"),
        HostilePage("binary", 19995, "binary bytes served as UTF-8 HTML"),
        HostilePage("invalid_utf8", 19996, "a UTF-8 case page with one invalid byte"),
        HostilePage("slow_drip", 19997, "a case page dripped one byte every 2 s"),
    )
}
NEST_DEPTH = 1000
_HOSTILE_BY_PATH = {page.path: page for page in HOSTILE_PAGES.values()}
_HOSTILE_TITLE = "Participatory budgeting in Mérida"


@functools.cache
def hostile_spec(name: str) -> CaseSpec:
    """The spec a real hostile page (deep_nesting, invalid_utf8, slow_drip) is rendered from."""
    from latinno.sitemodel.cases import fixture_cases
    from latinno.sitemodel.generate import case_spec
    from latinno.vocabulary import COUNTRIES

    page = HOSTILE_PAGES[name]
    country = next(c for c in COUNTRIES if c.id_prefix == page.case_id // 1000)
    templates = [spec for spec in fixture_cases() if spec.lang == "en"]
    spec = case_spec(page.case_id, country, random.Random(page.case_id), templates)
    # Plain UTF-8 text, so the one invalid byte of invalid_utf8 is the only oddity.
    return replace(spec, title=_HOSTILE_TITLE, charset="utf-8", entities=False, bom=False)


@functools.cache
def hostile_body(name: str, bomb_bytes: int = 1 << 30) -> bytes:
    """The bytes a hostile page sends (double_gzip: the coded body, ``bomb_bytes`` of zeros)."""
    from latinno.sitemodel.render import render_page

    if name == "maintenance":
        return b"<h1>Maintenance</h1>\n"
    if name == "empty":
        return b""
    if name == "binary":
        noise = random.Random(19995).randbytes(4096 - 8)
        return b"\x89PNG\r\n\x1a\n" + noise
    if name == "double_gzip":
        return _double_gzip(bomb_bytes)
    page = render_page(hostile_spec(name))
    if name == "deep_nesting":
        start = page.index(b">", page.index(b"<body")) + 1
        end = page.rindex(b"</body>")
        nested = b"<div>" * NEST_DEPTH + page[start:end] + b"</div>" * NEST_DEPTH
        return page[:start] + nested + page[end:]
    if name == "invalid_utf8":
        at = page.index(_HOSTILE_TITLE.encode(), page.index(b"<body")) + len(
            "Participatory budgeting in M"
        )
        return page[:at] + b"\xe9" + page[at + 2 :]  # é (C3 A9) as latin-1: one invalid byte
    if name == "slow_drip":
        return page
    raise KeyError(name)


def _double_gzip(size: int) -> bytes:
    step = bytes(1 << 20)
    inner = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [
        inner.compress(step[: min(len(step), size - done)]) for done in range(0, size, len(step))
    ]
    parts.append(inner.flush())
    outer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return outer.compress(b"".join(parts)) + outer.flush()


@dataclass
class _Page:
    """A page's validators; bodies are read per request so a big site costs no server memory."""

    key: tuple[int, int, int]  # (st_mtime_ns, st_size, st_ino): re-hash when any changes
    etag: str
    last_modified: str
    mtime_s: int


@dataclass
class _Exchange:
    ended: bool = False


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class _Stats:
    total: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    max_per_second: int = 0
    paths: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    faults: collections.Counter[str] = field(default_factory=collections.Counter)
    user_agents: collections.Counter[str] = field(default_factory=collections.Counter)
    conditional: int = 0
    connections: int = 0
    window: collections.deque[float] = field(default_factory=collections.deque)
    # Monotonic start time of every request per path: tests measure backoff at the server.
    times: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))

    def snapshot(self) -> dict[str, Any]:
        return {
            "total_requests": self.total,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "max_per_second": self.max_per_second,
            "paths": dict(self.paths),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "faults": dict(self.faults),
            "user_agents": dict(self.user_agents),
            "conditional_requests": self.conditional,
            "connections": self.connections,
        }


def _parse_plan(plan: Mapping[str, Sequence[str]] | None) -> dict[str, collections.deque[str]]:
    parsed: dict[str, collections.deque[str]] = {}
    for path, kinds in (plan or {}).items():
        for kind in kinds:
            if kind.split(":", 1)[0] not in FAULT_KINDS:
                raise ValueError(f"fault plan for {path}: unknown fault {kind!r}; {FAULT_KINDS}")
        parsed[path] = collections.deque(kinds)
    return parsed


def _rename_marker(body: bytes) -> bytes:
    # The class marking an applying option is renamed ("active" -> "is-on"), as a redesign of
    # the site's theme would: every option then reads as not applying.
    return re.sub(rb'(class="[^"]*?)\bactive\b', rb"\1is-on", body)


def _rename_headings(body: bytes) -> bytes:
    # The case sections get new headings, as a rewrite of the site's texts would.
    for old, new in ((b"Means", b"Instruments"), (b"Ends", b"Goals"), (b"Policy cycle", b"Stages")):
        body = re.sub(
            rb"(<h[1-6][^>]*>\s*)" + old + rb"(\s*</h[1-6]>)", rb"\1" + new + rb"\2", body
        )
    return body


# ``redesign``: the site changed under us (issue 9's drift guard is tested against these).
REDESIGNS = {"marker": _rename_marker, "headings": _rename_headings}


class SiteServer:
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
    ) -> None:
        if not 0.0 <= faults <= 1.0:
            raise ValueError(f"faults must be a share between 0 and 1, got {faults}")
        if redesign is not None and redesign not in REDESIGNS:
            raise ValueError(f"redesign must be one of {sorted(REDESIGNS)}, got {redesign!r}")
        self.redesign = redesign
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
        self._pages: dict[Path, _Page] = {}
        self._stats = _Stats()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = await asyncio.start_server(self._serve_connection, host, port, backlog=512)
        bound = self._server.sockets[0].getsockname()
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        return f"http://{shown}:{bound[1]}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def stats(self) -> dict[str, Any]:
        return self._stats.snapshot()

    def request_times(self, path: str) -> list[float]:
        return list(self._stats.times.get(path, []))

    def reset_stats(self) -> None:
        in_flight = self._stats.in_flight
        self._stats = _Stats(in_flight=in_flight)

    # -- connection handling ---------------------------------------------------------------

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._writers.add(writer)
        self._stats.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                keep_open = await self._handle(head, reader, writer)
                if not keep_open:
                    return
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(
        self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            writer.write(_encode(_Response(400, body=b"bad request line\n"), "GET", False))
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        declared = headers.get("content-length", "0") or "0"
        if not declared.isdigit():
            writer.write(_encode(_Response(400, body=b"bad Content-Length\n"), "GET", False))
            return False
        length = int(declared)
        if length:
            await reader.readexactly(length)  # GET/HEAD have no body; discard one if sent
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
        path = target.split("?", 1)[0]

        if path in ("/__stats", "/__stats/reset"):
            if path == "/__stats/reset":
                self.reset_stats()
            body = json.dumps(self.stats(), sort_keys=True).encode()
            response = _Response(200, [("Content-Type", "application/json")], body)
            writer.write(_encode(response, method, keep_alive))
            await writer.drain()
            return keep_alive

        exchange = _Exchange()
        self._request_started(path, headers)
        try:
            return await self._respond(exchange, method, path, headers, writer, keep_alive)
        finally:
            self._request_ended(exchange)

    def _request_started(self, path: str, headers: Mapping[str, str]) -> None:
        stats = self._stats
        now = time.monotonic()
        stats.total += 1
        stats.paths[path] += 1
        stats.times[path].append(now)
        stats.user_agents[headers.get("user-agent", "")] += 1
        if "if-none-match" in headers or "if-modified-since" in headers:
            stats.conditional += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        # Requests started in the last second, including this one: the max over all request
        # starts is the max over every half-open one-second window.
        window = stats.window
        window.append(now)
        while now - window[0] >= 1.0:
            window.popleft()
        stats.max_per_second = max(stats.max_per_second, len(window))

    def _request_ended(self, exchange: _Exchange) -> None:
        if not exchange.ended:
            exchange.ended = True
            self._stats.in_flight = max(0, self._stats.in_flight - 1)

    async def _respond(
        self,
        exchange: _Exchange,
        method: str,
        path: str,
        headers: Mapping[str, str],
        writer: asyncio.StreamWriter,
        keep_alive: bool,
    ) -> bool:
        if method not in ("GET", "HEAD"):
            response = _Response(405, [("Allow", "GET, HEAD")], b"method not allowed\n")
            return await self._send(exchange, writer, response, method, keep_alive)
        case = CASE_PATH.match(path)
        hostile = _HOSTILE_BY_PATH.get(path) if self.hostile else None
        if hostile is not None:
            return await self._hostile(exchange, writer, hostile, method, keep_alive)
        fault = self._pick_fault(path, is_case=case is not None)
        if fault is not None:
            kind, _, arg = fault.partition(":")
            self._stats.faults[kind] += 1
            if kind == "reset":
                _reset(writer)
                return False
            if kind in ("500", "503", "429"):
                extra = []
                if kind != "500":
                    extra = [("Retry-After", arg or self._rng.choice(("0", "1")))]
                body = f"injected {kind}\n".encode()
                response = _Response(int(kind), [("Content-Type", "text/plain"), *extra], body)
                return await self._send(exchange, writer, response, method, keep_alive)
            if kind == "slow":
                await asyncio.sleep(float(arg) if arg else self.slow_s)

        response = self._resource(path, case, headers)
        if fault is not None and fault.startswith("truncate"):
            if len(response.body) < 2:
                _reset(writer)
                return False
            # Announce the whole body, send half, then close: the client sees a short read.
            full = _encode(response, method, keep_alive=False)
            writer.write(full[: len(full) - len(response.body) // 2])
            self._request_ended(exchange)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            return False
        return await self._send(exchange, writer, response, method, keep_alive)

    async def _hostile(
        self,
        exchange: _Exchange,
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
        response = _Response(200, headers, body)
        if page.name != "slow_drip":
            return await self._send(exchange, writer, response, method, keep_alive)
        self._stats.statuses[200] += 1
        data = _encode(response, method, keep_alive=False)
        head = len(data) - (0 if method == "HEAD" else len(body))
        writer.write(data[:head])
        for index in range(head, len(data)):
            try:
                await writer.drain()
            except ConnectionError:
                return False
            await asyncio.sleep(self.drip_s)
            if writer.transport.is_closing():
                return False  # the client gave up
            writer.write(data[index : index + 1])
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return False

    def _resource(
        self, path: str, case: re.Match[str] | None, headers: Mapping[str, str]
    ) -> _Response:
        if path in self.redirects:
            return _Response(301, [("Location", self.redirects[path])])
        if case is None:
            if path == "/robots.txt":
                return self._robots(headers)
            if path == "/sitemap.xml" and self.sitemap:
                return self._sitemap(headers)
            return _not_found()
        lang, case_id, slash = case.groups()
        if not slash:
            return _Response(301, [("Location", f"/{lang}/case/{case_id}/")])
        return self._page(self.root / lang / "case" / case_id / "index.html", headers)

    def _pick_fault(self, path: str, *, is_case: bool) -> str | None:
        planned = self._plan.get(path)
        if planned:
            return planned.popleft()
        if is_case and self.faults and self._rng.random() < self.faults:
            return self._rng.choice(FAULT_KINDS)
        return None

    async def _send(
        self,
        exchange: _Exchange,
        writer: asyncio.StreamWriter,
        response: _Response,
        method: str,
        keep_alive: bool,
    ) -> bool:
        self._stats.statuses[response.status] += 1
        writer.write(_encode(response, method, keep_alive))
        # The request leaves "in flight" once its bytes are handed over (before drain), so a
        # client that already has the answer and sends its next request is never double counted.
        self._request_ended(exchange)
        try:
            await writer.drain()
        except ConnectionError:
            return False
        return keep_alive

    # -- resources -------------------------------------------------------------------------

    @property
    def _redesigned_s(self) -> int:
        # A redesigned site changed every page when the server started (sitemap, Last-Modified).
        return self._started_s if self.redesign else 0

    def _changed_s(self, st: os.stat_result) -> int:
        return max(_mtime_s(st), self._redesigned_s)

    def _read(self, file: Path) -> bytes:
        body = file.read_bytes()
        return REDESIGNS[self.redesign](body) if self.redesign else body

    def _page(self, file: Path, headers: Mapping[str, str]) -> _Response:
        try:
            st = file.stat()
            key = (st.st_mtime_ns, st.st_size, st.st_ino)
            page = self._pages.get(file)
            body = None
            if page is None or page.key != key:
                body = self._read(file)
                digest = hashlib.blake2b(body, digest_size=12).hexdigest()
                mtime_s = self._changed_s(st)
                page = _Page(key, f'"{digest}"', formatdate(mtime_s, usegmt=True), mtime_s)
                self._pages[file] = page
            validators = [("ETag", page.etag), ("Last-Modified", page.last_modified)]
            if _not_modified(page, headers):
                return _Response(304, validators)
            if body is None:
                body = self._read(file)
        except (FileNotFoundError, NotADirectoryError):
            self._pages.pop(file, None)
            return _not_found()
        return _Response(200, [("Content-Type", "text/html; charset=utf-8"), *validators], body)

    def _robots(self, headers: Mapping[str, str]) -> _Response:
        text = self.robots
        if self.sitemap and "sitemap:" not in text.lower():
            host = headers.get("host", "127.0.0.1")
            text = f"{text.rstrip()}\n\nSitemap: http://{host}/sitemap.xml\n"
        return _Response(200, [("Content-Type", "text/plain; charset=utf-8")], text.encode())

    def _sitemap(self, headers: Mapping[str, str]) -> _Response:
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
        return _Response(200, [("Content-Type", "application/xml")], body)


def iter_case_pages(root: Path) -> Iterator[tuple[str, int]]:
    """Every (lang, case id) that has an index.html under ``root``, sorted."""
    return ((lang, case_id) for lang, case_id, _ in iter_case_page_mtimes(root))


def iter_case_page_mtimes(root: Path) -> Iterator[tuple[str, int, int]]:
    """Every (lang, case id, mtime in whole seconds) with an index.html under ``root``, sorted.

    Walked with scandir and one stat per page, not glob: the sitemap is rebuilt per request.
    """
    found = []
    for lang in _subdirs(str(root)):
        if not re.fullmatch(r"[a-z]{2}", lang.name):
            continue
        for case_dir in _subdirs(os.path.join(lang.path, "case")):
            if not case_dir.name.isdigit():
                continue
            try:
                st = os.stat(os.path.join(case_dir.path, "index.html"))
            except (FileNotFoundError, NotADirectoryError):
                continue
            found.append((lang.name, int(case_dir.name), _mtime_s(st)))
    return iter(sorted(found))


def _subdirs(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return [entry for entry in entries if entry.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []


@functools.lru_cache(maxsize=4096)
def w3c_datetime(epoch_s: int) -> str:
    """``2026-11-28T17:20:05Z``: a W3C datetime (the sitemap's lastmod form) in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def _mtime_s(st: os.stat_result) -> int:
    # Integer nanoseconds floored to the second: float st_mtime can round up to the next
    # second, and Last-Modified and the sitemap's lastmod must name the very same second.
    return st.st_mtime_ns // 1_000_000_000


def _not_modified(page: _Page, headers: Mapping[str, str]) -> bool:
    inm = headers.get("if-none-match")
    if inm is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
        tags = {tag.strip().removeprefix("W/") for tag in inm.split(",")}
        return "*" in tags or page.etag in tags
    ims = headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError):
            return False
        return page.mtime_s <= since
    return False


def _not_found() -> _Response:
    return _Response(404, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n")


def _encode(response: _Response, method: str, keep_alive: bool) -> bytes:
    reason = _REASONS.get(response.status, "Unknown")
    lines = [f"HTTP/1.1 {response.status} {reason}"]
    lines += [f"{name}: {value}" for name, value in response.headers]
    if response.status != 304:
        lines.append(f"Content-Length: {len(response.body)}")
    lines.append(f"Date: {formatdate(usegmt=True)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if method == "HEAD" or response.status == 304:
        return head
    return head + response.body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0): the client sees a connection reset, no response."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ServerHandle:
    """A :class:`SiteServer` running on its own event loop in a daemon thread."""

    def __init__(self, server: SiteServer, host: str, port: int) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stopped = False
        self._error: BaseException | None = None
        self.base_url = ""
        self._thread = threading.Thread(
            target=self._run, args=(host, port), name="site-server", daemon=True
        )
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        if not self.base_url:
            raise RuntimeError("site server did not start within 10 s")

    def _run(self, host: str, port: int) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.base_url = self._loop.run_until_complete(self.server.start(host, port))
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.close())
        self._loop.close()

    def _call(self, fn: Any, *args: Any) -> Any:
        async def call() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

    def stats(self) -> dict[str, Any]:
        """A snapshot of the counters that ``/__stats`` serves."""
        stats: dict[str, Any] = self._call(self.server.stats)
        return stats

    def request_times(self, path: str) -> list[float]:
        """``time.monotonic()`` at the start of each request for ``path`` (same clock as tests)."""
        times: list[float] = self._call(self.server.request_times, path)
        return times

    def reset_stats(self) -> None:
        self._call(self.server.reset_stats)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


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
