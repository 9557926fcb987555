"""The LATINNO pipeline's one namespace.

Its own modules are the base layer every other package stands on, such as settings (config),
errors, the record contract (record, columns), the vocabulary, page URLs (pages), the run clock
and run ids (clock), process inspection (procinfo) and cleanup (reaper), with
``pipeline_version`` below; they import nothing of parsers, flows or warehouse. Its
subpackages are the layers on top: ``latinno.report`` and ``latinno.release`` (read the
warehouse), ``latinno.sitemodel`` (our model of the LATINNO site, which tests,
benchmarks and the demo fetch from) and ``latinno.cli``, the command line over all of them.
tests/test_layout.py holds every package to its layer.
"""

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
