"""Parse batches through Prefect's task runners: a local process pool, or a Dask cluster.

``runner.engine: local`` runs the ``parse-pages`` task on Prefect's ``ProcessPoolTaskRunner``
(``runner.parse_workers`` processes) once a run has ``runner.pool_min_pages`` pages to parse,
and in the flow's process before that; ``dask`` runs it through prefect-dask's ``DaskTaskRunner``,
on the cluster at ``runner.dask_address`` or, without one, on a ``LocalCluster`` of
``parse_workers`` single-threaded worker processes. Workers only parse and return records; the
flow's process stays the one DuckDB writer. Dask workers need this project installed (the
``parsers`` and ``flows`` packages importable) and must reach the Prefect API the flow uses.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Sequence
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.carton import Carton
from flows.parsing import (
    Backend,
    ParseEngine,
    ParseInput,
    ParseOutcome,
    ParseSpec,
    Waiter,
    parse_pages,
    settle_heap,
)
from latinno.errors import ParseEngineError

# How long to try reaching an existing Dask scheduler before the run fails.
DASK_CONNECT_TIMEOUT = "15s"


@task(name="parse-pages", cache_policy=NO_CACHE, persist_result=False)
def parse_pages_task(
    pages: Carton[list[ParseInput]], spec: ParseSpec
) -> Carton[list[ParseOutcome]]:
    """Parse a chunk of pages on a worker; never fails for a page (see flows.parsing)."""
    return Carton(parse_pages(pages.take(), spec))


def parse_inline(items: Sequence[ParseInput], spec: ParseSpec) -> list[ParseOutcome]:
    """Parse in this process as a ``parse-pages`` task run, so a small run's parsing shows in
    Prefect as a large run's does (one task run per batch costs 10-15 ms)."""
    return parse_pages_task(Carton(list(items)), spec).take()


def prepare_worker() -> None:
    """Parse worker initializer: no Prefect collections, and a settled heap.

    Hydrating the flow run's context makes Prefect import every installed collection, so each
    worker would import prefect-dask, dask, distributed and pandas: 0.6-0.8 s and about 27 MB
    per worker, for nothing (``bench/results/peer.md``). Prefect has no setting for this; the
    attribute is private, and ``tests/test_runners.py`` fails if it stops working. Then what a
    parse-pages task run needs is imported and frozen (``flows.parsing.settle_heap``).
    """
    from prefect._internal.plugins import collections

    if hasattr(collections, "_collections"):
        collections._collections = {}
    import prefect.task_engine  # noqa: F401 - what runs each parse-pages task run

    settle_heap()


def _api_url() -> str | None:
    """The API this run reports to, when Prefect runs a temporary server for this process."""
    from prefect.context import FlowRunContext
    from prefect.settings import get_current_settings

    if get_current_settings().api.url:
        return None  # configured: worker processes read the same setting
    context = FlowRunContext.get()
    return str(context.client.api_url).rstrip("/") if context is not None else None


class TaskRunnerBackend:
    """A started Prefect task runner that parses chunks as ``parse-pages`` task runs.

    Workers inherit this process's environment. Without PREFECT_API_URL each would start a
    temporary Prefect server of its own (10-25 s each, and task runs the user never sees), so
    while the runner lives the variable names the temporary server this run already uses.
    """

    def __init__(self, runner: Any, context: contextvars.Context) -> None:
        self._context = context
        self._restore: dict[str, str | None] = {}
        # Read in the flow run's context: this may run on a thread that has none (a start
        # ahead of the first batch, flows.parsing.ParseEngine.expect).
        url = context.run(_api_url)
        if url is not None:
            self._restore["PREFECT_API_URL"] = os.environ.get("PREFECT_API_URL")
            os.environ["PREFECT_API_URL"] = url
        try:
            self._runner = runner.__enter__()
        except BaseException:
            self._put_back()
            raise

    def submit(self, items: list[ParseInput], spec: ParseSpec) -> Waiter:
        # Submitted in the flow run's context, not the calling task's: Prefect ships the
        # current task run's context (its parameters: a whole batch of pages) to the worker.
        future = self._context.copy().run(
            self._runner.submit, parse_pages_task, {"pages": Carton(items), "spec": spec}
        )
        return lambda: future.result().take()

    def close(self) -> None:
        try:
            self._runner.__exit__(None, None, None)
        finally:
            self._put_back()

    def _put_back(self) -> None:
        for name, value in self._restore.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def local_backend(workers: int, context: contextvars.Context) -> Backend:
    from prefect.task_runners import ProcessPoolTaskRunner

    runner = ProcessPoolTaskRunner(max_workers=workers, initializer=prepare_worker)
    return TaskRunnerBackend(runner, context)


def dask_backend(address: str | None, workers: int, context: contextvars.Context) -> Backend:
    from prefect_dask import DaskTaskRunner

    if address is None:
        runner = DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": workers,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
                "host": "127.0.0.1",
            },
        )
    else:
        runner = DaskTaskRunner(address=address, client_kwargs={"timeout": DASK_CONNECT_TIMEOUT})
    backend = TaskRunnerBackend(runner, context)
    try:
        runner.client  # noqa: B018 - prefect-dask connects lazily; connect (or fail) now
    except OSError as exc:  # distributed's TimeoutError for a scheduler that is not there
        backend.close()
        where = f"runner.dask_address {address}" if address else "a local Dask cluster"
        raise ParseEngineError(f"{where}: cannot reach the Dask scheduler ({exc})") from None
    return backend


def parse_engine(
    spec: ParseSpec,
    *,
    engine: str,
    workers: int,
    dask_address: str | None,
    pool_min_pages: int = 0,
) -> ParseEngine:
    """The engine a run parses with; its backend starts once the run is big enough.

    Call it in the flow's body: parse-pages task runs are submitted in the context it sees.
    """
    context = contextvars.copy_context()
    if engine == "dask":
        # Every batch goes to the cluster, however small: that is what the user asked for.
        return ParseEngine(
            spec,
            lambda: dask_backend(dask_address, workers, context),
            workers=workers,
            min_pages=1,
            inline=parse_inline,
        )
    if workers <= 1:
        return ParseEngine(spec, None, inline=parse_inline)
    return ParseEngine(
        spec,
        lambda: local_backend(workers, context),
        workers=workers,
        pool_min_pages=pool_min_pages,
        inline=parse_inline,
    )
