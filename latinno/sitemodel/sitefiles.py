"""The model site on disk: which case pages a folder holds, and the second each last changed
(the sitemap's ``<lastmod>`` and the ``Last-Modified`` header name the same one)."""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path


def iter_case_pages(root: Path) -> Iterator[tuple[str, int]]:
    """Every (lang, case id) that has an index.html under ``root``, sorted."""
    return ((lang, case_id) for lang, case_id, _ in iter_case_page_mtimes(root))


def iter_case_page_mtimes(root: Path) -> Iterator[tuple[str, int, int]]:
    """Every (lang, case id, mtime in whole seconds) with an index.html under ``root``, sorted.

    Walked with scandir and one stat per page, not glob: the sitemap is rebuilt per request.
    """
    found = []
    for lang in _subdirs(str(root)):
        if not re.fullmatch(r"[a-z]{2}", lang.name):
            continue
        for case_dir in _subdirs(os.path.join(lang.path, "case")):
            if not case_dir.name.isdigit():
                continue
            try:
                st = os.stat(os.path.join(case_dir.path, "index.html"))
            except (FileNotFoundError, NotADirectoryError):
                continue
            found.append((lang.name, int(case_dir.name), mtime_s(st)))
    return iter(sorted(found))


def _subdirs(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return [entry for entry in entries if entry.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []


@functools.lru_cache(maxsize=4096)
def w3c_datetime(epoch_s: int) -> str:
    """``2026-11-28T17:20:05Z``: a W3C datetime (the sitemap's lastmod form) in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def mtime_s(st: os.stat_result) -> int:
    # Integer nanoseconds floored to the second: float st_mtime can round up to the next
    # second, and Last-Modified and the sitemap's lastmod must name the very same second.
    return st.st_mtime_ns // 1_000_000_000
