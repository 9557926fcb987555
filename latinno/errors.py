"""Every error the pipeline raises on purpose. Messages name the URL, field, key or table.

The CLI turns any ``LatinnoError`` into one line on stderr and the exit code of its class.
"""

from __future__ import annotations


class LatinnoError(Exception):
    """Base of all expected failures; ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1


class ConfigError(LatinnoError):
    """config.yaml (or an override) is missing, unreadable or invalid."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: setting '{key}': {problem}")


class PageParseError(LatinnoError):
    """A page could not be turned into a case record at all (not a case page, empty, cut off)."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: cannot parse case page: {reason}")


class FetchError(LatinnoError):
    """A page could not be fetched after all retries (or must not be fetched at all)."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        super().__init__(f"{url}: fetch failed: {reason}")


class WarehouseError(LatinnoError):
    """The DuckDB warehouse refused an operation; the message names the file or table."""


class DatabaseLockedError(WarehouseError):
    """Another process holds the DuckDB write lock longer than we are willing to wait."""

    def __init__(self, path: str, waited_s: float, holder: str) -> None:
        self.path = path
        self.waited_s = waited_s
        self.holder = holder
        super().__init__(
            f"{path}: database is locked by {holder}; waited {waited_s:.0f}s. "
            "Close that process or raise warehouse.lock_timeout_s, then run again."
        )


class ReadOnlyQueryError(WarehouseError):
    """``latinno query`` was given a statement that would write."""
