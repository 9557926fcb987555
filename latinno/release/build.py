"""``write_release``: one folder ``DIR/<version>/`` per release, written whole or not at all.

Order of work: read everything from the warehouse in one read-only connection; build every
file in memory; pick the version (the data's UTC date, then ``.1``, ``.2``, ... past releases
of that date that differ); compare with a folder of that name (identical: nothing to do);
write into a hidden temporary folder beside it and rename it into place. Nothing depends on the
clock or on where DIR is, so the same data gives byte-identical files.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from latinno.files import missing_parents, remove_empty
from latinno.release.assemble import REPORT_PATH, Built, build_files, name_files, report_file
from latinno.release.errors import ReleaseError
from latinno.release.folders import (
    Release,
    check_version,
    list_releases,
    natural_key,
    previous_release,
    read_files,
)
from latinno.release.snapshot import read_snapshot
from latinno.release.states import Counts
from latinno.release.tabular import CSV_DIALECTS, CsvDialect

if TYPE_CHECKING:
    from latinno.config import Settings


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    path: Path
    version: str
    written: bool  # False: an identical release was already there
    previous: str | None
    counts: Counts | None  # None for a first release
    files: int
    report_included: bool


def _write_folder(tmp: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        path = tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, NotADirectoryError | FileExistsError):
        return "it is a file, or lies under one, not a folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or type(exc).__name__


def write_release(
    db_path: Path,
    out_dir: Path,
    *,
    version: str | None = None,
    license: str | None = None,
    csv_dialect: str = "plain",
    lock_timeout_s: float = 10.0,
) -> ReleaseResult:
    """Write (or find identical) the release of the warehouse at ``db_path`` under ``out_dir``."""
    if csv_dialect not in CSV_DIALECTS:
        raise ReleaseError(f"--csv-dialect {csv_dialect!r}: expected plain or excel")
    dialect: CsvDialect = "excel" if csv_dialect == "excel" else "plain"
    if version is not None:
        check_version(version)
    out_dir = Path(out_dir)
    made = missing_parents(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-release-", dir=out_dir))
        # mkdtemp makes a private folder (0700); renamed into place it is the release, which
        # follows the umask like every folder and file inside it.
        tmp.chmod(0o777 & ~_umask())
    except OSError as exc:
        remove_empty(made)
        raise ReleaseError(
            f"{out_dir}: cannot write a release here: {_os_problem(exc)}; "
            "choose another folder with --out (or release.dir)"
        ) from None
    written = False
    try:
        result = _release(
            db_path, out_dir, tmp, version, license, dialect, lock_timeout_s=lock_timeout_s
        )
        written = result.written
        return result
    except OSError as exc:
        raise ReleaseError(f"{out_dir}: cannot write the release: {_os_problem(exc)}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not written:
            remove_empty(made)


def _umask() -> int:
    mask = os.umask(0o077)  # the only way to read it is to set it, so set it straight back
    os.umask(mask)
    return mask


def _same_base(target: Path, built: Built) -> bool:
    """Cheap first look: the version-independent files of ``target`` equal these."""
    return _same_base_files(target, built.files)


def _holding_this_data(releases: list[Release], built: Built) -> Release | None:
    """The newest release when its tables (csv/, parquet/) are these: a refresh that changed
    nothing (only its run and the report differ) makes no new release."""
    if not releases:
        return None
    newest = max(releases, key=lambda r: (r.created, natural_key(r.name)))
    tables = {k: v for k, v in built.files.items() if k.startswith(("csv/", "parquet/"))}
    held = {
        path.relative_to(newest.path).as_posix()
        for folder in ("csv", "parquet")
        for path in (newest.path / folder).glob("*")
        if path.is_file()
    }
    if held != set(tables):
        return None
    return newest if _same_base_files(newest.path, tables) else None


def _same_base_files(target: Path, files: dict[str, bytes]) -> bool:
    for relative, data in files.items():
        path = target / relative
        if not path.is_file() or path.stat().st_size != len(data) or path.read_bytes() != data:
            return False
    return True


def _release(
    db_path: Path,
    out_dir: Path,
    tmp: Path,
    version: str | None,
    license: str | None,
    dialect: CsvDialect,
    *,
    lock_timeout_s: float,
) -> ReleaseResult:
    from warehouse.db import reading

    with reading(Path(db_path), lock_timeout_s) as con:
        snapshot = read_snapshot(con, str(db_path))
    report, report_note = report_file(Path(db_path), lock_timeout_s)
    built = build_files(snapshot, report, report_note, dialect)
    releases = list_releases(out_dir)
    if version is None:
        same = _holding_this_data(releases, built)
        if same is not None:
            return ReleaseResult(
                same.path,
                same.name,
                False,
                None,
                None,
                len(read_files(same.path)),
                (same.path / REPORT_PATH).is_file(),
            )
    day = snapshot.data_time.strftime("%Y-%m-%d")
    names = [version] if version else (day if n == 0 else f"{day}.{n}" for n in itertools.count())
    created = snapshot.data_time.replace(microsecond=0)
    for name in names:
        target = out_dir / name
        exists = target.exists()
        if exists and version is None and not (target.is_dir() and _same_base(target, built)):
            continue  # another day's data under this name: try the next
        previous = previous_release(releases, created, name)
        files, counts = name_files(built, name, previous, license)
        result = ReleaseResult(
            target,
            name,
            True,
            previous.name if previous else None,
            counts,
            len(files),
            REPORT_PATH in files,
        )
        if exists:
            if target.is_dir() and read_files(target) == files:
                return replace(result, written=False)
            if version is not None:
                raise ReleaseError(
                    f"{target}: release {name} already exists with different content; "
                    "choose another --version, or move that folder away"
                )
            continue
        _write_folder(tmp, files)
        try:
            os.rename(tmp, target)
        except OSError as exc:
            raise ReleaseError(f"{target}: cannot create the release: {_os_problem(exc)}") from None
        return result
    raise AssertionError("unreachable: the version names never run out")


def release_for(
    settings: Settings,
    *,
    out: Path | None = None,
    version: str | None = None,
    csv_dialect: str = "plain",
) -> ReleaseResult:
    """The release of the configured warehouse into ``out`` (default ``release.dir``)."""
    return write_release(
        settings.warehouse.path,
        out if out is not None else settings.release.dir,
        version=version,
        license=settings.release.license,
        csv_dialect=csv_dialect,
        lock_timeout_s=settings.warehouse.read_lock_timeout_s,
    )
