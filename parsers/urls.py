"""Case keys from URLs and file paths: ``/{lang}/case/{id}/`` and its on-disk forms."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from latinno.vocabulary import LANGS

# /{lang}/case/{id}, then "/", "/index.html", ".html" or nothing, at the end of the path.
_CASE_PATH = re.compile(
    r"(?:^|/)(?P<lang>[a-z]{2})/case/(?P<id>[0-9]{1,9})(?:/|/index\.html|\.html)?$"
)


def case_key_from_url(url: str) -> tuple[str, int] | None:
    """``(lang, case_id)`` named by a case URL or path, or None when it names no case page.

    Accepts ``https://latinno.net/en/case/17001/`` (slash optional, query and fragment ignored),
    ``…/en/case/17001/index.html`` and ``…/en/case/17001.html``; only the languages en, es, pt.
    """
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0].split("#", 1)[0]
    match = _CASE_PATH.search(path.replace("\\", "/"))
    if not match or match.group("lang") not in LANGS:
        return None
    case_id = int(match.group("id"))
    return (match.group("lang"), case_id) if case_id > 0 else None
