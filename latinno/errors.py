"""Every error the pipeline raises on purpose. Messages name the URL, field, key or table.

The CLI turns any ``LatinnoError`` into one line on stderr and the exit code of its class.
"""

from __future__ import annotations

from typing import Any


def _restore(cls: type[LatinnoError], args: tuple[Any, ...], state: dict[str, Any]) -> LatinnoError:
    """Rebuild an error without calling its ``__init__`` (see ``LatinnoError.__reduce__``)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class LatinnoError(Exception):
    """Base of all expected failures; ``exit_code`` is what the CLI exits with.

    Errors cross process boundaries (a process pool, Prefect), so every subclass must survive
    pickling. ``BaseException`` pickles as ``cls(*self.args)``, which fails for any subclass whose
    ``__init__`` takes other arguments than its message (``PageParseError(url, reason)``); this
    ``__reduce__`` restores ``args`` and the attributes instead, so new subclasses need nothing.
    """

    exit_code: int = 1

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(self.__dict__)))


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
    """Another process holds the DuckDB lock longer than we are willing to wait.

    ``holder`` names that process as well as we can tell (its command line and PID); ``setting``
    is the timeout that applied to the waiting command: ``warehouse.read_lock_timeout_s`` for
    readers (query, export, status), ``warehouse.lock_timeout_s`` for writers.
    """

    def __init__(
        self,
        path: str,
        waited_s: float,
        holder: str,
        setting: str = "warehouse.lock_timeout_s",
    ) -> None:
        self.path = path
        self.waited_s = waited_s
        self.holder = holder
        self.setting = setting
        super().__init__(
            f"{path}: database is locked by {holder}; waited {waited_s:.0f}s ({setting}). "
            f"Wait for that process to finish (or stop it), or raise {setting}, then run again."
        )


class CorruptWarehouseError(WarehouseError):
    """The warehouse file is damaged (bad checksum, truncated) or is not a DuckDB file at all."""

    def __init__(self, path: str, problem: str, *, not_duckdb: bool = False) -> None:
        self.path = path
        self.problem = problem
        self.not_duckdb = not_duckdb
        if not_duckdb:
            advice = (
                "point --db (or warehouse.path) at the warehouse file, or move this file away "
                "and run `latinno refresh` to start a new warehouse"
            )
        else:
            advice = (
                "restore the file from a backup or a release, or move it away and run "
                "`latinno refresh` to start over with a new file"
            )
        super().__init__(f"{path}: {problem}; {advice}")


class ReadOnlyQueryError(WarehouseError):
    """``latinno query`` was given a statement that would write or reach outside the warehouse
    (another file, a URL, an extension, a setting); the message names what was refused."""


class QueryTimeoutError(WarehouseError):
    """``latinno query`` ran longer than ``query.timeout_s`` and was interrupted."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(
            f"query interrupted after {timeout_s:g}s (query.timeout_s); narrow it (WHERE, LIMIT) "
            "or raise query.timeout_s in config.yaml"
        )


class ExportError(WarehouseError):
    """``latinno export`` cannot write its folder (permissions, a file in the way, stale files)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class RefreshRunningError(LatinnoError):
    """Another refresh holds this warehouse's run lock; the message names its PID and command.

    ``pid`` is None when the holder has not written its details yet (it took the lock a moment
    ago); ``started`` is its start time (UTC, ISO 8601), ``lock_file`` the run lock's file.
    """

    def __init__(
        self,
        path: str,
        pid: int | None,
        command: str,
        started: str,
        host: str,
        lock_file: str,
    ) -> None:
        self.path = path
        self.pid = pid
        self.command = command
        self.started = started
        self.host = host
        self.lock_file = lock_file
        if pid is None:
            holder = f"another refresh (it took the run lock {lock_file} a moment ago)"
            stop = "wait for it to finish"
        else:
            holder = f"PID {pid} on {host}, `{command}`, started {started}"
            stop = f"wait for it to finish (or stop it: kill {pid} on {host})"
        super().__init__(
            f"{path}: a refresh is already running on this warehouse: {holder}; {stop}, "
            "then run again"
        )


class SiteUnreachableError(LatinnoError):
    """The site answered nothing at all (no HTTP response): the run failed before any page."""


class RunHeldError(LatinnoError):
    """The site-drift guard held a run: nothing was applied (pages stay archived)."""

    exit_code = 3
