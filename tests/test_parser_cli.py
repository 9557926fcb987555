"""``latinno parse`` in a real subprocess: output lines, exit codes, URL sources, no Prefect."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "fixtures" / "html"
SEED = PAGES / "en" / "case" / "17045" / "index.html"
ES_PAGE = PAGES / "es" / "case" / "5099" / "index.html"
TRUNCATED = PAGES / "_edge" / "truncated.html"

pytestmark = pytest.mark.process  # commands run as processes: not in `make unit`

# Run the real entry point and report afterwards whether Prefect got imported.
RUNNER = (
    "import sys\n"
    "from latinno.cli import main\n"
    "sys.argv[0] = 'latinno'\n"
    "try:\n"
    "    main()\n"
    "finally:\n"
    "    loaded = sorted(m for m in sys.modules if m == 'prefect' or m.startswith('prefect.'))\n"
    "    sys.stderr.write(f'\\nPREFECT-MODULES={len(loaded)}\\n')\n"
)


def latinno(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def records(result: subprocess.CompletedProcess[str]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_parses_pages_and_exits_zero_without_prefect() -> None:
    result = latinno("parse", SEED, ES_PAGE)
    assert result.returncode == 0, result.stderr
    out = records(result)
    assert [(r["lang"], r["case_id"]) for r in out] == [("en", 17045), ("es", 5099)]
    expected = json.loads((SEED.parent / "expected.json").read_text("utf-8"))
    assert {k: v for k, v in out[0].items() if k not in ("parser_version", "issues")} == {
        k: v for k, v in expected.items() if k != "issues"
    }
    assert "PREFECT-MODULES=0" in result.stderr
    # ensure_ascii=False: the Spanish page's characters are printed as they are.
    assert any(ch in result.stdout for ch in "áéíóúñ")


def test_bad_page_exits_one_and_others_still_print(tmp_path: Path) -> None:
    missing = tmp_path / "nope.html"
    result = latinno("parse", TRUNCATED, SEED, missing)
    assert result.returncode == 1
    assert [r["case_id"] for r in records(result)] == [17045]
    errors = [line for line in result.stderr.splitlines() if line.startswith("latinno: error:")]
    assert len(errors) == 2
    assert str(TRUNCATED) in errors[0] and "truncated" in errors[0]
    assert str(missing) in errors[1]


def test_url_option_wins_over_canonical() -> None:
    result = latinno("parse", SEED, "--url", "http://127.0.0.1:9/en/case/17045")
    assert result.returncode == 0, result.stderr
    (record,) = records(result)
    assert record["url"] == "https://latinno.net/en/case/17045/"  # canonical stays the url
    result = latinno("parse", SEED, "--url", "http://127.0.0.1:9/en/country/peru/")
    assert result.returncode == 0  # key then comes from the canonical link
    assert latinno("parse", SEED, ES_PAGE, "--url", "https://latinno.net/en/case/1/").returncode


def test_url_from_path_and_base_url_from_config(tmp_path: Path) -> None:
    body = re.sub(rb'<link[^>]*rel="canonical"[^>]*>', b"", ES_PAGE.read_bytes())
    page = tmp_path / "pages" / "es" / "case" / "5099.html"
    page.parent.mkdir(parents=True)
    page.write_bytes(body)
    config = tmp_path / "config.yaml"
    config.write_text(
        (ROOT / "config.yaml")
        .read_text("utf-8")
        .replace("base_url: https://latinno.net", "base_url: http://mirror.test"),
        "utf-8",
    )
    result = latinno("parse", page, "--config", config)
    assert result.returncode == 0, result.stderr
    (record,) = records(result)
    assert (record["url"], record["case_id"], record["lang"]) == (
        "http://mirror.test/es/case/5099/",
        5099,
        "es",
    )
    expected = json.loads((ES_PAGE.parent / "expected.json").read_text("utf-8"))
    assert record["means"] == expected["means"] and record["title"] == expected["title"]

    nowhere = tmp_path / "page.html"
    nowhere.write_bytes(body)
    result = latinno("parse", nowhere)
    assert result.returncode == 1 and "--url" in result.stderr and str(nowhere) in result.stderr


def test_help_shows_an_example() -> None:
    result = latinno("parse", "--help")
    assert result.returncode == 0
    assert "Example: latinno parse" in result.stdout


# --- files that are no HTML page at all (issue 9, part 7) ---------------------------------------


def test_empty_binary_and_tagless_files_are_named_as_such(tmp_path: Path) -> None:
    empty = tmp_path / "en" / "case" / "17045" / "index.html"  # a case path: URL is not the issue
    empty.parent.mkdir(parents=True)
    empty.write_bytes(b"")
    blank = tmp_path / "blank.html"
    blank.write_bytes(b"  \n\t\n")
    binary = tmp_path / "photo.html"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    text = tmp_path / "notes.html"
    text.write_text("Cases to check: 17045 < 17046, and more.\n", encoding="utf-8")
    size = text.stat().st_size
    result = latinno("parse", empty, blank, binary, text, SEED)
    assert result.returncode == 1
    assert [r["case_id"] for r in records(result)] == [17045]  # the good page still prints
    errors = [line for line in result.stderr.splitlines() if line.startswith("latinno: error:")]
    assert errors == [
        f"latinno: error: {empty}: empty file (0 bytes), not an HTML page",
        f"latinno: error: {blank}: only whitespace (5 bytes), not an HTML page",
        f"latinno: error: {binary}: binary data (2056 bytes), not an HTML page",
        f"latinno: error: {text}: no HTML tags in its {size} bytes: not an HTML page",
    ]
    assert "cannot tell the page's URL" not in result.stderr


def test_a_failing_page_names_its_path_once(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(b"<html><body><h1>Maintenance</h1></body></html>")
    result = latinno("parse", page)
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("latinno:")]
    assert line.count(str(page)) == 1
    assert "--url" in line
    given = latinno("parse", page, "--url", "https://latinno.net/en/case/17045/")
    (line,) = [line for line in given.stderr.splitlines() if line.startswith("latinno:")]
    assert line.startswith(f"latinno: error: {page} (as https://latinno.net/en/case/17045/): ")
    assert line.count(str(page)) == 1


def test_nul_bytes_in_a_page_are_said_the_same_way_by_parse_and_refresh(tmp_path: Path) -> None:
    # Issue 24, 17: a refresh replaced them silently; `latinno parse` refused the page as binary.
    from parsers import parse_case

    body = SEED.read_bytes()
    at = body.index(b"</h1>")
    page = tmp_path / "nul.html"
    page.write_bytes(body[:at] + b"\x00\x00" + body[at:])
    result = latinno("parse", page, "--url", "https://latinno.net/en/case/17045/")
    assert result.returncode == 0, result.stderr
    (record,) = records(result)
    said = [i["message"] for i in record["issues"] if i["field"] == "encoding"]
    assert len(said) == 1 and said[0].startswith("2 NUL characters (the first at"), said
    direct = parse_case(page.read_bytes(), "https://latinno.net/en/case/17045/")
    assert [i.message for i in direct.issues if i.field == "encoding"] == said
    # A body of binary bytes is still no page.
    noise = tmp_path / "noise.html"
    noise.write_bytes(bytes(range(256)) * 64)
    refused = latinno("parse", noise)
    assert refused.returncode == 1 and "binary data" in refused.stderr
