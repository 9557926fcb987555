"""What the code and docs cite as their source of truth is in the repository: every path to a
Markdown file that a tracked file mentions exists in a clone, and nothing points outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# A repository path to a Markdown file: at least one folder, then a name (bench/results/peer.md).
_MD_PATH = re.compile(r"(?<![\w./-])((?:[\w-]+/)+[\w.-]+\.md)\b")
# Markdown links to a sibling file: [text](site.md)
_MD_LINK = re.compile(r"\]\(([\w./-]+\.md)(?:#[\w-]*)?\)")
# The documents these facts were first handed to us in; a clone has neither.
_OUTSIDE = ("SITE.md", "VOCABULARY.md", "../shared")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    files = []
    for name in names:
        path = REPO / name.decode()
        if not name or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" not in data[:4096]:
            files.append(path)
    return files


def test_docs_of_the_site_and_vocabulary_are_in_the_repository() -> None:
    assert (REPO / "docs" / "site.md").is_file()
    assert (REPO / "docs" / "vocabulary.md").is_file()


def test_no_tracked_file_points_outside_the_repository() -> None:
    offenders = []
    for path in tracked_text_files():
        if path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for needle in _OUTSIDE:
            if needle in text:
                offenders.append(f"{path.relative_to(REPO)}: {needle}")
    assert offenders == []


def test_every_markdown_path_a_tracked_file_mentions_exists() -> None:
    missing = []
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for mention in _MD_PATH.findall(text):
            if not (REPO / mention).exists() and not (path.parent / mention).exists():
                missing.append(f"{path.relative_to(REPO)}: {mention}")
        if path.suffix == ".md":
            for link in _MD_LINK.findall(text):
                if not (path.parent / link).exists():
                    missing.append(f"{path.relative_to(REPO)}: ({link})")
    assert missing == []
