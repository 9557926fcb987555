"""``latinno report``: one self-contained HTML page of charts built from the warehouse.

``write_report`` is what the CLI, ``latinno demo`` and releases call. It opens the warehouse
read-only; DuckDB is the only heavy import, and Prefect is never imported.
"""

from __future__ import annotations

from pathlib import Path

from latinno.errors import LatinnoError
from latinno.files import write_atomically

DEFAULT_NAME = "latinno-report.html"


def build_report(db_path: Path, *, lock_timeout_s: float) -> str:
    """The report of the warehouse at ``db_path`` as HTML text."""
    from latinno.report.page import render
    from warehouse.db import reading

    with reading(Path(db_path), lock_timeout_s) as con:
        return render(con)


def write_report(db_path: Path, out: Path, *, lock_timeout_s: float) -> Path:
    """Write the report of ``db_path`` to ``out`` (a directory gets ``latinno-report.html``).

    The file is written whole or not at all (a temporary file renamed over it), and the
    warehouse is read before anything is written, so a failed read leaves an old report as it
    was. Returns the path written.
    """
    out = Path(out)
    if out.is_dir():
        out = out / DEFAULT_NAME
    _refuse_others_file(out)
    text = build_report(db_path, lock_timeout_s=lock_timeout_s)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in out.parents if p.exists() and not p.is_dir()), out.parent)
        raise LatinnoError(
            f"{out}: cannot write the report: {blocker} is a file, not a directory"
        ) from None
    except OSError as exc:
        raise LatinnoError(
            f"{out}: cannot write the report: cannot create {out.parent}: "
            f"{exc.strerror or type(exc).__name__}"
        ) from None
    try:
        write_atomically(out, text.encode("utf-8"))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise LatinnoError(f"{out}: cannot write the report: {reason}") from None
    return out


# Every report names its maker in its head (`latinno-pipeline <version>`, or ` report` before 0.2).
GENERATOR = b'<meta name="generator" content="latinno-pipeline '


def _refuse_others_file(out: Path) -> None:
    """Only a report of ours is replaced: never a link, never someone's file of that name."""
    if out.is_symlink():
        raise LatinnoError(f"{out}: is a link; not replaced: choose another --out")
    if not out.exists():
        return
    try:
        with out.open("rb") as stream:
            head = stream.read(4096)
    except OSError as exc:
        raise LatinnoError(f"{out}: cannot write the report: {exc.strerror}") from None
    if GENERATOR not in head:
        raise LatinnoError(
            f"{out}: exists and is not a LATINNO report; not replaced: choose another --out"
        )


__all__ = ["build_report", "write_report"]
