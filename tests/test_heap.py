"""A refresh keeps its start-up heap out of the garbage collector's full collections while it
runs (flows.heap: ``gc.freeze``) and hands it back when it ends, so a long-lived process
(``latinno serve``) keeps nothing frozen between runs."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _flow_support import expected_records, run_refresh

from flows.heap import frozen_heap
from flows.reparse import reparse_archive
from latinno.config import Settings, override
from latinno.sitemodel.server import run_server_in_thread

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures" / "html"


def test_the_heap_is_frozen_until_the_last_run_inside_ends() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with frozen_heap():  # a second run in the same process, started meanwhile
            pass
        assert gc.get_freeze_count() == frozen  # still frozen while the first run goes on
    assert gc.get_freeze_count() == 0


def test_a_failing_run_leaves_nothing_frozen() -> None:
    with pytest.raises(RuntimeError), frozen_heap():
        raise RuntimeError("the run failed")
    assert gc.get_freeze_count() == 0


@pytest.mark.slow
def test_a_refresh_and_a_reparse_run_with_their_heap_frozen_and_leave_nothing_frozen(
    tmp_path: Path,
) -> None:
    """A real refresh in this process, then a reparse: the collections during each run see a
    frozen heap, and nothing stays frozen after it."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop":
            seen.append(gc.get_freeze_count())

    assert gc.get_freeze_count() == 0
    gc.callbacks.append(note)
    try:
        with run_server_in_thread(FIXTURES, sitemap=True) as site:
            summary = run_refresh(base_url=site.base_url, db=str(tmp_path / "w.duckdb"))
    finally:
        gc.callbacks.remove(note)
    assert summary["counts"]["new"] == len(expected_records(FIXTURES, "en"))
    assert max(seen) > 0  # collections ran while the run held its heap frozen
    assert gc.get_freeze_count() == 0

    # A reparse of what it archived (no network, no Prefect) freezes its heap the same way.
    seen.clear()
    settings = override(Settings(), {"warehouse": {"path": str(tmp_path / "w.duckdb")}}, "test")
    gc.callbacks.append(note)
    try:
        counts, failures = reparse_archive(settings)
    finally:
        gc.callbacks.remove(note)
    assert (counts.parsed, failures) == (summary["counts"]["new"], [])
    assert max(seen) > 0
    assert gc.get_freeze_count() == 0


@pytest.mark.process
def test_what_a_run_imports_at_its_first_load_is_frozen_with_the_rest() -> None:
    """pyarrow imports pandas at a run's first load: imported inside the run, its objects
    would be walked by every full collection after it."""
    code = (
        "import gc, sys\n"
        "from flows.heap import frozen_heap\n"
        "assert 'pandas' not in sys.modules\n"
        "with frozen_heap():\n"
        "    import pandas\n"
        "    print(any(o is pandas.DataFrame for o in gc.get_objects()))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"  # frozen: not among the objects collections walk
