"""Redesigns of the model site: every page as the site would serve it after a change of its
theme or texts (``latinno site serve --redesign``; issue 9's drift guard is tested against these).
"""

from __future__ import annotations

import re
from collections.abc import Callable


def _rename_marker(body: bytes) -> bytes:
    # The class marking an applying option is renamed ("active" -> "is-on"), as a redesign of
    # the site's theme would: every option then reads as not applying.
    return re.sub(rb'(class="[^"]*?)\bactive\b', rb"\1is-on", body)


def _rename_headings(body: bytes) -> bytes:
    # The case sections get new headings, as a rewrite of the site's texts would.
    for old, new in ((b"Means", b"Instruments"), (b"Ends", b"Goals"), (b"Policy cycle", b"Stages")):
        body = re.sub(
            rb"(<h[1-6][^>]*>\s*)" + old + rb"(\s*</h[1-6]>)", rb"\1" + new + rb"\2", body
        )
    return body


REDESIGNS: dict[str, Callable[[bytes], bytes]] = {
    "marker": _rename_marker,
    "headings": _rename_headings,
}
