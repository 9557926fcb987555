"""Case page parser: page bytes and URL in, one normalized ``CaseRecord`` out.

Pure: no network, Prefect, DuckDB or configuration. Label tables (``Labels``) and the option
marker rule (``latinno.marker.Marker``) come in as arguments; callers build them from
config.yaml (``build_labels(settings.parser.extra_labels)``, ``settings.parser.rule()``).

``PARSER_VERSION`` rule: any change in output for the same bytes (and the same URL, labels and
marker) must bump it; see ``parsers.version``.
"""

from parsers.case_page import canonical_url, parse_case
from parsers.version import PARSER_VERSION

__all__ = ["PARSER_VERSION", "canonical_url", "parse_case"]
