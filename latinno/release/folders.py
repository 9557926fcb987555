"""Release folders on disk: finding them, checking them against SHA256SUMS, ordering them."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from latinno.release.errors import ReleaseError

SUMS = "SHA256SUMS"
DATAPACKAGE = "datapackage.json"
HISTORY = "parquet/case_history.parquet"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


def check_version(version: str) -> str:
    if not _VERSION.match(version) or ".." in version:
        raise ReleaseError(
            f"--version {version!r}: expected a folder name of letters, digits and . _ + - "
            "(such as 2026-03-02 or 2026-03-02.1)"
        )
    return version


def natural_key(name: str) -> tuple[tuple[int, int, str], ...]:
    """Orders 2026-03-02 < 2026-03-02.1 < 2026-03-02.10 (numbers compared as numbers)."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", name)
        if part
    )


def sha256sums(files: dict[str, bytes]) -> bytes:
    """``sha256sum -c`` format: one "<hex>  <path>" line per file, by path."""
    lines = [
        f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(files.items())
    ]
    return "".join(lines).encode("utf-8")


def read_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path (hidden names skipped: OS litter)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        out[relative.as_posix()] = path.read_bytes()
    return out


@dataclass(frozen=True, slots=True)
class Release:
    name: str
    path: Path
    created: datetime


def parse_created(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def read_release(path: Path) -> Release:
    try:
        package = json.loads((path / DATAPACKAGE).read_text(encoding="utf-8"))
        created = parse_created(str(package["created"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReleaseError(
            f"{path}: not a readable release ({DATAPACKAGE}: {exc}); restore it from a copy "
            "or move the folder out of the releases folder"
        ) from None
    return Release(path.name, path, created)


def list_releases(out_dir: Path) -> list[Release]:
    """The releases in ``out_dir``: folders with a SHA256SUMS file."""
    if not out_dir.is_dir():
        return []
    return [
        read_release(child)
        for child in sorted(out_dir.iterdir())
        if child.is_dir() and not child.name.startswith(".") and (child / SUMS).is_file()
    ]


def verify(release: Release) -> dict[str, bytes]:
    """The release's files, after checking each against SHA256SUMS (nothing missing or added)."""
    files = read_files(release.path)
    listed: dict[str, str] = {}
    for line in files.get(SUMS, b"").decode("utf-8", errors="replace").splitlines():
        digest, _, name = line.partition("  ")
        if name:
            listed[name] = digest
    where = f"release {release.name} ({release.path})"
    advice = "edited by hand? restore it, or move it out of the releases folder"
    for name, digest in sorted(listed.items()):
        if name not in files:
            raise ReleaseError(f"{where}: {name} is listed in {SUMS} but missing ({advice})")
        if hashlib.sha256(files[name]).hexdigest() != digest:
            raise ReleaseError(f"{where}: {name} does not match {SUMS} ({advice})")
    extra = sorted(set(files) - set(listed) - {SUMS})
    if extra:
        raise ReleaseError(f"{where}: {extra[0]} is not listed in {SUMS} ({advice})")
    if HISTORY not in files:
        raise ReleaseError(f"{where}: {HISTORY} is missing; it is needed to compare releases")
    return files


def previous_release(releases: list[Release], created: datetime, name: str) -> Release | None:
    """The newest other release older than (created, name): what this one is compared with."""
    mine = (created, natural_key(name))
    older = [r for r in releases if r.name != name and (r.created, natural_key(r.name)) < mine]
    return max(older, key=lambda r: (r.created, natural_key(r.name)), default=None)
