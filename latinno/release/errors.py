"""The error of the release commands (kept here so release/ is self-contained; a LatinnoError,
so the CLI prints it as one line and exits 1)."""

from __future__ import annotations

from latinno.errors import LatinnoError


class ReleaseError(LatinnoError):
    """A release cannot be written or compared: the message names the folder, file or option."""
