"""``latinno parse`` in a real subprocess: output lines, exit codes, URL sources, no Prefect."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "fixtures" / "html"
SEED = PAGES / "en" / "case" / "17045" / "index.html"
ES_PAGE = PAGES / "es" / "case" / "5099" / "index.html"
TRUNCATED = PAGES / "_edge" / "truncated.html"
# Run the real entry point and report afterwards whether Prefect got imported.
RUNNER = (
    "import sys\n"
    "from cli import main\n"
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
