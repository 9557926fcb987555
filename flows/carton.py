"""A plain box for values that Prefect must not walk."""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")


class Carton(Generic[T]):
    """Holds one value where Prefect would otherwise visit every item.

    Prefect walks list, dict and dataclass values that tasks take and return (to find futures);
    over thousands of pages that costs more than fetching them, and ``quote()`` is not undone on
    every task runner (on Dask the task receives the quote itself). A slotted object is opaque.
    """

    __slots__ = ("content",)

    def __init__(self, content: T) -> None:
        self.content = content

    def take(self) -> T:
        """The content, leaving the box empty: Prefect keeps task states (and so the box) until
        the run ends, and what it holds (page bodies) must not stay with it."""
        content = self.content
        self.content = None  # type: ignore[assignment]
        return content
