"""HTTP/1.1 over asyncio streams, at the byte level the site server needs (resetting
connections, cutting bodies short, dripping them), and the counting behind ``/__stats``.

``Connections`` reads requests (keep-alive, ``/__stats`` and ``/__stats/reset``), counts them and
sends answers; what to answer is its subclass's ``_respond`` (``latinno.sitemodel.server``).
``/__stats`` reports: total_requests, paths (requests per path), statuses, faults (by kind),
max_in_flight, max_per_second (most request starts in any one-second window), user_agents,
conditional_requests, connections (TCP connections accepted). ``/__stats`` itself is not counted.
``ServerHandle`` runs a server on its own event loop in a daemon thread (tests, benchmarks).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

REASONS = {
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


@dataclass
class Page:
    """A page's validators; bodies are read per request so a big site costs no server memory."""

    key: tuple[int, int, int]  # (st_mtime_ns, st_size, st_ino): re-hash when any changes
    etag: str
    last_modified: str
    mtime_s: int


@dataclass
class Exchange:
    ended: bool = False


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class Stats:
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


class Connections:
    """The connection side of a server: requests in, counted answers out."""

    def __init__(self) -> None:
        self._stats = Stats()
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
        self._stats = Stats(in_flight=in_flight)

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
            writer.write(encode(Response(400, body=b"bad request line\n"), "GET", False))
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        declared = headers.get("content-length", "0") or "0"
        if not declared.isdigit():
            writer.write(encode(Response(400, body=b"bad Content-Length\n"), "GET", False))
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
            response = Response(200, [("Content-Type", "application/json")], body)
            writer.write(encode(response, method, keep_alive))
            await writer.drain()
            return keep_alive

        exchange = Exchange()
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

    def _request_ended(self, exchange: Exchange) -> None:
        if not exchange.ended:
            exchange.ended = True
            self._stats.in_flight = max(0, self._stats.in_flight - 1)

    async def _respond(
        self,
        exchange: Exchange,
        method: str,
        path: str,
        headers: Mapping[str, str],
        writer: asyncio.StreamWriter,
        keep_alive: bool,
    ) -> bool:
        """Answer one request; whether the connection stays open."""
        raise NotImplementedError

    async def _send(
        self,
        exchange: Exchange,
        writer: asyncio.StreamWriter,
        response: Response,
        method: str,
        keep_alive: bool,
    ) -> bool:
        self._stats.statuses[response.status] += 1
        writer.write(encode(response, method, keep_alive))
        # The request leaves "in flight" once its bytes are handed over (before drain), so a
        # client that already has the answer and sends its next request is never double counted.
        self._request_ended(exchange)
        try:
            await writer.drain()
        except ConnectionError:
            return False
        return keep_alive

    async def _truncate(
        self, exchange: Exchange, writer: asyncio.StreamWriter, response: Response, method: str
    ) -> bool:
        """Announce the whole body, send half, then close: the client sees a short read."""
        if len(response.body) < 2:
            reset_connection(writer)
            return False
        full = encode(response, method, keep_alive=False)
        writer.write(full[: len(full) - len(response.body) // 2])
        self._request_ended(exchange)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return False

    async def _drip(
        self, writer: asyncio.StreamWriter, response: Response, method: str, pause_s: float
    ) -> bool:
        """Send the head, then the body one byte every ``pause_s``, until the client leaves."""
        self._stats.statuses[response.status] += 1
        data = encode(response, method, keep_alive=False)
        head = len(data) - (0 if method == "HEAD" else len(response.body))
        writer.write(data[:head])
        for index in range(head, len(data)):
            try:
                await writer.drain()
            except ConnectionError:
                return False
            await asyncio.sleep(pause_s)
            if writer.transport.is_closing():
                return False  # the client gave up
            writer.write(data[index : index + 1])
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return False


def not_modified(page: Page, headers: Mapping[str, str]) -> bool:
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


def not_found() -> Response:
    return Response(404, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n")


def encode(response: Response, method: str, keep_alive: bool) -> bytes:
    reason = REASONS.get(response.status, "Unknown")
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


def reset_connection(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0): the client sees a connection reset, no response."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ServerHandle:
    """A server (a :class:`Connections`) running on its own event loop in a daemon thread."""

    def __init__(self, server: Connections, host: str, port: int) -> None:
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
