"""LATINNO pipeline: shared vocabulary, records, configuration, errors and the CLI."""

from __future__ import annotations

from functools import cache

DISTRIBUTION = "latinno-pipeline"


@cache
def pipeline_version() -> str:
    """This pipeline's version, from its package metadata: ``project.version`` in
    pyproject.toml is the one place it is written. "unknown" in a source tree that was never
    installed (``make`` and ``pip install -e .`` install it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown"
