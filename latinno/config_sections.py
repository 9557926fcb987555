"""The sections of config.yaml, one pydantic model each, validated field by field (the file as a
whole, its reading and its overrides are ``latinno.config``)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from latinno import pipeline_version
from latinno.cron import CRON_FIELDS, cron_field_problem
from latinno.marker import Marker
from latinno.vocabulary import COUNTRY_BY_PREFIX, LANGS

log = logging.getLogger("latinno.config")

# The contacts this project ships (config.yaml's and the built-in default): a site's admin who
# reads them in our User-Agent cannot reach whoever runs the crawl.
PLACEHOLDER_CONTACTS = frozenset(
    {
        "https://example.org/latinno-pipeline/contact",
        "https://github.com/latinno-pipeline/latinno-pipeline",
    }
)

# An error about a value that must not be echoed back (it holds a secret).
SECRET_ERROR = "secret_in_setting"

PositiveFloat = Annotated[float, Field(gt=0)]
# Below this a batch costs more in task runs than it saves in lost work.
MIN_BATCH_PAGES = 20
NonNegativeFloat = Annotated[float, Field(ge=0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class _Section(BaseModel):
    # No .inf or .nan: a rate or a timeout of infinity is a typo, not a setting.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SourceSettings(_Section):
    base_url: str = "https://latinno.net"
    allowed_hosts: list[str] = ["latinno.net", "www.latinno.net", "latinno.wzb.eu"]
    languages: list[Literal["en", "es", "pt"]] = ["en"]
    country_prefixes: list[int] = sorted(COUNTRY_BY_PREFIX)
    discovery: Literal["auto", "sitemap", "probe"] = "auto"
    max_consecutive_misses: PositiveInt = 50
    max_serial: PositiveInt = 999
    # Probing: an id that is no page in the first language is asked in the other configured
    # languages before it counts as a miss (one request more per other language and miss).
    probe_other_languages: bool = True
    trust_sitemap_lastmod: bool = True

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("expected an http(s) URL such as https://latinno.net")
        if "@" in parts.netloc:
            # They would be stored in pages.url and runs.params, and published in releases.
            raise PydanticCustomError(
                SECRET_ERROR,
                "credentials in the URL (user:password@) are refused: they would be stored "
                "and published with the data; use a URL without them",
            )
        return value.rstrip("/")

    @field_validator("languages")
    @classmethod
    def _some_language(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError(f"expected at least one of {', '.join(LANGS)}")
        return list(dict.fromkeys(value))

    @field_validator("country_prefixes")
    @classmethod
    def _known_prefixes(cls, value: list[int]) -> list[int]:
        unknown = [p for p in value if p not in COUNTRY_BY_PREFIX]
        if unknown:
            raise ValueError(
                f"unknown country prefixes {unknown}; known: {sorted(COUNTRY_BY_PREFIX)}"
            )
        return value


class PolitenessSettings(_Section):
    rate: NonNegativeFloat = 2.0
    concurrency: PositiveInt = 2
    user_agent: str = "latinno-pipeline/{version} (research data pipeline; +{contact})"
    contact: str = "https://github.com/latinno-pipeline/latinno-pipeline"
    obey_robots: bool = True
    # A robots.txt Crawl-delay above this is not obeyed by crawling slower: the host is not
    # crawled this run, and the run says so (86400 s would be one page a day).
    max_crawl_delay_s: NonNegativeFloat = 60.0

    @field_validator("contact")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("expected one line of text (a URL or mailto:), no control characters")
        return value

    @field_validator("user_agent")
    @classmethod
    def _usable_user_agent(cls, value: str) -> str:
        if not value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("expected one line of text naming the project and {contact}")
        try:
            value.format(contact="", version="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"placeholders are {{contact}} and {{version}} only (literal braces as "
                f"{{{{ }}}}), not {exc}"
            ) from None
        return value

    @property
    def user_agent_header(self) -> str:
        """The User-Agent sent: the template with the contact and this pipeline's version."""
        return self.user_agent.format(contact=self.contact, version=pipeline_version())

    @property
    def placeholder_contact(self) -> bool:
        """True while ``contact`` is still one of the examples this project ships."""
        return self.contact in PLACEHOLDER_CONTACTS


class HttpSettings(_Section):
    timeout_s: PositiveFloat = 20.0
    max_retries: Annotated[int, Field(ge=0)] = 5
    backoff_base_s: NonNegativeFloat = 0.5
    backoff_max_s: NonNegativeFloat = 30.0
    retry_after_cap_s: NonNegativeFloat = 60.0
    max_body_bytes: PositiveInt = 5_000_000
    # One request's whole time, retries aside: a server dripping bytes must not set a run's length.
    max_request_s: PositiveFloat = 60.0
    # A run where more than this share of requested pages failed exits 2 and says so first.
    max_failure_share: Annotated[float, Field(ge=0, le=1)] = 0.5


class MarkerSettings(_Section):
    """``parser.marker``: how a page marks an applying option (latinno.marker)."""

    kind: Literal["class", "attribute", "image", "style", "tag"] = "class"
    name: str | None = None
    values: list[str] = ["active"]
    marks: Literal["applying", "not_applying"] = "applying"

    @model_validator(mode="after")
    def _a_rule(self) -> MarkerSettings:
        self.rule()  # the rule's own checks, named under parser.marker
        return self

    def rule(self) -> Marker:
        try:
            return Marker(self.kind, tuple(self.values), self.name, self.marks)
        except ValueError as exc:
            raise ValueError(str(exc)) from None


class ParserSettings(_Section):
    # The old form of the marker: a class on applying options (kept working; see rule()).
    active_classes: list[str] | None = None
    marker: MarkerSettings | None = None
    extra_labels: dict[str, dict[str, list[str]]] = {}

    @field_validator("active_classes")
    @classmethod
    def _some_class(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("expected at least one class name, such as 'active'")
        return value

    @model_validator(mode="after")
    def _one_marker(self) -> ParserSettings:
        if self.marker is not None and self.active_classes is not None:
            raise ValueError(
                "set parser.marker or parser.active_classes, not both (active_classes [x] is "
                "marker {kind: class, values: [x]})"
            )
        return self

    def rule(self) -> Marker:
        """The marker in use: ``parser.marker``, else the classes of ``active_classes``."""
        if self.marker is not None:
            return self.marker.rule()
        return Marker.of_classes(self.active_classes or ["active"])

    @field_validator("extra_labels")
    @classmethod
    def _known_groups(
        cls, value: dict[str, dict[str, list[str]]]
    ) -> dict[str, dict[str, list[str]]]:
        from latinno.vocabulary import label_groups

        groups = label_groups()
        for group, targets in value.items():
            if group not in groups:
                raise ValueError(f"unknown group '{group}'; expected one of {sorted(groups)}")
            unknown = sorted(set(targets) - set(groups[group]))
            if unknown:
                raise ValueError(
                    f"group '{group}': unknown {unknown}; expected some of {sorted(groups[group])}"
                )
        return value


class WarehouseSettings(_Section):
    path: Path = Path("data/latinno.duckdb")
    lock_timeout_s: NonNegativeFloat = 60.0
    read_lock_timeout_s: NonNegativeFloat = 10.0


class ExportSettings(_Section):
    dir: Path = Path("exports")
    format: Literal["parquet", "csv", "all"] = "all"


class ScheduleSettings(_Section):
    cron: str = "0 3 * * 1"
    timezone: str = "Europe/Berlin"

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("expected a 5-field cron expression such as '0 3 * * 1'")
        for text, field in zip(value.split(), CRON_FIELDS, strict=True):
            problem = cron_field_problem(text, field)
            if problem:
                raise ValueError(f"{problem}; expected a cron expression such as '0 3 * * 1'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)  # ZoneInfoNotFoundError is a KeyError; a malformed key ValueError
        except (KeyError, ValueError, OSError):
            raise ValueError(
                "not an IANA time zone; expected a name such as Europe/Berlin or UTC"
            ) from None
        return value


# Settings a config file may still carry from before issue 20; each is ignored with a warning.
REMOVED_RUNNER_KEYS: tuple[str, ...] = ("parse_workers", "pool_min_pages", "engine", "dask_address")
_WARNED: set[str] = set()


class RunnerSettings(_Section):
    """How a run's work is cut and where it runs."""

    batch_size: PositiveInt = 400
    # A batch is at most this many seconds of fetching at the polite rate, so loading keeps
    # pace with fetching (a run killed at 60% of its requests has most of them loaded).
    batch_seconds: PositiveFloat = 30.0

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, data: Any) -> Any:
        """Settings of the parse engine that is gone (issue 20): old files still load."""
        if isinstance(data, dict) and (old := [k for k in REMOVED_RUNNER_KEYS if k in data]):
            names = ", ".join(f"runner.{k}" for k in old)
            if names not in _WARNED:  # config is read by the CLI and again by the flow
                _WARNED.add(names)
                log.warning(
                    "%s ignored: no longer used (a refresh parses in its own process)", names
                )
            data = {k: v for k, v in data.items() if k not in REMOVED_RUNNER_KEYS}
        return data

    def pages_per_batch(self, rate: float) -> int:
        """``batch_size``, or fewer at a polite rate: ``batch_seconds`` of fetching."""
        if rate <= 0:
            return self.batch_size
        return max(MIN_BATCH_PAGES, min(self.batch_size, int(rate * self.batch_seconds)))


class QuerySettings(_Section):
    # ``latinno query``: a statement running longer is interrupted.
    timeout_s: PositiveFloat = 60.0
    # ... and one holding more memory fails (DuckDB's default is 80% of the machine's RAM).
    memory_limit: str = "2GB"

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", value, re.I):
            raise ValueError("expected a size such as 2GB or 512MB")
        return value.strip()


class GuardSettings(_Section):
    """The site-drift guard: a run that loses too much is held, not applied."""

    max_parse_failure_share: Annotated[float, Field(ge=0, le=1)] = 0.05
    max_field_loss_share: Annotated[float, Field(ge=0, le=1)] = 0.2
    min_pages: PositiveInt = 50
    # A run that would withdraw more of the known active cases (and more than one) is held:
    # a site answering 404 everywhere is in trouble, not emptied.
    max_withdrawal_share: Annotated[float, Field(ge=0, le=1)] = 0.1
    # A run where more than this share of the pages show an option list with none or all of
    # its options applying cannot tell what applies (the marker does not fit): held.
    max_uniform_list_share: Annotated[float, Field(ge=0, le=1)] = 0.5
    # ... judged at min_pages pages, or at the end of a run that parsed at least this many.
    min_marker_pages: PositiveInt = 10


class ReleaseSettings(_Section):
    # No licence is claimed unless set: the site states how to cite, not a licence.
    license: str | None = None
    dir: Path = Path("releases")


class ReportSettings(_Section):
    path: Path = Path("reports/latinno-report.html")
