"""The option marker: how a page shows which Means/Ends/Policy-cycle options apply.

Every real case page lists all options (docs/site.md); which ones apply is shown by markup nobody
here has seen. The marker is therefore configuration (``parser.marker``), a small declared rule
the parser applies and ``latinno calibrate`` learns. Plain values only: it travels to parse
workers, and the parser never sees the config object.

An option's *scope* is its element and what belongs to that option alone: its ancestors up to
the list (the ones holding no other option) and all their descendants. The rule looks for one
signal in that scope:

- ``class``: a class token (``active``, ``fa-check``, ``inactive``); ``values`` are tokens or
  ``fnmatch`` patterns (``is-*``);
- ``attribute``: an attribute ``name`` (``aria-checked``, ``data-state``, ``checked``) whose
  value is one of ``values`` (compared without case and outer spaces; patterns allowed);
- ``image``: an image file name (``src``, ``srcset``, ``data-src``, ``<use href>``, a CSS
  ``url(...)``) holding one of ``values`` as a word (``on`` matches ``deliberation-on.svg``)
  or matching it as a pattern (``*-on.svg``);
- ``style``: an inline style property ``name`` (``opacity``, ``filter``) whose value is one of
  ``values`` (spaces removed, no case: ``grayscale(100%)``);
- ``tag``: an element named by one of ``values`` (``strong`` around the label, ``del``).

``marks`` says what a match means: ``applying`` (the option applies when the signal is there)
or ``not_applying`` (the signal marks the options that do not apply; the others do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["class", "attribute", "image", "style", "tag"]
Marks = Literal["applying", "not_applying"]
KINDS: tuple[str, ...] = ("class", "attribute", "image", "style", "tag")
MARKS: tuple[str, ...] = ("applying", "not_applying")


@dataclass(frozen=True, slots=True)
class Marker:
    """One declared rule; see the module docstring. The default is the project's assumption."""

    kind: Kind = "class"
    values: tuple[str, ...] = ("active",)
    name: str | None = None
    marks: Marks = "applying"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r}: expected one of {', '.join(KINDS)}")
        if self.marks not in MARKS:
            raise ValueError(f"marks {self.marks!r}: expected one of {', '.join(MARKS)}")
        if not self.values or not all(v.strip() for v in self.values):
            raise ValueError("values: expected at least one non-empty value, such as 'active'")
        if self.kind in ("attribute", "style") and not (self.name and self.name.strip()):
            raise ValueError(
                f"name: a {self.kind} marker names the {self.kind}, e.g. "
                + ("'aria-checked'" if self.kind == "attribute" else "'opacity'")
            )

    @classmethod
    def of_classes(cls, classes: Sequence[str]) -> Marker:
        """The rule the old ``parser.active_classes`` setting stands for."""
        return cls("class", tuple(classes), None, "applying")

    def describe(self) -> str:
        """One phrase a person can check against the page, e.g. ``class 'active' marks
        applying``."""
        values = " or ".join(f"'{v}'" for v in self.values)
        what = {
            "class": f"class {values}",
            "attribute": f"attribute {self.name}={values}",
            "image": f"image file name with {values}",
            "style": f"style {self.name}: {values}",
            "tag": f"element {values}",
        }[self.kind]
        side = "applying" if self.marks == "applying" else "NOT applying"
        return f"{what} marks {side} options"

    def as_setting(self) -> dict[str, object]:
        """The rule as the ``parser.marker`` mapping of config.yaml."""
        out: dict[str, object] = {"kind": self.kind}
        if self.name:
            out["name"] = self.name
        out["values"] = list(self.values)
        out["marks"] = self.marks
        return out


DEFAULT_MARKER = Marker()
