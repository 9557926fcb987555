"""Progress of a refresh: a bar with done/total and an ETA on a terminal, else a log line every
10 s. What the flow reports reaches it through flows.progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

from rich.console import Console

T = TypeVar("T")
err = Console(stderr=True)


def with_progress(run: Callable[[], T], *, terminal: bool) -> T:
    """``run()`` with the flow's progress shown: a bar on a terminal, log lines otherwise."""
    from flows.progress import set_reporter

    if not terminal:
        set_reporter(LogProgress())
        try:
            return run()
        finally:
            set_reporter(None)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("fetched · {task.fields[processed]} processed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("starting Prefect", total=None, processed=0)
        totals = {"fetched": 0, "processed": 0, "planned": 0}
        stage = ["starting Prefect"]  # what the line says again once no request is slow

        def reporter(event: str, amount: int, note: str) -> None:
            if event == "stage":
                stage[0] = note
            if event in ("stage", "waiting"):
                progress.update(task, description=note or stage[0])
                return
            totals[event] = totals.get(event, 0) + amount
            progress.update(
                task,
                completed=totals["fetched"],
                total=totals["planned"] or None,
                processed=totals["processed"],
            )

        set_reporter(reporter)
        try:
            return run()
        finally:
            set_reporter(None)


class LogProgress:
    """Progress without a terminal (cron, CI, a log file): one line every ``every_s`` seconds
    once pages move, with done/total and an ETA when the total is known."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self.started = time.monotonic()
        self.last = self.started
        self.totals = {"fetched": 0, "processed": 0, "planned": 0}

    def __call__(self, event: str, amount: int, note: str) -> None:
        if event == "waiting" and note:
            print(f"refresh: {note}", file=sys.stderr, flush=True)
        if event in ("stage", "waiting"):
            return
        self.totals[event] = self.totals.get(event, 0) + amount
        now = time.monotonic()
        if now - self.last < self.every_s or not self.totals["fetched"]:
            return
        self.last = now
        done, planned = self.totals["fetched"], self.totals["planned"]
        line = f"refresh: {done} pages fetched, {self.totals['processed']} processed"
        if planned and done <= planned:
            left_s = (now - self.started) / done * (planned - done)
            line += (
                f", {done} of {planned} ({done / planned:.0%}), about {left_s / 60:.0f} min left"
            )
        print(line, file=sys.stderr, flush=True)
