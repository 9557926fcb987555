"""Files and folders written whole or not at all, shared by export, release, report and the
refresh's first run. Standard library only."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    # Write beside and rename, so a reader never sees half a file. The temporary file is a new
    # one (O_EXCL): a link planted at a fixed name is never written through, and the rename
    # replaces a link at ``path`` itself, never the file it points to.
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def missing_parents(folder: Path) -> list[Path]:
    """``folder`` and its parents that do not exist yet, deepest first: what a writer makes,
    and removes again (``remove_empty``) when it fails."""
    missing = []
    for path in (folder, *folder.parents):
        if path.exists():
            break
        missing.append(path)
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty: a failure leaves no trace, not
    even the folders made for it."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return
