"""What a researcher sees of a release in Stata, SPSS and a citation manager (issue 21, item 17):
value labels named after their variables, labels cut between words, whole-number formats for
codes, parser_version as text, a CITATION.cff that validates whatever release.license says, and
the codebook's account of where each table's ``lang`` comes from."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
import yaml
from test_release_support import build_warehouse

from latinno.release import write_release
from latinno.release.package import citation_cff
from latinno.release.statfiles import shorten_label

CODED = ("formalization", "frequency", "participant_selection", "decisiveness")


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("stat")
    return write_release(build_warehouse(work / "wh.duckdb"), work / "releases").path


def test_value_labels_are_named_after_their_variables(released: Path) -> None:
    dta = released / "stata" / "latinno_cases.dta"
    _, meta = pyreadstat.read_dta(str(dta))
    assert meta.variable_to_label, "no value labels at all"
    assert meta.variable_to_label == {name: name for name in meta.variable_to_label}
    assert set(CODED) | {"co_governance"} <= set(meta.variable_to_label)
    # Stata's own reader (pandas) sees the same names and the labels under them.
    with pd.read_stata(dta, iterator=True) as reader:
        labels = reader.value_labels()
    assert set(labels) == set(meta.variable_to_label)
    assert labels["co_governance"] == {0: "no", 1: "yes"}


def test_codes_and_dummies_display_as_whole_numbers(released: Path) -> None:
    frame, stata = pyreadstat.read_dta(str(released / "stata" / "latinno_cases.dta"))
    _, spss = pyreadstat.read_sav(str(released / "spss" / "latinno_cases.sav"))
    labelled = set(stata.variable_to_label)
    # frequency has a missing value (a double in the file), formalization has none.
    assert frame["frequency"].isna().any() and not frame["formalization"].isna().any()
    for name in labelled | {"case_id"}:
        assert stata.original_variable_types[name] == "%8.0g", name
        assert spss.original_variable_types[name] == "F8.0", name


def test_parser_version_is_text(released: Path) -> None:
    frame, stata = pyreadstat.read_dta(str(released / "stata" / "latinno_cases.dta"))
    _, spss = pyreadstat.read_sav(str(released / "spss" / "latinno_cases.sav"))
    assert stata.readstat_variable_types["parser_version"] == "string"
    assert spss.readstat_variable_types["parser_version"] == "string"
    assert all(isinstance(v, str) for v in frame["parser_version"])


def test_labels_are_cut_between_words() -> None:
    label = "Language of title, description and sources: the first configured language"
    cut = shorten_label(label, 40)
    assert cut == "Language of title, description and..."
    assert len(cut.encode()) <= 40
    assert shorten_label("Supercalifragilistic" * 5, 20).endswith("...")  # one long word
    assert shorten_label("short", 40) == "short"


def test_every_shortened_stata_label_ends_on_a_whole_word(released: Path) -> None:
    _, meta = pyreadstat.read_dta(str(released / "stata" / "latinno_cases.dta"))
    with open(released / "csv" / "codebook.csv", encoding="utf-8", newline="") as handle:
        full = {
            r["stata_name"]: r["label"]
            for r in csv.DictReader(handle)
            if r["table_name"] == "cases_wide"
        }
    shortened = 0
    for name, label in zip(meta.column_names, meta.column_labels, strict=True):
        if label == full[name]:
            continue
        shortened += 1
        if not label.endswith("..."):  # only the closing parenthesis left out
            assert full[name].startswith(label + " ("), (label, full[name])
            continue
        head = label[:-3]
        assert full[name].startswith(head), (label, full[name])
        assert re.match(r"[\s,;:(]", full[name][len(head) :]), (label, full[name])
    assert shortened >= 1


def test_the_codebook_says_where_each_lang_comes_from(released: Path) -> None:
    with open(released / "csv" / "codebook.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    origin = {(r["table_name"], r["column_name"]): r["obtained_from"] for r in rows}
    assert "first configured language" in origin[("cases_wide", "lang")]
    for table in ("case_texts", "parse_issues"):
        text = origin[(table, "lang")]
        assert "first configured language" not in text, (table, text)
        assert "…/{lang}/case/{id}/" in text


LICENSES = [None, "CC-BY-4.0", "cc-by-4.0", "MIT OR Apache-2.0", "https://example.org/terms",
            "free for research, ask WZB"]  # fmt: skip


def test_a_release_cites_itself_under_its_licence(tmp_path: Path) -> None:
    release = write_release(
        build_warehouse(tmp_path / "wh.duckdb"), tmp_path / "releases", license="cc-by-4.0"
    )
    cff = yaml.safe_load((release.path / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["license"] == "CC-BY-4.0" and cff["version"] == release.path.name


@pytest.mark.parametrize("license", LICENSES)
def test_citation_cff_is_valid_whatever_the_licence_says(
    tmp_path: Path, license: str | None
) -> None:
    # What write_release puts into the release (the test above), without a release per licence.
    cff_path = tmp_path / "CITATION.cff"
    cff_path.write_bytes(
        citation_cff(
            version="2026-01-05", released="2026-01-05", license=license, pipeline_version="0.2.0"
        )
    )
    cff = yaml.safe_load(cff_path.read_text(encoding="utf-8"))
    if license in ("CC-BY-4.0", "cc-by-4.0"):
        assert cff["license"] == "CC-BY-4.0"
    elif license == "MIT OR Apache-2.0":
        assert cff["license"] == ["MIT", "Apache-2.0"]
    elif license and license.startswith("https://"):
        assert cff["license-url"] == license and "license" not in cff
    elif license:
        assert "license" not in cff and license in cff["message"]  # said, in the one free text
    cffconvert = Path(sys.executable).parent / "cffconvert"
    if not cffconvert.exists():
        pytest.skip("cffconvert is not installed (pip install cffconvert) to validate the file")
    checked = subprocess.run(
        [str(cffconvert), "--validate", "-i", str(cff_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
