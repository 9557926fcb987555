"""Regenerate fixtures/html/{lang}/case/{id}/ (index.html + expected.json) from cases.py.

Run ``python -m latinno.sitemodel.build_fixtures``. Deterministic: the same bytes on every run.
Hand-written edge pages under fixtures/html/_edge/ are never touched.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from latinno.sitemodel.cases import fixture_cases
from latinno.sitemodel.expected import expected_record
from latinno.sitemodel.render import render_page
from latinno.sitemodel.spec import CaseSpec

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "html"
LANG_DIRS = ("en", "es", "pt")


def dump_expected(record: dict[str, Any]) -> bytes:
    """expected.json bytes: pretty, UTF-8 (not ASCII-escaped), newline at the end."""
    return (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write_case(root: Path, spec: CaseSpec) -> Path:
    """Write one page and its expected record under ``root``; returns the page's directory."""
    folder = root / spec.lang / "case" / str(spec.case_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html").write_bytes(render_page(spec))
    (folder / "expected.json").write_bytes(dump_expected(expected_record(spec)))
    return folder


def build(root: Path = FIXTURES_DIR) -> int:
    """Rebuild every generated fixture page under ``root`` (stale ones removed); returns count."""
    for lang in LANG_DIRS:
        shutil.rmtree(root / lang, ignore_errors=True)
    specs = fixture_cases()
    for spec in specs:
        write_case(root, spec)
    return len(specs)


@contextmanager
def bundled_site() -> Iterator[Path]:
    """The bundled fixture site, rendered from its specs into a temporary folder for the
    ``with`` block: the same bytes as fixtures/html (a test checks that), so an installed
    package serves it without a checkout (about 0.2 s for its 77 pages)."""
    with tempfile.TemporaryDirectory(prefix="latinno-site-") as folder:
        root = Path(folder)
        build(root)
        yield root


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES_DIR
    print(f"wrote {build(root)} fixture pages under {root}")


if __name__ == "__main__":
    main()
