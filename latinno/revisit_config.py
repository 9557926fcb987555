"""The ``revisit`` section of config.yaml: how often known pages and probe misses are asked
again (flows.revisit, README "How often pages are asked again"). Its own module so that
latinno/config.py stays within the size rule."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from latinno.config_sections import _Section

PositiveFloat = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class RevisitSettings(_Section):
    """How often known pages and probe misses are asked again, in days (flows.revisit)."""

    enabled: bool = True  # false: every run asks every page, as far as probing reaches
    min_days: PositiveFloat = 7.0
    max_days: PositiveFloat = 28.0
    translation_days: PositiveFloat = 91.0
    sitemap_days: PositiveFloat = 91.0
    probe_ahead: NonNegativeInt = 3
    max_pages_per_run: PositiveInt | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RevisitSettings:
        if self.min_days > self.max_days:
            raise ValueError(
                f"min_days ({self.min_days}) must not be above max_days ({self.max_days})"
            )
        if self.translation_days < self.min_days:
            raise ValueError(
                f"translation_days ({self.translation_days}) must not be below min_days "
                f"({self.min_days})"
            )
        return self
