"""``latinno parse``: parse saved case pages and print one JSON record per line.

Needs no orchestration: never imports Prefect (or DuckDB).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from latinno.cli.app import ConfigOption, app, settings_for
from latinno.errors import LatinnoError, PageParseError


def page_url(path: Path, body: bytes, base_url: str, given: str | None) -> str:
    """The URL a page is parsed under: ``--url``, else its canonical link, else its path."""
    from latinno.pages import case_url, page_key
    from parsers import canonical_url

    if given:
        return given
    canonical = canonical_url(body)
    if canonical and page_key(canonical):
        return canonical
    key = page_key(path.resolve().as_posix())
    if key is None:
        raise PageParseError(
            str(path),
            "cannot tell the page's URL: no canonical link and the path does not end in "
            "{lang}/case/{id}/index.html or {lang}/case/{id}.html; pass --url",
        )
    return case_url(base_url, key)


_TAG = re.compile(rb"<(?:!doctype|!--|[a-z][a-z0-9-]*)[\s>/]", re.IGNORECASE)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def not_a_page(body: bytes) -> str | None:
    """Why ``body`` is no HTML page at all (empty, binary, no tags), or None if it may be one.

    Said before anything else, so an empty or binary file is not reported as a page whose URL
    cannot be told.
    """
    if not body:
        return "empty file (0 bytes), not an HTML page"
    if not body.strip():
        return f"only whitespace ({len(body)} bytes), not an HTML page"
    head = body[:65_536]
    if not head.startswith(_UTF16_BOMS):
        controls = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f")
        # A few NUL bytes in a page are said by the parser (an ``encoding`` issue), as a
        # refresh says them; a body of control bytes is no page.
        if controls > len(head) // 100:
            return f"binary data ({len(body)} bytes), not an HTML page"
        if not _TAG.search(head):
            return f"no HTML tags in its {len(body)} bytes: not an HTML page"
    return None


def _emit(line: str) -> None:
    # Bytes, so that non-ASCII text prints whatever the terminal's locale.
    sys.stdout.buffer.write(line.encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()


_HELP = (
    "Parse saved case pages and print one JSON record per page per line.\n\n"
    "The URL of a page comes from --url, else its canonical link, else its path "
    "({lang}/case/{id}/index.html or {lang}/case/{id}.html). Exit 0 when every page parsed "
    "(records may carry issues), 1 when any page could not be parsed: the other pages are "
    "still printed and each failure is one line on stderr naming the file.\n\n"
    "Example: latinno parse fixtures/html/en/case/17045/index.html "
    "--url https://latinno.net/en/case/17045/"
)


@app.command(help=_HELP)
def parse(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Saved case pages (HTML files).", metavar="PATH", show_default=False),
    ],
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="URL the page was fetched from (one PATH only); default: its canonical "
            "link, else the path pattern {lang}/case/{id}/index.html.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    from latinno.vocabulary import build_labels
    from parsers import parse_case

    if url is not None and len(paths) > 1:
        raise typer.BadParameter("--url names one page; give exactly one PATH with it")
    settings = settings_for(config)
    labels = build_labels(settings.parser.extra_labels)
    marker = settings.parser.rule()
    failed = 0
    for path in paths:
        try:
            body = path.read_bytes()
        except OSError as exc:
            print(f"latinno: error: {path}: cannot read: {exc.strerror}", file=sys.stderr)
            failed += 1
            continue
        problem = not_a_page(body)
        if problem is not None:
            print(f"latinno: error: {path}: {problem}", file=sys.stderr)
            failed += 1
            continue
        try:
            page = page_url(path, body, settings.source.base_url, url)
            record = parse_case(body, page, labels=labels, marker=marker)
        except PageParseError as exc:
            # The error names the URL it parsed under; name the file once, and that URL only
            # when it is not the file's own path.
            where = str(path) if exc.url == str(path) else f"{path} (as {exc.url})"
            print(f"latinno: error: {where}: cannot parse: {exc.reason}", file=sys.stderr)
            failed += 1
            continue
        except LatinnoError as exc:
            print(f"latinno: error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        _emit(json.dumps(record.to_dict(), ensure_ascii=False))
    if failed:
        raise typer.Exit(1)
