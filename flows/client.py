"""The one place an httpx client is built, so every request carries the same identity and limits."""

from __future__ import annotations

import httpx


def build_client(*, user_agent: str, timeout_s: float, max_connections: int) -> httpx.AsyncClient:
    """An HTTP/1.1 client with keep-alive that never follows redirects by itself.

    Redirects are the fetcher's job: it follows them only to allowed hosts.
    """
    if not user_agent.strip():
        raise ValueError("user_agent must name the project and a contact URL")
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent},
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
