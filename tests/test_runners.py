"""Parse workers of Prefect's process pool stay light (issue 12): they parse, and do not import
every installed Prefect collection (prefect-dask, and with it dask, distributed and pandas)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from prefect import flow, task
from prefect.task_runners import ProcessPoolTaskRunner

from flows.runners import _api_url, prepare_worker

HEAVY = ["prefect_dask", "distributed", "dask", "pandas"]


@task
def loaded(names: list[str]) -> dict[str, bool]:
    """Which of ``names`` the worker running this task has imported, after a task run."""
    return {name: name in sys.modules for name in names}


def on_a_worker(monkeypatch: pytest.MonkeyPatch, initializer: Any) -> dict[str, bool]:
    @flow
    def probe() -> dict[str, bool]:
        if url := _api_url():  # the worker reports to this run's API, as flows.runners does
            monkeypatch.setenv("PREFECT_API_URL", url)
        with ProcessPoolTaskRunner(max_workers=1, initializer=initializer) as runner:
            return runner.submit(loaded, {"names": HEAVY}).result()

    return probe()


def test_parse_workers_prepare_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the initializer the worker imports them (so this test can see the difference) ...
    assert on_a_worker(monkeypatch, None)["prefect_dask"] is True
    # ... with it, none of them, and the task run still completes.
    assert on_a_worker(monkeypatch, prepare_worker) == dict.fromkeys(HEAVY, False)
