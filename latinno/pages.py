"""One page identity: ``PageKey(case_id, lang)``, the case URL it names, and back.

Every layer (flows, parsers, warehouse, sitemodel) keys pages by ``PageKey`` and builds or reads
case URLs only here, so the URL shape is defined once.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

from latinno.vocabulary import LANGS

# /{lang}/case/{id}, then "/", "/index.html", ".html" or nothing, at the end of the path.
_CASE_PATH = re.compile(
    r"(?:^|/)(?P<lang>[a-z]{2})/case/(?P<id>[0-9]{1,9})(?:/|/index\.html|\.html)?$"
)


class PageKey(NamedTuple):
    """A case page: the case and the language it is written in.

    A plain tuple ``(case_id, lang)`` underneath, so it keys the same dict entries as one.
    """

    case_id: int
    lang: str

    def url(self, base_url: str) -> str:
        return case_url(base_url, self)


def case_url(base_url: str, key: PageKey) -> str:
    """The canonical URL of a case page on ``base_url``: ``{base}/{lang}/case/{id}/``."""
    return f"{base_url.rstrip('/')}/{key.lang}/case/{key.case_id}/"


def page_key(url: str) -> PageKey | None:
    """The page a case URL or file path names, or None when it names no case page.

    Accepts ``https://latinno.net/en/case/17001/`` (slash optional, query and fragment ignored),
    ``…/en/case/17001/index.html`` and ``…/en/case/17001.html``; only the languages en, es, pt.
    """
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0].split("#", 1)[0]
    match = _CASE_PATH.search(path.replace("\\", "/"))
    if not match or match.group("lang") not in LANGS:
        return None
    case_id = int(match.group("id"))
    return PageKey(case_id, match.group("lang")) if case_id > 0 else None
