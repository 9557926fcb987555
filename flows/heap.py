"""A run's start-up heap kept out of the cyclic garbage collector's way while the run lasts.

Parsed pages are cyclic (a bs4 tree links parents and children both ways), so the collector
frees them, and each of its full collections walks the whole heap: in a refresh that is mostly
what lives the whole run (Prefect, pydantic, DuckDB and the parser, imported; the warehouse's
``Known``). At 3,744 pages that was 3.6 of 40 CPU seconds, 120 ms per full collection
(bench/results/peer.md, 2026-12-07). ``gc.freeze`` (public, documented CPython) moves every
object there is into a generation the collector skips; ``gc.unfreeze`` hands them back when
the run ends, so a long-lived process (``latinno serve``) keeps nothing frozen between runs.
"""

from __future__ import annotations

import gc
import importlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

# What a run imports after its start: pyarrow imports pandas at the first load (``pa.array``
# asks whether its argument is a pandas object). Imported before the freeze, its objects are
# frozen with the rest instead of walked by every full collection after it: 0.7 CPU s at
# 3,744 pages (bench/results/peer.md, 2026-12-07).
LATE_IMPORTS = ("pandas",)

_lock = threading.Lock()
_runs = [0]  # runs in this process inside ``frozen_heap`` now


@contextmanager
def frozen_heap(late_imports: Sequence[str] = LATE_IMPORTS) -> Iterator[None]:
    """Freeze what exists now (its garbage collected first, or it would stay), and what the
    run would import later (``late_imports``), until the last run of this process inside
    ``frozen_heap`` ends. A run that parses everything before its first load (``latinno
    reparse``) passes none: what it imports then comes after the collections that matter,
    and imported early it would only add to the parse's peak memory (about 40 MB)."""
    with _lock:
        if _runs[0] == 0:
            for name in late_imports:
                importlib.import_module(name)
            gc.collect()
            gc.freeze()
        _runs[0] += 1
    try:
        yield
    finally:
        with _lock:
            _runs[0] -= 1
            if _runs[0] == 0:
                gc.unfreeze()
