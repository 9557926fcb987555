"""Our site marked another way: the same pages with the applying options shown by ARIA state,
an image file name, an icon font, an inline style, a class on the options that do NOT apply,
or a ``data-*`` attribute, instead of the class ``active`` (issue 19).

Nobody here has seen how the real site marks what applies; ``latinno calibrate`` must learn it
from the markup. These markings are what it is tested against (``latinno site serve
--marking KIND``). A page is re-marked on its tree: every option item of the fixture markup
(the children of an element of class ``options``, or its cells) loses the fixture's own state
(the classes ``active``, ``inactive``, ``off``, a wrapper's ``icon``, the ``-grey`` of an
icon file) and gets the other marking. Everything else on the page stays: the chrome's own
``active`` classes (menus, language switcher) are traps a learner must not take.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bs4 import BeautifulSoup
from bs4.element import Tag

_STATE_CLASSES = frozenset({"active", "inactive", "off"})
_ICON_TAGS = frozenset({"img", "i", "svg"})
_GREY = re.compile(r"-grey(\.\w+)$")


def _is_on(item: Tag) -> bool:
    return any("active" in _classes(node) for node in (item, *item.find_all(True)))


def _classes(node: Tag) -> list[str]:
    value: object = node.get("class") or []
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value] if isinstance(value, list) else []


def _set_classes(node: Tag, classes: list[str]) -> None:
    if classes:
        node["class"] = " ".join(classes)
    elif "class" in node.attrs:
        del node["class"]


def _strip_state(item: Tag) -> None:
    """Remove the fixture's marking from an option item, so only the new one tells."""
    for node in (item, *item.find_all(True)):
        drop = _STATE_CLASSES if node.name in _ICON_TAGS else _STATE_CLASSES | {"icon"}
        _set_classes(node, [c for c in _classes(node) if c not in drop])
        src = node.get("src")
        if isinstance(src, str):
            node["src"] = _GREY.sub(r"\1", src)


def _items(options: Tag) -> list[Tag]:
    if options.name == "table":
        return [cell for cell in options.find_all("td") if isinstance(cell, Tag)]
    return [child for child in options.children if isinstance(child, Tag)]


def _new(soup: BeautifulSoup, name: str, **attrs: str) -> Tag:
    return soup.new_tag(name, attrs=attrs)


def _aria(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    item["role"] = "checkbox"
    item["aria-checked"] = "true" if on else "false"


def _data_attr(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    item["data-selected"] = "yes" if on else "no"


def _image(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    state = "on" if on else "off"
    img = item.find("img")
    if isinstance(img, Tag) and isinstance(img.get("src"), str):
        img["src"] = re.sub(r"(\.\w+)$", rf"-{state}\1", str(img["src"]))
        return
    slug = "-".join(_classes(item)[1:2]) or "option"
    src = f"https://latinno.net/wp-content/themes/latinno/img/state/{slug}-{state}.svg"
    item.insert(0, _new(soup, "img", src=src, alt="", width="16", height="16"))


def _icon(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    icon = _new(soup, "i", **{"class": f"fa {'fa-check' if on else 'fa-times'}"})
    icon["aria-hidden"] = "true"
    item.insert(0, icon)


def _style(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    item["style"] = "opacity: 1" if on else "opacity: 0.35; filter: grayscale(100%)"


def _inactive_class(soup: BeautifulSoup, item: Tag, on: bool) -> None:
    if not on:
        _set_classes(item, [*_classes(item), "disabled"])


MARKINGS: dict[str, Callable[[BeautifulSoup, Tag, bool], None]] = {
    "aria": _aria,
    "data-attr": _data_attr,
    "image": _image,
    "icon": _icon,
    "style": _style,
    "inactive-class": _inactive_class,
}


Mark = Callable[[BeautifulSoup, Tag, bool], None]


def remark(body: bytes, marking: str | Mark) -> bytes:
    """The page's bytes with its options marked the ``marking`` way (a key of ``MARKINGS``,
    or a function marking one option item, given whether it applies), in the page's own
    encoding."""
    mark = MARKINGS[marking] if isinstance(marking, str) else marking
    soup = BeautifulSoup(body, "lxml")
    for options in soup.find_all(class_="options"):
        if not isinstance(options, Tag):
            continue
        for item in _items(options):
            on = _is_on(item)
            _strip_state(item)
            mark(soup, item, on)
    encoding = soup.original_encoding or "utf-8"
    return soup.encode(encoding)
