"""The one place an httpx client is built, so every request carries the same identity and limits,
and the one place response bodies are decoded (``BoundedDecoder``).

httpx would decode ``Content-Encoding`` itself, but checks no size until a decoded chunk is
handed over, and a chunk of a gzip-inside-gzip body can be gigabytes: 3.5 KB on the wire became
4.4 GB of memory (issue 13). The fetcher therefore reads the raw bytes and decodes them here, in
steps of at most ``STEP`` bytes per layer, counting every step against the cap: memory stays
within a few steps of ``max_body_bytes`` whatever the body claims to expand to.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

# What we can decode in bounded steps; a server may still send something else (refused then).
ACCEPT_ENCODING = "gzip, deflate"
STEP = 64 * 1024  # bytes one decoding layer may produce at a time
_GZIP = {"gzip", "x-gzip"}
_DEFLATE = {"deflate"}
REFUSED = "connection refused"  # the error of an attempt nobody accepted (``refused_reason``)


def build_client(*, user_agent: str, timeout_s: float, max_connections: int) -> httpx.AsyncClient:
    """An HTTP/1.1 client with keep-alive that never follows redirects by itself.

    Redirects are the fetcher's job: it follows them only to allowed hosts. Bodies are read
    raw (``aiter_raw``) and decoded with ``BoundedDecoder``, so only the codings it knows are
    asked for.
    """
    if not user_agent.strip():
        raise ValueError("user_agent must name the project and a contact URL")
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        timeout=httpx.Timeout(timeout_s),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
        ),
        follow_redirects=False,
        # No cookies: each request stands alone, as a polite crawler's should.
        cookies=None,
    )


class BodyTooLarge(Exception):
    """The decoded body passed the cap; ``size`` is how far decoding got (more than the cap)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class BodyUndecodable(Exception):
    """The body is not what its Content-Encoding says, or uses a coding we do not decode."""


def content_codings(header: str | None) -> list[str]:
    """The codings of a Content-Encoding header in the order they were applied.

    BodyUndecodable names a coding we cannot decode (we asked only for ``ACCEPT_ENCODING``).
    """
    codings = [part.strip().lower() for part in (header or "").split(",") if part.strip()]
    codings = [coding for coding in codings if coding != "identity"]
    for coding in codings:
        if coding not in _GZIP | _DEFLATE:
            raise BodyUndecodable(f"unsupported Content-Encoding {header!r}")
    return codings


class _Layer:
    """One zlib stream (gzip, with concatenated members, or deflate), decoded in steps."""

    def __init__(self, coding: str) -> None:
        self.gzip = coding in _GZIP
        # RFC 9110 "deflate" is the zlib format; some servers send raw deflate instead.
        self._wbits = 16 + zlib.MAX_WBITS if self.gzip else zlib.MAX_WBITS
        self._started = False
        self._stream = zlib.decompressobj(self._wbits)

    def decode(self, data: bytes) -> Iterator[bytes]:
        while data:
            if self._stream.eof:
                if not self.gzip:
                    return  # bytes after a deflate stream's end carry nothing
                self._stream = zlib.decompressobj(self._wbits)  # the next gzip member
            try:
                out = self._stream.decompress(data, STEP)
            except zlib.error as exc:
                if not self.gzip and not self._started and self._wbits > 0:
                    self._wbits = -zlib.MAX_WBITS
                    self._stream = zlib.decompressobj(self._wbits)
                    continue
                kind = "gzip" if self.gzip else "deflate"
                raise BodyUndecodable(f"body is not valid {kind}: {exc}") from None
            self._started = True
            if out:
                yield out
            data = self._stream.unused_data if self._stream.eof else self._stream.unconsumed_tail
        # Output zlib still holds once the input is used up, again a step at a time.
        while not self._stream.eof:
            out = self._stream.decompress(b"", STEP)
            if not out:
                return
            yield out

    @property
    def complete(self) -> bool:
        return self._stream.eof or not self._started


class BoundedDecoder:
    """Decode a body coded with ``codings`` (as applied, outermost last), refusing past ``cap``.

    ``feed`` raw chunks as they arrive, then ``finish``. Each layer yields at most ``STEP``
    bytes before the next layer (or the cap check) sees them, so memory stays within about
    ``cap`` plus one step per layer, however far the body would expand.
    """

    def __init__(self, codings: list[str], cap: int) -> None:
        self._layers = [_Layer(coding) for coding in reversed(codings)]
        self._cap = cap
        self._size = 0
        self._parts: list[bytes] = []

    def feed(self, chunk: bytes) -> None:
        self._push(0, chunk)

    def _push(self, index: int, data: bytes) -> None:
        if index == len(self._layers):
            if self._size + len(data) > self._cap:
                self._parts.append(data[: self._cap - self._size])  # for ``partial``
                raise BodyTooLarge(self._size + len(data))
            self._size += len(data)
            self._parts.append(data)
            return
        for piece in self._layers[index].decode(data):
            self._push(index + 1, piece)

    def partial(self) -> bytes:
        """What was decoded so far, at most ``cap`` bytes (a body cut short on purpose)."""
        return b"".join(self._parts)

    def finish(self) -> bytes:
        """The decoded body; BodyUndecodable when a coded stream stopped before its end."""
        for layer in self._layers:
            if not layer.complete and layer.gzip:
                raise BodyUndecodable("gzip body ends before its end marker")
        body = b"".join(self._parts)
        self._parts = [body]
        return body


# --- transport errors as a person says them ---------------------------------------------


def refused_reason(exc: BaseException) -> str | None:
    """ "connection refused" when that is what lies under httpx's ConnectError (anyio words it
    "All connection attempts failed"), else None."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ConnectionRefusedError):
            return REFUSED
        for inner in getattr(seen, "exceptions", ()):  # an ExceptionGroup of attempts
            if isinstance(inner, ConnectionRefusedError):
                return REFUSED
        seen = seen.__cause__ or seen.__context__
    return None


def plain_reason(error: str) -> str:
    """A transport error as a person says it: "connection refused", not the exception."""
    lowered = error.lower()
    for phrase in ("connection refused", "name or service not known", "no route to host"):
        if phrase in lowered:
            return phrase
    return error
