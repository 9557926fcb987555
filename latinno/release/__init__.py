"""Research-ready releases: citable, versioned snapshots of the warehouse.

``latinno release`` writes ``DIR/<version>/`` (Parquet, CSV, Stata, SPSS, codebook,
datapackage.json, CITATION.cff, CHANGES.md, SHA256SUMS); ``latinno changes`` shows what changed
since a date, run or release. Heavy modules (pyarrow, pandas, pyreadstat) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from latinno.release.build import ReleaseResult, release_for, write_release

__all__ = ["ReleaseResult", "release_for", "write_release"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from latinno.release import build

        return getattr(build, name)
    raise AttributeError(f"module 'latinno.release' has no attribute {name!r}")
