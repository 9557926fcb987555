"""``latinno serve`` says one line when a scheduled run starts and one when it ends (issue 21).

Prefect's runner starts each run in a process of its own and prints nothing of it at our log
level, so a person watching ``latinno serve`` saw nothing for hours. A thread asks the Prefect
API every few seconds for the deployment's runs; when one ends, its counts come from the
warehouse's ``runs`` row (read once, after the run let go of the file).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latinno.config import Settings

FLOW_NAME = "latinno-refresh"
log = logging.getLogger(__name__)
_COUNTS = ("new", "changed", "withdrawn", "failed")


def _when(moment: datetime | None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def started_line(name: str, moment: datetime | None) -> str:
    return f"{_when(moment)}  scheduled run {name} started"


def finished_line(
    name: str, moment: datetime | None, outcome: str, row: dict[str, Any] | None
) -> str:
    """One line: when, the run, how it ended (Prefect's state, and our status and reason when
    they say more) and its counts from the ``runs`` table."""
    text = f"{_when(moment)}  scheduled run {name} finished: {outcome.lower()}"
    if row is None:
        return text + " (no run recorded in the warehouse)"
    status, reason = row.get("status"), row.get("reason")
    if status and status != outcome.lower():
        text += f" ({status})"
    counts = ", ".join(f"{int(row.get(k) or 0):,} {k}" for k in _COUNTS)
    duration = row.get("duration_s")
    text += f"; run {row['run_id']}: {counts}"
    if duration is not None:
        text += f" in {float(duration):,.0f} s"
    if reason:
        text += f"; {reason}"
    return text


def run_row(db: Path, lock_timeout_s: float, since: datetime | None) -> dict[str, Any] | None:
    """The warehouse's newest run that started at or after ``since`` (a little slack for the
    clocks of two processes), or None."""
    from warehouse.db import reading

    columns = ("run_id", "status", "reason", *_COUNTS, "duration_s")
    floor = (since or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None) - timedelta(seconds=5)
    with reading(db, lock_timeout_s) as con:
        found = con.execute(
            f"SELECT {', '.join(columns)} FROM runs WHERE started_at >= ? "
            "ORDER BY started_at DESC LIMIT 1",
            [floor],
        ).fetchone()
    return dict(zip(columns, found, strict=True)) if found else None


class RunWatcher(threading.Thread):
    """Prints a line per scheduled run of ``deployment``: started, then finished."""

    def __init__(
        self,
        deployment: str,
        db: Path,
        lock_timeout_s: float,
        say: Callable[[str], None],
        every_s: float = 3.0,
    ) -> None:
        super().__init__(name="latinno-serve-log", daemon=True)
        self.deployment, self.db, self.lock_timeout_s = deployment, db, lock_timeout_s
        self.say, self.every_s = say, every_s
        self.stopped = threading.Event()
        self.started_ids: set[str] = set()
        self.finished_ids: set[str] = set()

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        from prefect.client.orchestration import get_client

        primed = False
        with get_client(sync_client=True) as client:
            while not self.stopped.wait(self.every_s):
                try:
                    runs = self._runs(client)
                except Exception:  # the API restarting, a network blip: ask again next time
                    log.info("latinno serve: asking the Prefect API for runs failed", exc_info=True)
                    continue
                if not primed:  # runs that ended before this serve started are not news
                    primed = True
                    self.finished_ids.update(
                        r.id for r in runs if r.state is not None and r.state.is_final()
                    )
                for flow_run in reversed(runs):
                    self._observe(flow_run)

    def _runs(self, client: Any) -> list[Any]:
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterName,
            FlowFilter,
            FlowFilterName,
            FlowRunFilter,
            FlowRunFilterStartTime,
        )
        from prefect.client.schemas.sorting import FlowRunSort

        # Runs that started: the schedule keeps many future runs, which would fill the page.
        return list(
            client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
                flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(is_null_=False)),
                deployment_filter=DeploymentFilter(
                    name=DeploymentFilterName(any_=[self.deployment])
                ),
                sort=FlowRunSort.START_TIME_DESC,
                limit=20,
            )
        )

    def _observe(self, flow_run: Any) -> None:
        state = flow_run.state
        if state is None or flow_run.id in self.finished_ids:
            return
        if (state.is_running() or state.is_final()) and flow_run.id not in self.started_ids:
            self.started_ids.add(flow_run.id)
            self.say(started_line(flow_run.name, flow_run.start_time))
        if state.is_final():
            self.finished_ids.add(flow_run.id)
            try:
                row = run_row(self.db, self.lock_timeout_s, flow_run.start_time)
            except Exception:  # the warehouse busy or missing: the line still comes
                row = None
            self.say(finished_line(flow_run.name, flow_run.end_time, state.name, row))


@contextlib.contextmanager
def watching(deployment: str, settings: Settings, say: Callable[[str], None]) -> Iterator[None]:
    """A RunWatcher of ``deployment`` for the ``with`` block (``latinno serve``)."""
    store = settings.warehouse
    watcher = RunWatcher(deployment, store.path, store.read_lock_timeout_s, say)
    watcher.start()
    try:
        yield
    finally:
        watcher.stop()


STOPPED = "stopped with latinno serve (Ctrl-C or SIGTERM); the batches loaded before it stay"


def end_stopped_runs(deployment: str, settings: Settings) -> list[str]:
    """Once ``latinno serve`` stopped: the runs it left unfinished end Crashed in Prefect and
    ``interrupted`` in the warehouse; one line each (issue 21).

    Prefect's runner kills its run processes as it stops, without telling the API, so the run
    stayed Running there forever and ``running`` in ``runs`` until the next refresh.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    unfinished = [StateType.RUNNING, StateType.PENDING, StateType.CANCELLING]
    lines = []
    with get_client(sync_client=True) as client:
        for flow_run in client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=unfinished))
            ),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment])),
        ):
            client.set_flow_run_state(flow_run.id, Crashed(message=STOPPED), force=True)
            lines.append(f"{_when(None)}  scheduled run {flow_run.name} ended: crashed; {STOPPED}")
    for run_id in _interrupt_running(settings):
        lines.append(f"{_when(None)}  run {run_id} marked interrupted in the warehouse")
    return lines


def _interrupt_running(settings: Settings) -> list[str]:
    """The warehouse's runs still ``running`` marked ``interrupted``, unless a live refresh
    holds the run lock (then that refresh's own run is the running one)."""
    from latinno.errors import LatinnoError
    from warehouse.db import writing
    from warehouse.runlock import hold_run_lock
    from warehouse.runs import fail_if_running

    store = settings.warehouse
    if not Path(store.path).exists():
        return []
    try:
        with (
            hold_run_lock(store.path),
            writing(store.path, store.lock_timeout_s, patient="readers") as con,
        ):
            found = con.execute("SELECT run_id FROM runs WHERE status = 'running'").fetchall()
            for (run_id,) in found:
                fail_if_running(con, run_id, datetime.now(UTC), STOPPED, "interrupted")
    except LatinnoError:  # a refresh of another process runs: its run is no leftover
        return []
    return sorted(run_id for (run_id,) in found)
